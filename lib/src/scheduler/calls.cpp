// The typed calls: each builds its Call and hands it to the state machine.
#include "scheduler/client_impl.hpp"

namespace heatblast::scheduler {
namespace {

template <class Repeated, class Items>
void copy_into(Repeated* out, Items&& items) {
  for (auto& item : items)
    *out->Add() = std::move(item);
}

Call make(Call::Type type) {
  Call call;
  call.set_type(type);
  return call;
}

}  // namespace

void Client::accept(std::vector<mesos::v1::OfferID> offer_ids,
                    std::vector<mesos::v1::Offer::Operation> operations,
                    std::optional<mesos::v1::Filters> filters, CallDone done) {
  Call call = make(Call::ACCEPT);
  auto* accept = call.mutable_accept();
  copy_into(accept->mutable_offer_ids(), offer_ids);
  copy_into(accept->mutable_operations(), operations);
  if (filters) *accept->mutable_filters() = std::move(*filters);
  send(std::move(call), std::move(done));
}

void Client::launch(std::vector<mesos::v1::OfferID> offer_ids,
                    std::vector<mesos::v1::TaskInfo> tasks,
                    std::optional<mesos::v1::Filters> filters, CallDone done) {
  mesos::v1::Offer::Operation operation;
  operation.set_type(mesos::v1::Offer::Operation::LAUNCH);
  copy_into(operation.mutable_launch()->mutable_task_infos(), tasks);
  std::vector<mesos::v1::Offer::Operation> operations;
  operations.push_back(std::move(operation));
  accept(std::move(offer_ids), std::move(operations), std::move(filters), std::move(done));
}

void Client::decline(std::vector<mesos::v1::OfferID> offer_ids,
                     std::optional<mesos::v1::Filters> filters, CallDone done) {
  Call call = make(Call::DECLINE);
  copy_into(call.mutable_decline()->mutable_offer_ids(), offer_ids);
  if (filters) *call.mutable_decline()->mutable_filters() = std::move(*filters);
  send(std::move(call), std::move(done));
}

void Client::accept_inverse_offers(std::vector<mesos::v1::OfferID> inverse_offer_ids,
                                   std::optional<mesos::v1::Filters> filters, CallDone done) {
  Call call = make(Call::ACCEPT_INVERSE_OFFERS);
  auto* accept = call.mutable_accept_inverse_offers();
  copy_into(accept->mutable_inverse_offer_ids(), inverse_offer_ids);
  if (filters) *accept->mutable_filters() = std::move(*filters);
  send(std::move(call), std::move(done));
}

void Client::decline_inverse_offers(std::vector<mesos::v1::OfferID> inverse_offer_ids,
                                    std::optional<mesos::v1::Filters> filters, CallDone done) {
  Call call = make(Call::DECLINE_INVERSE_OFFERS);
  auto* decline = call.mutable_decline_inverse_offers();
  copy_into(decline->mutable_inverse_offer_ids(), inverse_offer_ids);
  if (filters) *decline->mutable_filters() = std::move(*filters);
  send(std::move(call), std::move(done));
}

void Client::revive(std::vector<std::string> roles, CallDone done) {
  impl_->note_revive(roles);
  Call call = make(Call::REVIVE);
  copy_into(call.mutable_revive()->mutable_roles(), roles);
  send(std::move(call), std::move(done));
}

void Client::suppress(std::vector<std::string> roles, CallDone done) {
  impl_->note_suppress(roles);
  Call call = make(Call::SUPPRESS);
  copy_into(call.mutable_suppress()->mutable_roles(), roles);
  send(std::move(call), std::move(done));
}

void Client::kill(const mesos::v1::TaskID& task_id, std::optional<mesos::v1::AgentID> agent_id,
                  std::optional<mesos::v1::KillPolicy> kill_policy, CallDone done) {
  Call call = make(Call::KILL);
  auto* kill = call.mutable_kill();
  *kill->mutable_task_id() = task_id;
  if (agent_id) *kill->mutable_agent_id() = std::move(*agent_id);
  if (kill_policy) *kill->mutable_kill_policy() = std::move(*kill_policy);
  send(std::move(call), std::move(done));
}

void Client::shutdown(const mesos::v1::ExecutorID& executor_id, const mesos::v1::AgentID& agent_id,
                      CallDone done) {
  Call call = make(Call::SHUTDOWN);
  *call.mutable_shutdown()->mutable_executor_id() = executor_id;
  *call.mutable_shutdown()->mutable_agent_id() = agent_id;
  send(std::move(call), std::move(done));
}

void Client::acknowledge(const mesos::v1::AgentID& agent_id, const mesos::v1::TaskID& task_id,
                         std::string uuid, CallDone done) {
  Call call = make(Call::ACKNOWLEDGE);
  auto* ack = call.mutable_acknowledge();
  *ack->mutable_agent_id() = agent_id;
  *ack->mutable_task_id() = task_id;
  ack->set_uuid(std::move(uuid));
  send(std::move(call), std::move(done));
}

void Client::acknowledge_operation_status(std::optional<mesos::v1::AgentID> agent_id,
                                          std::optional<mesos::v1::ResourceProviderID> provider_id,
                                          std::string uuid,
                                          const mesos::v1::OperationID& operation_id,
                                          CallDone done) {
  Call call = make(Call::ACKNOWLEDGE_OPERATION_STATUS);
  auto* ack = call.mutable_acknowledge_operation_status();
  if (agent_id) *ack->mutable_agent_id() = std::move(*agent_id);
  if (provider_id) *ack->mutable_resource_provider_id() = std::move(*provider_id);
  ack->set_uuid(std::move(uuid));
  *ack->mutable_operation_id() = operation_id;
  send(std::move(call), std::move(done));
}

void Client::reconcile(std::vector<Call::Reconcile::Task> tasks, CallDone done) {
  Call call = make(Call::RECONCILE);
  copy_into(call.mutable_reconcile()->mutable_tasks(), tasks);
  send(std::move(call), std::move(done));
}

void Client::reconcile_operations(std::vector<Call::ReconcileOperations::Operation> operations,
                                  CallDone done) {
  Call call = make(Call::RECONCILE_OPERATIONS);
  copy_into(call.mutable_reconcile_operations()->mutable_operations(), operations);
  send(std::move(call), std::move(done));
}

void Client::message(const mesos::v1::AgentID& agent_id, const mesos::v1::ExecutorID& executor_id,
                     std::string data, CallDone done) {
  Call call = make(Call::MESSAGE);
  *call.mutable_message()->mutable_agent_id() = agent_id;
  *call.mutable_message()->mutable_executor_id() = executor_id;
  call.mutable_message()->set_data(std::move(data));
  send(std::move(call), std::move(done));
}

void Client::request(std::vector<mesos::v1::Request> requests, CallDone done) {
  Call call = make(Call::REQUEST);
  copy_into(call.mutable_request()->mutable_requests(), requests);
  send(std::move(call), std::move(done));
}

void Client::update_framework(mesos::v1::FrameworkInfo framework_info,
                              std::vector<std::string> suppressed_roles, CallDone done) {
  if (auto id = framework_id()) *framework_info.mutable_id() = *id;
  Call call = make(Call::UPDATE_FRAMEWORK);
  auto* update = call.mutable_update_framework();
  *update->mutable_framework_info() = framework_info;
  for (const auto& role : suppressed_roles)
    update->add_suppressed_roles(role);
  // Later SUBSCRIBEs carry the new FrameworkInfo only once the master has accepted it.
  std::weak_ptr<Impl> weak = impl_;
  send(std::move(call), [weak, framework_info = std::move(framework_info),
                         suppressed_roles = std::move(suppressed_roles),
                         done = std::move(done)](Result<void> result) {
    if (result) {
      if (auto impl = weak.lock()) impl->note_update_framework(framework_info, suppressed_roles);
    }
    if (done) done(std::move(result));
  });
}

void Client::teardown(CallDone done) {
  send(make(Call::TEARDOWN), std::move(done));
}

}  // namespace heatblast::scheduler
