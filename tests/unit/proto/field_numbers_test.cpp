// Proves that our .proto files are wire compatible with Apache Mesos: every row below was typed in
// from Mesos's include/mesos/v1/mesos.proto and include/mesos/v1/scheduler/scheduler.proto and is
// checked against the descriptors protoc generated from our copies.

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <mesos/v1/mesos.pb.h>
#include <mesos/v1/scheduler/scheduler.pb.h>

#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace {

using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::FileDescriptor;

constexpr auto OPT = FieldDescriptor::LABEL_OPTIONAL;
constexpr auto REQ = FieldDescriptor::LABEL_REQUIRED;
constexpr auto REP = FieldDescriptor::LABEL_REPEATED;

constexpr auto STRING = FieldDescriptor::TYPE_STRING;
constexpr auto BYTES = FieldDescriptor::TYPE_BYTES;
constexpr auto BOOL = FieldDescriptor::TYPE_BOOL;
constexpr auto DOUBLE = FieldDescriptor::TYPE_DOUBLE;
constexpr auto INT32 = FieldDescriptor::TYPE_INT32;
constexpr auto INT64 = FieldDescriptor::TYPE_INT64;
constexpr auto UINT32 = FieldDescriptor::TYPE_UINT32;
constexpr auto UINT64 = FieldDescriptor::TYPE_UINT64;
constexpr auto ENUM = FieldDescriptor::TYPE_ENUM;
constexpr auto MSG = FieldDescriptor::TYPE_MESSAGE;

// One field as Mesos declares it. `type_name` is the full name of the message or enum type, empty
// for scalars. Map fields are repeated messages of the generated `<Name>Entry` type.
struct FieldRow {
  const char* message;
  const char* field;
  int number;
  FieldDescriptor::Label label;
  FieldDescriptor::Type type;
  const char* type_name;
};

// clang-format off
const std::vector<FieldRow> kFields = {
    // ---------------------------------------------------------------- mesos.v1.scheduler.Call
    {"mesos.v1.scheduler.Call", "framework_id", 1, OPT, MSG, "mesos.v1.FrameworkID"},
    {"mesos.v1.scheduler.Call", "type", 2, OPT, ENUM, "mesos.v1.scheduler.Call.Type"},
    {"mesos.v1.scheduler.Call", "subscribe", 3, OPT, MSG, "mesos.v1.scheduler.Call.Subscribe"},
    {"mesos.v1.scheduler.Call", "accept", 4, OPT, MSG, "mesos.v1.scheduler.Call.Accept"},
    {"mesos.v1.scheduler.Call", "decline", 5, OPT, MSG, "mesos.v1.scheduler.Call.Decline"},
    {"mesos.v1.scheduler.Call", "accept_inverse_offers", 13, OPT, MSG, "mesos.v1.scheduler.Call.AcceptInverseOffers"},
    {"mesos.v1.scheduler.Call", "decline_inverse_offers", 14, OPT, MSG, "mesos.v1.scheduler.Call.DeclineInverseOffers"},
    {"mesos.v1.scheduler.Call", "revive", 15, OPT, MSG, "mesos.v1.scheduler.Call.Revive"},
    {"mesos.v1.scheduler.Call", "kill", 6, OPT, MSG, "mesos.v1.scheduler.Call.Kill"},
    {"mesos.v1.scheduler.Call", "shutdown", 7, OPT, MSG, "mesos.v1.scheduler.Call.Shutdown"},
    {"mesos.v1.scheduler.Call", "acknowledge", 8, OPT, MSG, "mesos.v1.scheduler.Call.Acknowledge"},
    {"mesos.v1.scheduler.Call", "acknowledge_operation_status", 17, OPT, MSG, "mesos.v1.scheduler.Call.AcknowledgeOperationStatus"},
    {"mesos.v1.scheduler.Call", "reconcile", 9, OPT, MSG, "mesos.v1.scheduler.Call.Reconcile"},
    {"mesos.v1.scheduler.Call", "reconcile_operations", 18, OPT, MSG, "mesos.v1.scheduler.Call.ReconcileOperations"},
    {"mesos.v1.scheduler.Call", "message", 10, OPT, MSG, "mesos.v1.scheduler.Call.Message"},
    {"mesos.v1.scheduler.Call", "request", 11, OPT, MSG, "mesos.v1.scheduler.Call.Request"},
    {"mesos.v1.scheduler.Call", "suppress", 16, OPT, MSG, "mesos.v1.scheduler.Call.Suppress"},
    {"mesos.v1.scheduler.Call", "update_framework", 19, OPT, MSG, "mesos.v1.scheduler.Call.UpdateFramework"},

    {"mesos.v1.scheduler.Call.Subscribe", "framework_info", 1, REQ, MSG, "mesos.v1.FrameworkInfo"},
    {"mesos.v1.scheduler.Call.Subscribe", "suppressed_roles", 2, REP, STRING, ""},
    {"mesos.v1.scheduler.Call.Subscribe", "offer_constraints", 3, OPT, MSG, "mesos.v1.scheduler.OfferConstraints"},
    {"mesos.v1.scheduler.Call.Accept", "offer_ids", 1, REP, MSG, "mesos.v1.OfferID"},
    {"mesos.v1.scheduler.Call.Accept", "operations", 2, REP, MSG, "mesos.v1.Offer.Operation"},
    {"mesos.v1.scheduler.Call.Accept", "filters", 3, OPT, MSG, "mesos.v1.Filters"},
    {"mesos.v1.scheduler.Call.Decline", "offer_ids", 1, REP, MSG, "mesos.v1.OfferID"},
    {"mesos.v1.scheduler.Call.Decline", "filters", 2, OPT, MSG, "mesos.v1.Filters"},
    {"mesos.v1.scheduler.Call.AcceptInverseOffers", "inverse_offer_ids", 1, REP, MSG, "mesos.v1.OfferID"},
    {"mesos.v1.scheduler.Call.AcceptInverseOffers", "filters", 2, OPT, MSG, "mesos.v1.Filters"},
    {"mesos.v1.scheduler.Call.DeclineInverseOffers", "inverse_offer_ids", 1, REP, MSG, "mesos.v1.OfferID"},
    {"mesos.v1.scheduler.Call.DeclineInverseOffers", "filters", 2, OPT, MSG, "mesos.v1.Filters"},
    {"mesos.v1.scheduler.Call.Revive", "roles", 1, REP, STRING, ""},
    {"mesos.v1.scheduler.Call.Suppress", "roles", 1, REP, STRING, ""},
    {"mesos.v1.scheduler.Call.Kill", "task_id", 1, REQ, MSG, "mesos.v1.TaskID"},
    {"mesos.v1.scheduler.Call.Kill", "agent_id", 2, OPT, MSG, "mesos.v1.AgentID"},
    {"mesos.v1.scheduler.Call.Kill", "kill_policy", 3, OPT, MSG, "mesos.v1.KillPolicy"},
    {"mesos.v1.scheduler.Call.Shutdown", "executor_id", 1, REQ, MSG, "mesos.v1.ExecutorID"},
    {"mesos.v1.scheduler.Call.Shutdown", "agent_id", 2, REQ, MSG, "mesos.v1.AgentID"},
    {"mesos.v1.scheduler.Call.Acknowledge", "agent_id", 1, REQ, MSG, "mesos.v1.AgentID"},
    {"mesos.v1.scheduler.Call.Acknowledge", "task_id", 2, REQ, MSG, "mesos.v1.TaskID"},
    {"mesos.v1.scheduler.Call.Acknowledge", "uuid", 3, REQ, BYTES, ""},
    {"mesos.v1.scheduler.Call.AcknowledgeOperationStatus", "agent_id", 1, OPT, MSG, "mesos.v1.AgentID"},
    {"mesos.v1.scheduler.Call.AcknowledgeOperationStatus", "resource_provider_id", 2, OPT, MSG, "mesos.v1.ResourceProviderID"},
    {"mesos.v1.scheduler.Call.AcknowledgeOperationStatus", "uuid", 3, REQ, BYTES, ""},
    {"mesos.v1.scheduler.Call.AcknowledgeOperationStatus", "operation_id", 4, REQ, MSG, "mesos.v1.OperationID"},
    {"mesos.v1.scheduler.Call.Reconcile", "tasks", 1, REP, MSG, "mesos.v1.scheduler.Call.Reconcile.Task"},
    {"mesos.v1.scheduler.Call.Reconcile.Task", "task_id", 1, REQ, MSG, "mesos.v1.TaskID"},
    {"mesos.v1.scheduler.Call.Reconcile.Task", "agent_id", 2, OPT, MSG, "mesos.v1.AgentID"},
    {"mesos.v1.scheduler.Call.ReconcileOperations", "operations", 1, REP, MSG, "mesos.v1.scheduler.Call.ReconcileOperations.Operation"},
    {"mesos.v1.scheduler.Call.ReconcileOperations.Operation", "operation_id", 1, REQ, MSG, "mesos.v1.OperationID"},
    {"mesos.v1.scheduler.Call.ReconcileOperations.Operation", "agent_id", 2, OPT, MSG, "mesos.v1.AgentID"},
    {"mesos.v1.scheduler.Call.ReconcileOperations.Operation", "resource_provider_id", 3, OPT, MSG, "mesos.v1.ResourceProviderID"},
    {"mesos.v1.scheduler.Call.Message", "agent_id", 1, REQ, MSG, "mesos.v1.AgentID"},
    {"mesos.v1.scheduler.Call.Message", "executor_id", 2, REQ, MSG, "mesos.v1.ExecutorID"},
    {"mesos.v1.scheduler.Call.Message", "data", 3, REQ, BYTES, ""},
    {"mesos.v1.scheduler.Call.Request", "requests", 1, REP, MSG, "mesos.v1.Request"},
    {"mesos.v1.scheduler.Call.UpdateFramework", "framework_info", 1, REQ, MSG, "mesos.v1.FrameworkInfo"},
    {"mesos.v1.scheduler.Call.UpdateFramework", "suppressed_roles", 2, REP, STRING, ""},
    {"mesos.v1.scheduler.Call.UpdateFramework", "offer_constraints", 3, OPT, MSG, "mesos.v1.scheduler.OfferConstraints"},

    // ---------------------------------------------------------------- mesos.v1.scheduler.Event
    {"mesos.v1.scheduler.Event", "type", 1, OPT, ENUM, "mesos.v1.scheduler.Event.Type"},
    {"mesos.v1.scheduler.Event", "subscribed", 2, OPT, MSG, "mesos.v1.scheduler.Event.Subscribed"},
    {"mesos.v1.scheduler.Event", "offers", 3, OPT, MSG, "mesos.v1.scheduler.Event.Offers"},
    {"mesos.v1.scheduler.Event", "inverse_offers", 9, OPT, MSG, "mesos.v1.scheduler.Event.InverseOffers"},
    {"mesos.v1.scheduler.Event", "rescind", 4, OPT, MSG, "mesos.v1.scheduler.Event.Rescind"},
    {"mesos.v1.scheduler.Event", "rescind_inverse_offer", 10, OPT, MSG, "mesos.v1.scheduler.Event.RescindInverseOffer"},
    {"mesos.v1.scheduler.Event", "update", 5, OPT, MSG, "mesos.v1.scheduler.Event.Update"},
    {"mesos.v1.scheduler.Event", "update_operation_status", 11, OPT, MSG, "mesos.v1.scheduler.Event.UpdateOperationStatus"},
    {"mesos.v1.scheduler.Event", "message", 6, OPT, MSG, "mesos.v1.scheduler.Event.Message"},
    {"mesos.v1.scheduler.Event", "failure", 7, OPT, MSG, "mesos.v1.scheduler.Event.Failure"},
    {"mesos.v1.scheduler.Event", "error", 8, OPT, MSG, "mesos.v1.scheduler.Event.Error"},

    {"mesos.v1.scheduler.Event.Subscribed", "framework_id", 1, REQ, MSG, "mesos.v1.FrameworkID"},
    {"mesos.v1.scheduler.Event.Subscribed", "heartbeat_interval_seconds", 2, OPT, DOUBLE, ""},
    {"mesos.v1.scheduler.Event.Subscribed", "master_info", 3, OPT, MSG, "mesos.v1.MasterInfo"},
    {"mesos.v1.scheduler.Event.Offers", "offers", 1, REP, MSG, "mesos.v1.Offer"},
    {"mesos.v1.scheduler.Event.InverseOffers", "inverse_offers", 1, REP, MSG, "mesos.v1.InverseOffer"},
    {"mesos.v1.scheduler.Event.Rescind", "offer_id", 1, REQ, MSG, "mesos.v1.OfferID"},
    {"mesos.v1.scheduler.Event.RescindInverseOffer", "inverse_offer_id", 1, REQ, MSG, "mesos.v1.OfferID"},
    {"mesos.v1.scheduler.Event.Update", "status", 1, REQ, MSG, "mesos.v1.TaskStatus"},
    {"mesos.v1.scheduler.Event.UpdateOperationStatus", "status", 1, REQ, MSG, "mesos.v1.OperationStatus"},
    {"mesos.v1.scheduler.Event.Message", "agent_id", 1, REQ, MSG, "mesos.v1.AgentID"},
    {"mesos.v1.scheduler.Event.Message", "executor_id", 2, REQ, MSG, "mesos.v1.ExecutorID"},
    {"mesos.v1.scheduler.Event.Message", "data", 3, REQ, BYTES, ""},
    {"mesos.v1.scheduler.Event.Failure", "agent_id", 1, OPT, MSG, "mesos.v1.AgentID"},
    {"mesos.v1.scheduler.Event.Failure", "executor_id", 2, OPT, MSG, "mesos.v1.ExecutorID"},
    {"mesos.v1.scheduler.Event.Failure", "status", 3, OPT, INT32, ""},
    {"mesos.v1.scheduler.Event.Error", "message", 1, REQ, STRING, ""},

    // ------------------------------------------- Response, APIResult, offer constraints
    {"mesos.v1.scheduler.Response", "type", 1, OPT, ENUM, "mesos.v1.scheduler.Response.Type"},
    {"mesos.v1.scheduler.Response", "reconcile_operations", 2, OPT, MSG, "mesos.v1.scheduler.Response.ReconcileOperations"},
    {"mesos.v1.scheduler.Response.ReconcileOperations", "operation_statuses", 1, REP, MSG, "mesos.v1.OperationStatus"},
    {"mesos.v1.scheduler.APIResult", "status_code", 1, REQ, UINT32, ""},
    {"mesos.v1.scheduler.APIResult", "response", 2, OPT, MSG, "mesos.v1.scheduler.Response"},
    {"mesos.v1.scheduler.APIResult", "error", 3, OPT, STRING, ""},
    {"mesos.v1.scheduler.OfferConstraints", "role_constraints", 1, REP, MSG, "mesos.v1.scheduler.OfferConstraints.RoleConstraintsEntry"},
    {"mesos.v1.scheduler.OfferConstraints.RoleConstraints", "groups", 1, REP, MSG, "mesos.v1.scheduler.OfferConstraints.RoleConstraints.Group"},
    {"mesos.v1.scheduler.OfferConstraints.RoleConstraints.Group", "attribute_constraints", 1, REP, MSG, "mesos.v1.scheduler.AttributeConstraint"},
    {"mesos.v1.scheduler.AttributeConstraint", "selector", 1, REQ, MSG, "mesos.v1.scheduler.AttributeConstraint.Selector"},
    {"mesos.v1.scheduler.AttributeConstraint", "predicate", 2, REQ, MSG, "mesos.v1.scheduler.AttributeConstraint.Predicate"},
    {"mesos.v1.scheduler.AttributeConstraint.Selector", "pseudoattribute_type", 1, OPT, ENUM, "mesos.v1.scheduler.AttributeConstraint.Selector.PseudoattributeType"},
    {"mesos.v1.scheduler.AttributeConstraint.Selector", "attribute_name", 2, OPT, STRING, ""},
    {"mesos.v1.scheduler.AttributeConstraint.Predicate", "exists", 1, OPT, MSG, "mesos.v1.scheduler.AttributeConstraint.Predicate.Exists"},
    {"mesos.v1.scheduler.AttributeConstraint.Predicate", "not_exists", 2, OPT, MSG, "mesos.v1.scheduler.AttributeConstraint.Predicate.NotExists"},
    {"mesos.v1.scheduler.AttributeConstraint.Predicate", "text_equals", 3, OPT, MSG, "mesos.v1.scheduler.AttributeConstraint.Predicate.TextEquals"},
    {"mesos.v1.scheduler.AttributeConstraint.Predicate", "text_not_equals", 4, OPT, MSG, "mesos.v1.scheduler.AttributeConstraint.Predicate.TextNotEquals"},
    {"mesos.v1.scheduler.AttributeConstraint.Predicate", "text_matches", 5, OPT, MSG, "mesos.v1.scheduler.AttributeConstraint.Predicate.TextMatches"},
    {"mesos.v1.scheduler.AttributeConstraint.Predicate", "text_not_matches", 6, OPT, MSG, "mesos.v1.scheduler.AttributeConstraint.Predicate.TextNotMatches"},
    {"mesos.v1.scheduler.AttributeConstraint.Predicate.TextEquals", "value", 1, REQ, STRING, ""},
    {"mesos.v1.scheduler.AttributeConstraint.Predicate.TextNotEquals", "value", 1, REQ, STRING, ""},
    {"mesos.v1.scheduler.AttributeConstraint.Predicate.TextMatches", "regex", 1, REQ, STRING, ""},
    {"mesos.v1.scheduler.AttributeConstraint.Predicate.TextNotMatches", "regex", 1, REQ, STRING, ""},

    // ---------------------------------------------------------------- IDs
    {"mesos.v1.FrameworkID", "value", 1, REQ, STRING, ""},
    {"mesos.v1.OfferID", "value", 1, REQ, STRING, ""},
    {"mesos.v1.AgentID", "value", 1, REQ, STRING, ""},
    {"mesos.v1.TaskID", "value", 1, REQ, STRING, ""},
    {"mesos.v1.ExecutorID", "value", 1, REQ, STRING, ""},
    {"mesos.v1.OperationID", "value", 1, REQ, STRING, ""},
    {"mesos.v1.ResourceProviderID", "value", 1, REQ, STRING, ""},
    {"mesos.v1.ContainerID", "value", 1, REQ, STRING, ""},
    {"mesos.v1.ContainerID", "parent", 2, OPT, MSG, "mesos.v1.ContainerID"},
    {"mesos.v1.UUID", "value", 1, REQ, BYTES, ""},

    // ---------------------------------------------------------------- FrameworkInfo
    {"mesos.v1.FrameworkInfo", "user", 1, REQ, STRING, ""},
    {"mesos.v1.FrameworkInfo", "name", 2, REQ, STRING, ""},
    {"mesos.v1.FrameworkInfo", "id", 3, OPT, MSG, "mesos.v1.FrameworkID"},
    {"mesos.v1.FrameworkInfo", "failover_timeout", 4, OPT, DOUBLE, ""},
    {"mesos.v1.FrameworkInfo", "checkpoint", 5, OPT, BOOL, ""},
    {"mesos.v1.FrameworkInfo", "role", 6, OPT, STRING, ""},
    {"mesos.v1.FrameworkInfo", "roles", 12, REP, STRING, ""},
    {"mesos.v1.FrameworkInfo", "hostname", 7, OPT, STRING, ""},
    {"mesos.v1.FrameworkInfo", "principal", 8, OPT, STRING, ""},
    {"mesos.v1.FrameworkInfo", "webui_url", 9, OPT, STRING, ""},
    {"mesos.v1.FrameworkInfo", "capabilities", 10, REP, MSG, "mesos.v1.FrameworkInfo.Capability"},
    {"mesos.v1.FrameworkInfo", "labels", 11, OPT, MSG, "mesos.v1.Labels"},
    {"mesos.v1.FrameworkInfo", "offer_filters", 13, REP, MSG, "mesos.v1.FrameworkInfo.OfferFiltersEntry"},
    {"mesos.v1.FrameworkInfo.OfferFiltersEntry", "key", 1, OPT, STRING, ""},
    {"mesos.v1.FrameworkInfo.OfferFiltersEntry", "value", 2, OPT, MSG, "mesos.v1.OfferFilters"},
    {"mesos.v1.FrameworkInfo.Capability", "type", 1, OPT, ENUM, "mesos.v1.FrameworkInfo.Capability.Type"},
    {"mesos.v1.OfferFilters", "min_allocatable_resources", 1, OPT, MSG, "mesos.v1.OfferFilters.MinAllocatableResources"},
    {"mesos.v1.OfferFilters.MinAllocatableResources", "quantities", 1, REP, MSG, "mesos.v1.OfferFilters.ResourceQuantities"},
    {"mesos.v1.OfferFilters.ResourceQuantities", "quantities", 1, REP, MSG, "mesos.v1.OfferFilters.ResourceQuantities.QuantitiesEntry"},

    // ---------------------------------------------------------------- MasterInfo, Address, URL, domains
    {"mesos.v1.MasterInfo", "id", 1, REQ, STRING, ""},
    {"mesos.v1.MasterInfo", "ip", 2, REQ, UINT32, ""},
    {"mesos.v1.MasterInfo", "port", 3, REQ, UINT32, ""},
    {"mesos.v1.MasterInfo", "pid", 4, OPT, STRING, ""},
    {"mesos.v1.MasterInfo", "hostname", 5, OPT, STRING, ""},
    {"mesos.v1.MasterInfo", "version", 6, OPT, STRING, ""},
    {"mesos.v1.MasterInfo", "address", 7, OPT, MSG, "mesos.v1.Address"},
    {"mesos.v1.MasterInfo", "domain", 8, OPT, MSG, "mesos.v1.DomainInfo"},
    {"mesos.v1.MasterInfo", "capabilities", 9, REP, MSG, "mesos.v1.MasterInfo.Capability"},
    {"mesos.v1.MasterInfo.Capability", "type", 1, OPT, ENUM, "mesos.v1.MasterInfo.Capability.Type"},
    {"mesos.v1.Address", "hostname", 1, OPT, STRING, ""},
    {"mesos.v1.Address", "ip", 2, OPT, STRING, ""},
    {"mesos.v1.Address", "port", 3, REQ, INT32, ""},
    {"mesos.v1.URL", "scheme", 1, REQ, STRING, ""},
    {"mesos.v1.URL", "address", 2, REQ, MSG, "mesos.v1.Address"},
    {"mesos.v1.URL", "path", 3, OPT, STRING, ""},
    {"mesos.v1.URL", "query", 4, REP, MSG, "mesos.v1.Parameter"},
    {"mesos.v1.URL", "fragment", 5, OPT, STRING, ""},
    {"mesos.v1.Parameter", "key", 1, REQ, STRING, ""},
    {"mesos.v1.Parameter", "value", 2, REQ, STRING, ""},
    {"mesos.v1.Parameters", "parameter", 1, REP, MSG, "mesos.v1.Parameter"},
    {"mesos.v1.DomainInfo", "fault_domain", 1, OPT, MSG, "mesos.v1.DomainInfo.FaultDomain"},
    {"mesos.v1.DomainInfo.FaultDomain", "region", 1, REQ, MSG, "mesos.v1.DomainInfo.FaultDomain.RegionInfo"},
    {"mesos.v1.DomainInfo.FaultDomain", "zone", 2, REQ, MSG, "mesos.v1.DomainInfo.FaultDomain.ZoneInfo"},
    {"mesos.v1.DomainInfo.FaultDomain.RegionInfo", "name", 1, REQ, STRING, ""},
    {"mesos.v1.DomainInfo.FaultDomain.ZoneInfo", "name", 1, REQ, STRING, ""},

    // ---------------------------------------------------------------- time, maintenance
    {"mesos.v1.TimeInfo", "nanoseconds", 1, REQ, INT64, ""},
    {"mesos.v1.DurationInfo", "nanoseconds", 1, REQ, INT64, ""},
    {"mesos.v1.Unavailability", "start", 1, REQ, MSG, "mesos.v1.TimeInfo"},
    {"mesos.v1.Unavailability", "duration", 2, OPT, MSG, "mesos.v1.DurationInfo"},
    {"mesos.v1.MachineID", "hostname", 1, OPT, STRING, ""},
    {"mesos.v1.MachineID", "ip", 2, OPT, STRING, ""},
    {"mesos.v1.MachineInfo", "id", 1, REQ, MSG, "mesos.v1.MachineID"},
    {"mesos.v1.MachineInfo", "mode", 2, OPT, ENUM, "mesos.v1.MachineInfo.Mode"},
    {"mesos.v1.MachineInfo", "unavailability", 3, OPT, MSG, "mesos.v1.Unavailability"},

    // ---------------------------------------------------------------- Offer, InverseOffer, Filters
    {"mesos.v1.Offer", "id", 1, REQ, MSG, "mesos.v1.OfferID"},
    {"mesos.v1.Offer", "framework_id", 2, REQ, MSG, "mesos.v1.FrameworkID"},
    {"mesos.v1.Offer", "agent_id", 3, REQ, MSG, "mesos.v1.AgentID"},
    {"mesos.v1.Offer", "hostname", 4, REQ, STRING, ""},
    {"mesos.v1.Offer", "url", 8, OPT, MSG, "mesos.v1.URL"},
    {"mesos.v1.Offer", "domain", 11, OPT, MSG, "mesos.v1.DomainInfo"},
    {"mesos.v1.Offer", "resources", 5, REP, MSG, "mesos.v1.Resource"},
    {"mesos.v1.Offer", "attributes", 7, REP, MSG, "mesos.v1.Attribute"},
    {"mesos.v1.Offer", "executor_ids", 6, REP, MSG, "mesos.v1.ExecutorID"},
    {"mesos.v1.Offer", "unavailability", 9, OPT, MSG, "mesos.v1.Unavailability"},
    {"mesos.v1.Offer", "allocation_info", 10, OPT, MSG, "mesos.v1.Resource.AllocationInfo"},
    {"mesos.v1.InverseOffer", "id", 1, REQ, MSG, "mesos.v1.OfferID"},
    {"mesos.v1.InverseOffer", "url", 2, OPT, MSG, "mesos.v1.URL"},
    {"mesos.v1.InverseOffer", "framework_id", 3, REQ, MSG, "mesos.v1.FrameworkID"},
    {"mesos.v1.InverseOffer", "agent_id", 4, OPT, MSG, "mesos.v1.AgentID"},
    {"mesos.v1.InverseOffer", "unavailability", 5, REQ, MSG, "mesos.v1.Unavailability"},
    {"mesos.v1.InverseOffer", "resources", 6, REP, MSG, "mesos.v1.Resource"},
    {"mesos.v1.Filters", "refuse_seconds", 1, OPT, DOUBLE, ""},
    {"mesos.v1.Request", "agent_id", 1, OPT, MSG, "mesos.v1.AgentID"},
    {"mesos.v1.Request", "resources", 2, REP, MSG, "mesos.v1.Resource"},
    {"mesos.v1.Credential", "principal", 1, REQ, STRING, ""},
    {"mesos.v1.Credential", "secret", 2, OPT, STRING, ""},

    // ---------------------------------------------------------------- Offer.Operation
    {"mesos.v1.Offer.Operation", "type", 1, OPT, ENUM, "mesos.v1.Offer.Operation.Type"},
    {"mesos.v1.Offer.Operation", "id", 12, OPT, MSG, "mesos.v1.OperationID"},
    {"mesos.v1.Offer.Operation", "launch", 2, OPT, MSG, "mesos.v1.Offer.Operation.Launch"},
    {"mesos.v1.Offer.Operation", "launch_group", 7, OPT, MSG, "mesos.v1.Offer.Operation.LaunchGroup"},
    {"mesos.v1.Offer.Operation", "reserve", 3, OPT, MSG, "mesos.v1.Offer.Operation.Reserve"},
    {"mesos.v1.Offer.Operation", "unreserve", 4, OPT, MSG, "mesos.v1.Offer.Operation.Unreserve"},
    {"mesos.v1.Offer.Operation", "create", 5, OPT, MSG, "mesos.v1.Offer.Operation.Create"},
    {"mesos.v1.Offer.Operation", "destroy", 6, OPT, MSG, "mesos.v1.Offer.Operation.Destroy"},
    {"mesos.v1.Offer.Operation", "grow_volume", 13, OPT, MSG, "mesos.v1.Offer.Operation.GrowVolume"},
    {"mesos.v1.Offer.Operation", "shrink_volume", 14, OPT, MSG, "mesos.v1.Offer.Operation.ShrinkVolume"},
    {"mesos.v1.Offer.Operation", "create_disk", 15, OPT, MSG, "mesos.v1.Offer.Operation.CreateDisk"},
    {"mesos.v1.Offer.Operation", "destroy_disk", 16, OPT, MSG, "mesos.v1.Offer.Operation.DestroyDisk"},
    {"mesos.v1.Offer.Operation.Launch", "task_infos", 1, REP, MSG, "mesos.v1.TaskInfo"},
    {"mesos.v1.Offer.Operation.LaunchGroup", "executor", 1, REQ, MSG, "mesos.v1.ExecutorInfo"},
    {"mesos.v1.Offer.Operation.LaunchGroup", "task_group", 2, REQ, MSG, "mesos.v1.TaskGroupInfo"},
    {"mesos.v1.Offer.Operation.Reserve", "source", 2, REP, MSG, "mesos.v1.Resource"},
    {"mesos.v1.Offer.Operation.Reserve", "resources", 1, REP, MSG, "mesos.v1.Resource"},
    {"mesos.v1.Offer.Operation.Unreserve", "resources", 1, REP, MSG, "mesos.v1.Resource"},
    {"mesos.v1.Offer.Operation.Create", "volumes", 1, REP, MSG, "mesos.v1.Resource"},
    {"mesos.v1.Offer.Operation.Destroy", "volumes", 1, REP, MSG, "mesos.v1.Resource"},
    {"mesos.v1.Offer.Operation.GrowVolume", "volume", 1, REQ, MSG, "mesos.v1.Resource"},
    {"mesos.v1.Offer.Operation.GrowVolume", "addition", 2, REQ, MSG, "mesos.v1.Resource"},
    {"mesos.v1.Offer.Operation.ShrinkVolume", "volume", 1, REQ, MSG, "mesos.v1.Resource"},
    {"mesos.v1.Offer.Operation.ShrinkVolume", "subtract", 2, REQ, MSG, "mesos.v1.Value.Scalar"},
    {"mesos.v1.Offer.Operation.CreateDisk", "source", 1, REQ, MSG, "mesos.v1.Resource"},
    {"mesos.v1.Offer.Operation.CreateDisk", "target_type", 2, REQ, ENUM, "mesos.v1.Resource.DiskInfo.Source.Type"},
    {"mesos.v1.Offer.Operation.CreateDisk", "target_profile", 3, OPT, STRING, ""},
    {"mesos.v1.Offer.Operation.DestroyDisk", "source", 1, REQ, MSG, "mesos.v1.Resource"},

    // ---------------------------------------------------------------- Resource
    {"mesos.v1.Resource", "provider_id", 12, OPT, MSG, "mesos.v1.ResourceProviderID"},
    {"mesos.v1.Resource", "name", 1, REQ, STRING, ""},
    {"mesos.v1.Resource", "type", 2, REQ, ENUM, "mesos.v1.Value.Type"},
    {"mesos.v1.Resource", "scalar", 3, OPT, MSG, "mesos.v1.Value.Scalar"},
    {"mesos.v1.Resource", "ranges", 4, OPT, MSG, "mesos.v1.Value.Ranges"},
    {"mesos.v1.Resource", "set", 5, OPT, MSG, "mesos.v1.Value.Set"},
    {"mesos.v1.Resource", "role", 6, OPT, STRING, ""},
    {"mesos.v1.Resource", "allocation_info", 11, OPT, MSG, "mesos.v1.Resource.AllocationInfo"},
    {"mesos.v1.Resource", "reservation", 8, OPT, MSG, "mesos.v1.Resource.ReservationInfo"},
    {"mesos.v1.Resource", "reservations", 13, REP, MSG, "mesos.v1.Resource.ReservationInfo"},
    {"mesos.v1.Resource", "disk", 7, OPT, MSG, "mesos.v1.Resource.DiskInfo"},
    {"mesos.v1.Resource", "revocable", 9, OPT, MSG, "mesos.v1.Resource.RevocableInfo"},
    {"mesos.v1.Resource", "shared", 10, OPT, MSG, "mesos.v1.Resource.SharedInfo"},
    {"mesos.v1.Resource.AllocationInfo", "role", 1, OPT, STRING, ""},
    {"mesos.v1.Resource.ReservationInfo", "type", 4, OPT, ENUM, "mesos.v1.Resource.ReservationInfo.Type"},
    {"mesos.v1.Resource.ReservationInfo", "role", 3, OPT, STRING, ""},
    {"mesos.v1.Resource.ReservationInfo", "principal", 1, OPT, STRING, ""},
    {"mesos.v1.Resource.ReservationInfo", "labels", 2, OPT, MSG, "mesos.v1.Labels"},
    {"mesos.v1.Resource.DiskInfo", "persistence", 1, OPT, MSG, "mesos.v1.Resource.DiskInfo.Persistence"},
    {"mesos.v1.Resource.DiskInfo", "volume", 2, OPT, MSG, "mesos.v1.Volume"},
    {"mesos.v1.Resource.DiskInfo", "source", 3, OPT, MSG, "mesos.v1.Resource.DiskInfo.Source"},
    {"mesos.v1.Resource.DiskInfo.Persistence", "id", 1, REQ, STRING, ""},
    {"mesos.v1.Resource.DiskInfo.Persistence", "principal", 2, OPT, STRING, ""},
    {"mesos.v1.Resource.DiskInfo.Source", "type", 1, REQ, ENUM, "mesos.v1.Resource.DiskInfo.Source.Type"},
    {"mesos.v1.Resource.DiskInfo.Source", "path", 2, OPT, MSG, "mesos.v1.Resource.DiskInfo.Source.Path"},
    {"mesos.v1.Resource.DiskInfo.Source", "mount", 3, OPT, MSG, "mesos.v1.Resource.DiskInfo.Source.Mount"},
    {"mesos.v1.Resource.DiskInfo.Source", "vendor", 7, OPT, STRING, ""},
    {"mesos.v1.Resource.DiskInfo.Source", "id", 4, OPT, STRING, ""},
    {"mesos.v1.Resource.DiskInfo.Source", "metadata", 5, OPT, MSG, "mesos.v1.Labels"},
    {"mesos.v1.Resource.DiskInfo.Source", "profile", 6, OPT, STRING, ""},
    {"mesos.v1.Resource.DiskInfo.Source.Path", "root", 1, OPT, STRING, ""},
    {"mesos.v1.Resource.DiskInfo.Source.Mount", "root", 1, OPT, STRING, ""},

    // ---------------------------------------------------------------- Value, Attribute
    {"mesos.v1.Value", "type", 1, REQ, ENUM, "mesos.v1.Value.Type"},
    {"mesos.v1.Value", "scalar", 2, OPT, MSG, "mesos.v1.Value.Scalar"},
    {"mesos.v1.Value", "ranges", 3, OPT, MSG, "mesos.v1.Value.Ranges"},
    {"mesos.v1.Value", "set", 4, OPT, MSG, "mesos.v1.Value.Set"},
    {"mesos.v1.Value", "text", 5, OPT, MSG, "mesos.v1.Value.Text"},
    {"mesos.v1.Value.Scalar", "value", 1, REQ, DOUBLE, ""},
    {"mesos.v1.Value.Range", "begin", 1, REQ, UINT64, ""},
    {"mesos.v1.Value.Range", "end", 2, REQ, UINT64, ""},
    {"mesos.v1.Value.Ranges", "range", 1, REP, MSG, "mesos.v1.Value.Range"},
    {"mesos.v1.Value.Set", "item", 1, REP, STRING, ""},
    {"mesos.v1.Value.Text", "value", 1, REQ, STRING, ""},
    {"mesos.v1.Attribute", "name", 1, REQ, STRING, ""},
    {"mesos.v1.Attribute", "type", 2, REQ, ENUM, "mesos.v1.Value.Type"},
    {"mesos.v1.Attribute", "scalar", 3, OPT, MSG, "mesos.v1.Value.Scalar"},
    {"mesos.v1.Attribute", "ranges", 4, OPT, MSG, "mesos.v1.Value.Ranges"},
    {"mesos.v1.Attribute", "set", 6, OPT, MSG, "mesos.v1.Value.Set"},
    {"mesos.v1.Attribute", "text", 5, OPT, MSG, "mesos.v1.Value.Text"},

    // ---------------------------------------------------------------- TaskInfo, TaskGroupInfo
    {"mesos.v1.TaskInfo", "name", 1, REQ, STRING, ""},
    {"mesos.v1.TaskInfo", "task_id", 2, REQ, MSG, "mesos.v1.TaskID"},
    {"mesos.v1.TaskInfo", "agent_id", 3, REQ, MSG, "mesos.v1.AgentID"},
    {"mesos.v1.TaskInfo", "resources", 4, REP, MSG, "mesos.v1.Resource"},
    {"mesos.v1.TaskInfo", "executor", 5, OPT, MSG, "mesos.v1.ExecutorInfo"},
    {"mesos.v1.TaskInfo", "command", 7, OPT, MSG, "mesos.v1.CommandInfo"},
    {"mesos.v1.TaskInfo", "container", 9, OPT, MSG, "mesos.v1.ContainerInfo"},
    {"mesos.v1.TaskInfo", "health_check", 8, OPT, MSG, "mesos.v1.HealthCheck"},
    {"mesos.v1.TaskInfo", "check", 13, OPT, MSG, "mesos.v1.CheckInfo"},
    {"mesos.v1.TaskInfo", "kill_policy", 12, OPT, MSG, "mesos.v1.KillPolicy"},
    {"mesos.v1.TaskInfo", "data", 6, OPT, BYTES, ""},
    {"mesos.v1.TaskInfo", "labels", 10, OPT, MSG, "mesos.v1.Labels"},
    {"mesos.v1.TaskInfo", "discovery", 11, OPT, MSG, "mesos.v1.DiscoveryInfo"},
    {"mesos.v1.TaskInfo", "max_completion_time", 14, OPT, MSG, "mesos.v1.DurationInfo"},
    {"mesos.v1.TaskInfo", "limits", 15, REP, MSG, "mesos.v1.TaskInfo.LimitsEntry"},
    {"mesos.v1.TaskInfo.LimitsEntry", "key", 1, OPT, STRING, ""},
    {"mesos.v1.TaskInfo.LimitsEntry", "value", 2, OPT, MSG, "mesos.v1.Value.Scalar"},
    {"mesos.v1.TaskGroupInfo", "tasks", 1, REP, MSG, "mesos.v1.TaskInfo"},

    // ---------------------------------------------------------------- TaskStatus and friends
    {"mesos.v1.TaskStatus", "task_id", 1, REQ, MSG, "mesos.v1.TaskID"},
    {"mesos.v1.TaskStatus", "state", 2, REQ, ENUM, "mesos.v1.TaskState"},
    {"mesos.v1.TaskStatus", "message", 4, OPT, STRING, ""},
    {"mesos.v1.TaskStatus", "source", 9, OPT, ENUM, "mesos.v1.TaskStatus.Source"},
    {"mesos.v1.TaskStatus", "reason", 10, OPT, ENUM, "mesos.v1.TaskStatus.Reason"},
    {"mesos.v1.TaskStatus", "data", 3, OPT, BYTES, ""},
    {"mesos.v1.TaskStatus", "agent_id", 5, OPT, MSG, "mesos.v1.AgentID"},
    {"mesos.v1.TaskStatus", "executor_id", 7, OPT, MSG, "mesos.v1.ExecutorID"},
    {"mesos.v1.TaskStatus", "timestamp", 6, OPT, DOUBLE, ""},
    {"mesos.v1.TaskStatus", "uuid", 11, OPT, BYTES, ""},
    {"mesos.v1.TaskStatus", "healthy", 8, OPT, BOOL, ""},
    {"mesos.v1.TaskStatus", "check_status", 15, OPT, MSG, "mesos.v1.CheckStatusInfo"},
    {"mesos.v1.TaskStatus", "labels", 12, OPT, MSG, "mesos.v1.Labels"},
    {"mesos.v1.TaskStatus", "container_status", 13, OPT, MSG, "mesos.v1.ContainerStatus"},
    {"mesos.v1.TaskStatus", "unreachable_time", 14, OPT, MSG, "mesos.v1.TimeInfo"},
    {"mesos.v1.TaskStatus", "limitation", 16, OPT, MSG, "mesos.v1.TaskResourceLimitation"},
    {"mesos.v1.TaskResourceLimitation", "resources", 1, REP, MSG, "mesos.v1.Resource"},
    {"mesos.v1.ContainerStatus", "container_id", 4, OPT, MSG, "mesos.v1.ContainerID"},
    {"mesos.v1.ContainerStatus", "network_infos", 1, REP, MSG, "mesos.v1.NetworkInfo"},
    {"mesos.v1.ContainerStatus", "cgroup_info", 2, OPT, MSG, "mesos.v1.CgroupInfo"},
    {"mesos.v1.ContainerStatus", "executor_pid", 3, OPT, UINT32, ""},
    {"mesos.v1.CgroupInfo", "net_cls", 1, OPT, MSG, "mesos.v1.CgroupInfo.NetCls"},
    {"mesos.v1.CgroupInfo.NetCls", "classid", 1, OPT, UINT32, ""},
    {"mesos.v1.CheckStatusInfo", "type", 1, OPT, ENUM, "mesos.v1.CheckInfo.Type"},
    {"mesos.v1.CheckStatusInfo", "command", 2, OPT, MSG, "mesos.v1.CheckStatusInfo.Command"},
    {"mesos.v1.CheckStatusInfo", "http", 3, OPT, MSG, "mesos.v1.CheckStatusInfo.Http"},
    {"mesos.v1.CheckStatusInfo", "tcp", 4, OPT, MSG, "mesos.v1.CheckStatusInfo.Tcp"},
    {"mesos.v1.CheckStatusInfo.Command", "exit_code", 1, OPT, INT32, ""},
    {"mesos.v1.CheckStatusInfo.Http", "status_code", 1, OPT, UINT32, ""},
    {"mesos.v1.CheckStatusInfo.Tcp", "succeeded", 1, OPT, BOOL, ""},

    // ---------------------------------------------------------------- OperationStatus
    {"mesos.v1.OperationStatus", "operation_id", 1, OPT, MSG, "mesos.v1.OperationID"},
    {"mesos.v1.OperationStatus", "state", 2, REQ, ENUM, "mesos.v1.OperationState"},
    {"mesos.v1.OperationStatus", "message", 3, OPT, STRING, ""},
    {"mesos.v1.OperationStatus", "converted_resources", 4, REP, MSG, "mesos.v1.Resource"},
    {"mesos.v1.OperationStatus", "uuid", 5, OPT, MSG, "mesos.v1.UUID"},
    {"mesos.v1.OperationStatus", "agent_id", 6, OPT, MSG, "mesos.v1.AgentID"},
    {"mesos.v1.OperationStatus", "resource_provider_id", 7, OPT, MSG, "mesos.v1.ResourceProviderID"},

    // ---------------------------------------------------------------- ExecutorInfo, CommandInfo
    {"mesos.v1.ExecutorInfo", "type", 15, OPT, ENUM, "mesos.v1.ExecutorInfo.Type"},
    {"mesos.v1.ExecutorInfo", "executor_id", 1, REQ, MSG, "mesos.v1.ExecutorID"},
    {"mesos.v1.ExecutorInfo", "framework_id", 8, OPT, MSG, "mesos.v1.FrameworkID"},
    {"mesos.v1.ExecutorInfo", "command", 7, OPT, MSG, "mesos.v1.CommandInfo"},
    {"mesos.v1.ExecutorInfo", "container", 11, OPT, MSG, "mesos.v1.ContainerInfo"},
    {"mesos.v1.ExecutorInfo", "resources", 5, REP, MSG, "mesos.v1.Resource"},
    {"mesos.v1.ExecutorInfo", "name", 9, OPT, STRING, ""},
    {"mesos.v1.ExecutorInfo", "source", 10, OPT, STRING, ""},
    {"mesos.v1.ExecutorInfo", "data", 4, OPT, BYTES, ""},
    {"mesos.v1.ExecutorInfo", "discovery", 12, OPT, MSG, "mesos.v1.DiscoveryInfo"},
    {"mesos.v1.ExecutorInfo", "shutdown_grace_period", 13, OPT, MSG, "mesos.v1.DurationInfo"},
    {"mesos.v1.ExecutorInfo", "labels", 14, OPT, MSG, "mesos.v1.Labels"},
    {"mesos.v1.CommandInfo", "uris", 1, REP, MSG, "mesos.v1.CommandInfo.URI"},
    {"mesos.v1.CommandInfo", "environment", 2, OPT, MSG, "mesos.v1.Environment"},
    {"mesos.v1.CommandInfo", "shell", 6, OPT, BOOL, ""},
    {"mesos.v1.CommandInfo", "value", 3, OPT, STRING, ""},
    {"mesos.v1.CommandInfo", "arguments", 7, REP, STRING, ""},
    {"mesos.v1.CommandInfo", "user", 5, OPT, STRING, ""},
    {"mesos.v1.CommandInfo.URI", "value", 1, REQ, STRING, ""},
    {"mesos.v1.CommandInfo.URI", "executable", 2, OPT, BOOL, ""},
    {"mesos.v1.CommandInfo.URI", "extract", 3, OPT, BOOL, ""},
    {"mesos.v1.CommandInfo.URI", "cache", 4, OPT, BOOL, ""},
    {"mesos.v1.CommandInfo.URI", "output_file", 5, OPT, STRING, ""},
    {"mesos.v1.Environment", "variables", 1, REP, MSG, "mesos.v1.Environment.Variable"},
    {"mesos.v1.Environment.Variable", "name", 1, REQ, STRING, ""},
    {"mesos.v1.Environment.Variable", "type", 3, OPT, ENUM, "mesos.v1.Environment.Variable.Type"},
    {"mesos.v1.Environment.Variable", "value", 2, OPT, STRING, ""},
    {"mesos.v1.Environment.Variable", "secret", 4, OPT, MSG, "mesos.v1.Secret"},
    {"mesos.v1.Secret", "type", 1, OPT, ENUM, "mesos.v1.Secret.Type"},
    {"mesos.v1.Secret", "reference", 2, OPT, MSG, "mesos.v1.Secret.Reference"},
    {"mesos.v1.Secret", "value", 3, OPT, MSG, "mesos.v1.Secret.Value"},
    {"mesos.v1.Secret.Reference", "name", 1, REQ, STRING, ""},
    {"mesos.v1.Secret.Reference", "key", 2, OPT, STRING, ""},
    {"mesos.v1.Secret.Value", "data", 1, REQ, BYTES, ""},

    // ---------------------------------------------------------------- ContainerInfo and parts
    {"mesos.v1.ContainerInfo", "type", 1, REQ, ENUM, "mesos.v1.ContainerInfo.Type"},
    {"mesos.v1.ContainerInfo", "volumes", 2, REP, MSG, "mesos.v1.Volume"},
    {"mesos.v1.ContainerInfo", "hostname", 4, OPT, STRING, ""},
    {"mesos.v1.ContainerInfo", "docker", 3, OPT, MSG, "mesos.v1.ContainerInfo.DockerInfo"},
    {"mesos.v1.ContainerInfo", "mesos", 5, OPT, MSG, "mesos.v1.ContainerInfo.MesosInfo"},
    {"mesos.v1.ContainerInfo", "network_infos", 7, REP, MSG, "mesos.v1.NetworkInfo"},
    {"mesos.v1.ContainerInfo", "linux_info", 8, OPT, MSG, "mesos.v1.LinuxInfo"},
    {"mesos.v1.ContainerInfo", "rlimit_info", 9, OPT, MSG, "mesos.v1.RLimitInfo"},
    {"mesos.v1.ContainerInfo", "tty_info", 10, OPT, MSG, "mesos.v1.TTYInfo"},
    {"mesos.v1.ContainerInfo.DockerInfo", "image", 1, REQ, STRING, ""},
    {"mesos.v1.ContainerInfo.DockerInfo", "network", 2, OPT, ENUM, "mesos.v1.ContainerInfo.DockerInfo.Network"},
    {"mesos.v1.ContainerInfo.DockerInfo", "port_mappings", 3, REP, MSG, "mesos.v1.ContainerInfo.DockerInfo.PortMapping"},
    {"mesos.v1.ContainerInfo.DockerInfo", "privileged", 4, OPT, BOOL, ""},
    {"mesos.v1.ContainerInfo.DockerInfo", "parameters", 5, REP, MSG, "mesos.v1.Parameter"},
    {"mesos.v1.ContainerInfo.DockerInfo", "force_pull_image", 6, OPT, BOOL, ""},
    {"mesos.v1.ContainerInfo.DockerInfo", "volume_driver", 7, OPT, STRING, ""},
    {"mesos.v1.ContainerInfo.DockerInfo.PortMapping", "host_port", 1, REQ, UINT32, ""},
    {"mesos.v1.ContainerInfo.DockerInfo.PortMapping", "container_port", 2, REQ, UINT32, ""},
    {"mesos.v1.ContainerInfo.DockerInfo.PortMapping", "protocol", 3, OPT, STRING, ""},
    {"mesos.v1.ContainerInfo.MesosInfo", "image", 1, OPT, MSG, "mesos.v1.Image"},
    {"mesos.v1.Image", "type", 1, REQ, ENUM, "mesos.v1.Image.Type"},
    {"mesos.v1.Image", "appc", 2, OPT, MSG, "mesos.v1.Image.Appc"},
    {"mesos.v1.Image", "docker", 3, OPT, MSG, "mesos.v1.Image.Docker"},
    {"mesos.v1.Image", "cached", 4, OPT, BOOL, ""},
    {"mesos.v1.Image.Appc", "name", 1, REQ, STRING, ""},
    {"mesos.v1.Image.Appc", "id", 2, OPT, STRING, ""},
    {"mesos.v1.Image.Appc", "labels", 3, OPT, MSG, "mesos.v1.Labels"},
    {"mesos.v1.Image.Docker", "name", 1, REQ, STRING, ""},
    {"mesos.v1.Image.Docker", "credential", 2, OPT, MSG, "mesos.v1.Credential"},
    {"mesos.v1.Image.Docker", "config", 3, OPT, MSG, "mesos.v1.Secret"},
    {"mesos.v1.Volume", "mode", 3, REQ, ENUM, "mesos.v1.Volume.Mode"},
    {"mesos.v1.Volume", "container_path", 1, REQ, STRING, ""},
    {"mesos.v1.Volume", "host_path", 2, OPT, STRING, ""},
    {"mesos.v1.Volume", "image", 4, OPT, MSG, "mesos.v1.Image"},
    {"mesos.v1.Volume", "source", 5, OPT, MSG, "mesos.v1.Volume.Source"},
    {"mesos.v1.Volume.Source", "type", 1, OPT, ENUM, "mesos.v1.Volume.Source.Type"},
    {"mesos.v1.Volume.Source", "docker_volume", 2, OPT, MSG, "mesos.v1.Volume.Source.DockerVolume"},
    {"mesos.v1.Volume.Source", "host_path", 5, OPT, MSG, "mesos.v1.Volume.Source.HostPath"},
    {"mesos.v1.Volume.Source", "sandbox_path", 3, OPT, MSG, "mesos.v1.Volume.Source.SandboxPath"},
    {"mesos.v1.Volume.Source", "secret", 4, OPT, MSG, "mesos.v1.Secret"},
    {"mesos.v1.Volume.Source", "csi_volume", 6, OPT, MSG, "mesos.v1.Volume.Source.CSIVolume"},
    {"mesos.v1.Volume.Source.DockerVolume", "driver", 1, OPT, STRING, ""},
    {"mesos.v1.Volume.Source.DockerVolume", "name", 2, REQ, STRING, ""},
    {"mesos.v1.Volume.Source.DockerVolume", "driver_options", 3, OPT, MSG, "mesos.v1.Parameters"},
    {"mesos.v1.Volume.Source.HostPath", "path", 1, REQ, STRING, ""},
    {"mesos.v1.Volume.Source.HostPath", "mount_propagation", 2, OPT, MSG, "mesos.v1.MountPropagation"},
    {"mesos.v1.Volume.Source.SandboxPath", "type", 1, OPT, ENUM, "mesos.v1.Volume.Source.SandboxPath.Type"},
    {"mesos.v1.Volume.Source.SandboxPath", "path", 2, REQ, STRING, ""},
    {"mesos.v1.Volume.Source.CSIVolume", "plugin_name", 1, REQ, STRING, ""},
    {"mesos.v1.Volume.Source.CSIVolume", "static_provisioning", 2, OPT, MSG, "mesos.v1.Volume.Source.CSIVolume.StaticProvisioning"},
    {"mesos.v1.Volume.Source.CSIVolume.StaticProvisioning", "volume_id", 1, REQ, STRING, ""},
    {"mesos.v1.Volume.Source.CSIVolume.StaticProvisioning", "volume_capability", 2, REQ, MSG, "mesos.v1.Volume.Source.CSIVolume.VolumeCapability"},
    {"mesos.v1.Volume.Source.CSIVolume.StaticProvisioning", "node_stage_secrets", 3, REP, MSG, "mesos.v1.Volume.Source.CSIVolume.StaticProvisioning.NodeStageSecretsEntry"},
    {"mesos.v1.Volume.Source.CSIVolume.StaticProvisioning", "node_publish_secrets", 4, REP, MSG, "mesos.v1.Volume.Source.CSIVolume.StaticProvisioning.NodePublishSecretsEntry"},
    {"mesos.v1.Volume.Source.CSIVolume.StaticProvisioning", "volume_context", 5, REP, MSG, "mesos.v1.Volume.Source.CSIVolume.StaticProvisioning.VolumeContextEntry"},
    {"mesos.v1.Volume.Source.CSIVolume.VolumeCapability", "block", 1, OPT, MSG, "mesos.v1.Volume.Source.CSIVolume.VolumeCapability.BlockVolume"},
    {"mesos.v1.Volume.Source.CSIVolume.VolumeCapability", "mount", 2, OPT, MSG, "mesos.v1.Volume.Source.CSIVolume.VolumeCapability.MountVolume"},
    {"mesos.v1.Volume.Source.CSIVolume.VolumeCapability", "access_mode", 3, REQ, MSG, "mesos.v1.Volume.Source.CSIVolume.VolumeCapability.AccessMode"},
    {"mesos.v1.NetworkInfo", "ip_addresses", 5, REP, MSG, "mesos.v1.NetworkInfo.IPAddress"},
    {"mesos.v1.NetworkInfo", "name", 6, OPT, STRING, ""},
    {"mesos.v1.NetworkInfo", "groups", 3, REP, STRING, ""},
    {"mesos.v1.NetworkInfo", "labels", 4, OPT, MSG, "mesos.v1.Labels"},
    {"mesos.v1.NetworkInfo", "port_mappings", 7, REP, MSG, "mesos.v1.NetworkInfo.PortMapping"},
    {"mesos.v1.NetworkInfo.IPAddress", "protocol", 1, OPT, ENUM, "mesos.v1.NetworkInfo.Protocol"},
    {"mesos.v1.NetworkInfo.IPAddress", "ip_address", 2, OPT, STRING, ""},
    {"mesos.v1.NetworkInfo.PortMapping", "host_port", 1, REQ, UINT32, ""},
    {"mesos.v1.NetworkInfo.PortMapping", "container_port", 2, REQ, UINT32, ""},
    {"mesos.v1.NetworkInfo.PortMapping", "protocol", 3, OPT, STRING, ""},
    {"mesos.v1.LinuxInfo", "capability_info", 1, OPT, MSG, "mesos.v1.CapabilityInfo"},
    {"mesos.v1.LinuxInfo", "bounding_capabilities", 2, OPT, MSG, "mesos.v1.CapabilityInfo"},
    {"mesos.v1.LinuxInfo", "effective_capabilities", 3, OPT, MSG, "mesos.v1.CapabilityInfo"},
    {"mesos.v1.LinuxInfo", "share_pid_namespace", 4, OPT, BOOL, ""},
    {"mesos.v1.LinuxInfo", "seccomp", 5, OPT, MSG, "mesos.v1.SeccompInfo"},
    {"mesos.v1.LinuxInfo", "ipc_mode", 6, OPT, ENUM, "mesos.v1.LinuxInfo.IpcMode"},
    {"mesos.v1.LinuxInfo", "shm_size", 7, OPT, UINT32, ""},
    {"mesos.v1.LinuxInfo", "share_cgroups", 8, OPT, BOOL, ""},
    {"mesos.v1.RLimitInfo", "rlimits", 1, REP, MSG, "mesos.v1.RLimitInfo.RLimit"},
    {"mesos.v1.RLimitInfo.RLimit", "type", 1, OPT, ENUM, "mesos.v1.RLimitInfo.RLimit.Type"},
    {"mesos.v1.RLimitInfo.RLimit", "hard", 2, OPT, UINT64, ""},
    {"mesos.v1.RLimitInfo.RLimit", "soft", 3, OPT, UINT64, ""},
    {"mesos.v1.TTYInfo", "window_size", 1, OPT, MSG, "mesos.v1.TTYInfo.WindowSize"},
    {"mesos.v1.TTYInfo.WindowSize", "rows", 1, REQ, UINT32, ""},
    {"mesos.v1.TTYInfo.WindowSize", "columns", 2, REQ, UINT32, ""},

    // ---------------------------------------------------------------- checks, kill policy, labels, discovery
    {"mesos.v1.HealthCheck", "delay_seconds", 2, OPT, DOUBLE, ""},
    {"mesos.v1.HealthCheck", "interval_seconds", 3, OPT, DOUBLE, ""},
    {"mesos.v1.HealthCheck", "timeout_seconds", 4, OPT, DOUBLE, ""},
    {"mesos.v1.HealthCheck", "consecutive_failures", 5, OPT, UINT32, ""},
    {"mesos.v1.HealthCheck", "grace_period_seconds", 6, OPT, DOUBLE, ""},
    {"mesos.v1.HealthCheck", "type", 8, OPT, ENUM, "mesos.v1.HealthCheck.Type"},
    {"mesos.v1.HealthCheck", "command", 7, OPT, MSG, "mesos.v1.CommandInfo"},
    {"mesos.v1.HealthCheck", "http", 1, OPT, MSG, "mesos.v1.HealthCheck.HTTPCheckInfo"},
    {"mesos.v1.HealthCheck", "tcp", 9, OPT, MSG, "mesos.v1.HealthCheck.TCPCheckInfo"},
    {"mesos.v1.HealthCheck.HTTPCheckInfo", "protocol", 5, OPT, ENUM, "mesos.v1.NetworkInfo.Protocol"},
    {"mesos.v1.HealthCheck.HTTPCheckInfo", "scheme", 3, OPT, STRING, ""},
    {"mesos.v1.HealthCheck.HTTPCheckInfo", "port", 1, REQ, UINT32, ""},
    {"mesos.v1.HealthCheck.HTTPCheckInfo", "path", 2, OPT, STRING, ""},
    {"mesos.v1.HealthCheck.HTTPCheckInfo", "statuses", 4, REP, UINT32, ""},
    {"mesos.v1.HealthCheck.TCPCheckInfo", "protocol", 2, OPT, ENUM, "mesos.v1.NetworkInfo.Protocol"},
    {"mesos.v1.HealthCheck.TCPCheckInfo", "port", 1, REQ, UINT32, ""},
    {"mesos.v1.CheckInfo", "type", 1, OPT, ENUM, "mesos.v1.CheckInfo.Type"},
    {"mesos.v1.CheckInfo", "command", 2, OPT, MSG, "mesos.v1.CheckInfo.Command"},
    {"mesos.v1.CheckInfo", "http", 3, OPT, MSG, "mesos.v1.CheckInfo.Http"},
    {"mesos.v1.CheckInfo", "tcp", 7, OPT, MSG, "mesos.v1.CheckInfo.Tcp"},
    {"mesos.v1.CheckInfo", "delay_seconds", 4, OPT, DOUBLE, ""},
    {"mesos.v1.CheckInfo", "interval_seconds", 5, OPT, DOUBLE, ""},
    {"mesos.v1.CheckInfo", "timeout_seconds", 6, OPT, DOUBLE, ""},
    {"mesos.v1.CheckInfo.Command", "command", 1, REQ, MSG, "mesos.v1.CommandInfo"},
    {"mesos.v1.CheckInfo.Http", "port", 1, REQ, UINT32, ""},
    {"mesos.v1.CheckInfo.Http", "path", 2, OPT, STRING, ""},
    {"mesos.v1.CheckInfo.Tcp", "port", 1, REQ, UINT32, ""},
    {"mesos.v1.KillPolicy", "grace_period", 1, OPT, MSG, "mesos.v1.DurationInfo"},
    {"mesos.v1.Labels", "labels", 1, REP, MSG, "mesos.v1.Label"},
    {"mesos.v1.Label", "key", 1, REQ, STRING, ""},
    {"mesos.v1.Label", "value", 2, OPT, STRING, ""},
    {"mesos.v1.DiscoveryInfo", "visibility", 1, REQ, ENUM, "mesos.v1.DiscoveryInfo.Visibility"},
    {"mesos.v1.DiscoveryInfo", "name", 2, OPT, STRING, ""},
    {"mesos.v1.DiscoveryInfo", "environment", 3, OPT, STRING, ""},
    {"mesos.v1.DiscoveryInfo", "location", 4, OPT, STRING, ""},
    {"mesos.v1.DiscoveryInfo", "version", 5, OPT, STRING, ""},
    {"mesos.v1.DiscoveryInfo", "ports", 6, OPT, MSG, "mesos.v1.Ports"},
    {"mesos.v1.DiscoveryInfo", "labels", 7, OPT, MSG, "mesos.v1.Labels"},
    {"mesos.v1.Ports", "ports", 1, REP, MSG, "mesos.v1.Port"},
    {"mesos.v1.Port", "number", 1, REQ, UINT32, ""},
    {"mesos.v1.Port", "name", 2, OPT, STRING, ""},
    {"mesos.v1.Port", "protocol", 3, OPT, STRING, ""},
    {"mesos.v1.Port", "visibility", 4, OPT, ENUM, "mesos.v1.DiscoveryInfo.Visibility"},
    {"mesos.v1.Port", "labels", 5, OPT, MSG, "mesos.v1.Labels"},
};
// clang-format on

// One enum with all its values, in declaration order.
struct EnumRow {
  const char* enum_name;
  std::vector<std::pair<const char*, int>> values;
};

// clang-format off
const std::vector<EnumRow> kEnums = {
    {"mesos.v1.scheduler.Call.Type",
     {{"UNKNOWN", 0}, {"SUBSCRIBE", 1}, {"TEARDOWN", 2}, {"ACCEPT", 3}, {"DECLINE", 4},
      {"ACCEPT_INVERSE_OFFERS", 13}, {"DECLINE_INVERSE_OFFERS", 14}, {"REVIVE", 5}, {"KILL", 6},
      {"SHUTDOWN", 7}, {"ACKNOWLEDGE", 8}, {"ACKNOWLEDGE_OPERATION_STATUS", 15}, {"RECONCILE", 9},
      {"RECONCILE_OPERATIONS", 16}, {"MESSAGE", 10}, {"REQUEST", 11}, {"SUPPRESS", 12},
      {"UPDATE_FRAMEWORK", 17}}},
    {"mesos.v1.scheduler.Event.Type",
     {{"UNKNOWN", 0}, {"SUBSCRIBED", 1}, {"OFFERS", 2}, {"INVERSE_OFFERS", 9}, {"RESCIND", 3},
      {"RESCIND_INVERSE_OFFER", 10}, {"UPDATE", 4}, {"UPDATE_OPERATION_STATUS", 11}, {"MESSAGE", 5},
      {"FAILURE", 6}, {"ERROR", 7}, {"HEARTBEAT", 8}}},
    {"mesos.v1.scheduler.Response.Type", {{"UNKNOWN", 0}, {"RECONCILE_OPERATIONS", 1}}},
    {"mesos.v1.scheduler.AttributeConstraint.Selector.PseudoattributeType",
     {{"UNKNOWN", 0}, {"HOSTNAME", 1}, {"REGION", 2}, {"ZONE", 3}}},
    {"mesos.v1.TaskState",
     {{"TASK_STAGING", 6}, {"TASK_STARTING", 0}, {"TASK_RUNNING", 1}, {"TASK_KILLING", 8},
      {"TASK_FINISHED", 2}, {"TASK_FAILED", 3}, {"TASK_KILLED", 4}, {"TASK_ERROR", 7},
      {"TASK_LOST", 5}, {"TASK_DROPPED", 9}, {"TASK_UNREACHABLE", 10}, {"TASK_GONE", 11},
      {"TASK_GONE_BY_OPERATOR", 12}, {"TASK_UNKNOWN", 13}}},
    {"mesos.v1.TaskStatus.Source",
     {{"SOURCE_MASTER", 0}, {"SOURCE_AGENT", 1}, {"SOURCE_EXECUTOR", 2}}},
    {"mesos.v1.TaskStatus.Reason",
     {{"REASON_COMMAND_EXECUTOR_FAILED", 0},
      {"REASON_CONTAINER_LAUNCH_FAILED", 21},
      {"REASON_CONTAINER_LIMITATION", 19},
      {"REASON_CONTAINER_LIMITATION_DISK", 20},
      {"REASON_CONTAINER_LIMITATION_MEMORY", 8},
      {"REASON_CONTAINER_PREEMPTED", 17},
      {"REASON_CONTAINER_UPDATE_FAILED", 22},
      {"REASON_MAX_COMPLETION_TIME_REACHED", 33},
      {"REASON_EXECUTOR_REGISTRATION_TIMEOUT", 23},
      {"REASON_EXECUTOR_REREGISTRATION_TIMEOUT", 24},
      {"REASON_EXECUTOR_TERMINATED", 1},
      {"REASON_EXECUTOR_UNREGISTERED", 2},
      {"REASON_FRAMEWORK_REMOVED", 3},
      {"REASON_GC_ERROR", 4},
      {"REASON_INVALID_FRAMEWORKID", 5},
      {"REASON_INVALID_OFFERS", 6},
      {"REASON_IO_SWITCHBOARD_EXITED", 27},
      {"REASON_MASTER_DISCONNECTED", 7},
      {"REASON_RECONCILIATION", 9},
      {"REASON_RESOURCES_UNKNOWN", 18},
      {"REASON_AGENT_DISCONNECTED", 10},
      {"REASON_AGENT_DRAINING", 34},
      {"REASON_AGENT_REMOVED", 11},
      {"REASON_AGENT_REMOVED_BY_OPERATOR", 31},
      {"REASON_AGENT_REREGISTERED", 32},
      {"REASON_AGENT_RESTARTED", 12},
      {"REASON_AGENT_UNKNOWN", 13},
      {"REASON_TASK_KILLED_DURING_LAUNCH", 30},
      {"REASON_TASK_CHECK_STATUS_UPDATED", 28},
      {"REASON_TASK_HEALTH_CHECK_STATUS_UPDATED", 29},
      {"REASON_TASK_GROUP_INVALID", 25},
      {"REASON_TASK_GROUP_UNAUTHORIZED", 26},
      {"REASON_TASK_INVALID", 14},
      {"REASON_TASK_UNAUTHORIZED", 15},
      {"REASON_TASK_UNKNOWN", 16}}},
    {"mesos.v1.Offer.Operation.Type",
     {{"UNKNOWN", 0}, {"LAUNCH", 1}, {"LAUNCH_GROUP", 6}, {"RESERVE", 2}, {"UNRESERVE", 3},
      {"CREATE", 4}, {"DESTROY", 5}, {"GROW_VOLUME", 11}, {"SHRINK_VOLUME", 12},
      {"CREATE_DISK", 13}, {"DESTROY_DISK", 14}}},
    {"mesos.v1.Value.Type", {{"SCALAR", 0}, {"RANGES", 1}, {"SET", 2}, {"TEXT", 3}}},
    {"mesos.v1.FrameworkInfo.Capability.Type",
     {{"UNKNOWN", 0}, {"REVOCABLE_RESOURCES", 1}, {"TASK_KILLING_STATE", 2}, {"GPU_RESOURCES", 3},
      {"SHARED_RESOURCES", 4}, {"PARTITION_AWARE", 5}, {"MULTI_ROLE", 6},
      {"RESERVATION_REFINEMENT", 7}, {"REGION_AWARE", 8}}},
    {"mesos.v1.MasterInfo.Capability.Type",
     {{"UNKNOWN", 0}, {"AGENT_UPDATE", 1}, {"AGENT_DRAINING", 2}, {"QUOTA_V2", 3}}},
    {"mesos.v1.ContainerInfo.Type", {{"DOCKER", 1}, {"MESOS", 2}}},
    {"mesos.v1.ContainerInfo.DockerInfo.Network",
     {{"HOST", 1}, {"BRIDGE", 2}, {"NONE", 3}, {"USER", 4}}},
    {"mesos.v1.OperationState",
     {{"OPERATION_UNSUPPORTED", 0}, {"OPERATION_PENDING", 1}, {"OPERATION_FINISHED", 2},
      {"OPERATION_FAILED", 3}, {"OPERATION_ERROR", 4}, {"OPERATION_DROPPED", 5},
      {"OPERATION_UNREACHABLE", 6}, {"OPERATION_GONE_BY_OPERATOR", 7},
      {"OPERATION_RECOVERING", 8}, {"OPERATION_UNKNOWN", 9}}},
    {"mesos.v1.Resource.ReservationInfo.Type", {{"UNKNOWN", 0}, {"STATIC", 1}, {"DYNAMIC", 2}}},
    {"mesos.v1.Resource.DiskInfo.Source.Type",
     {{"UNKNOWN", 0}, {"PATH", 1}, {"MOUNT", 2}, {"BLOCK", 3}, {"RAW", 4}}},
    {"mesos.v1.ExecutorInfo.Type", {{"UNKNOWN", 0}, {"DEFAULT", 1}, {"CUSTOM", 2}}},
    {"mesos.v1.HealthCheck.Type", {{"UNKNOWN", 0}, {"COMMAND", 1}, {"HTTP", 2}, {"TCP", 3}}},
    {"mesos.v1.CheckInfo.Type", {{"UNKNOWN", 0}, {"COMMAND", 1}, {"HTTP", 2}, {"TCP", 3}}},
    {"mesos.v1.Environment.Variable.Type", {{"UNKNOWN", 0}, {"VALUE", 1}, {"SECRET", 2}}},
    {"mesos.v1.Secret.Type", {{"UNKNOWN", 0}, {"REFERENCE", 1}, {"VALUE", 2}}},
    {"mesos.v1.Image.Type", {{"APPC", 1}, {"DOCKER", 2}}},
    {"mesos.v1.Volume.Mode", {{"RW", 1}, {"RO", 2}}},
    {"mesos.v1.Volume.Source.Type",
     {{"UNKNOWN", 0}, {"DOCKER_VOLUME", 1}, {"HOST_PATH", 4}, {"SANDBOX_PATH", 2}, {"SECRET", 3},
      {"CSI_VOLUME", 5}}},
    {"mesos.v1.Volume.Source.SandboxPath.Type", {{"UNKNOWN", 0}, {"SELF", 1}, {"PARENT", 2}}},
    {"mesos.v1.NetworkInfo.Protocol", {{"IPv4", 1}, {"IPv6", 2}}},
    {"mesos.v1.DiscoveryInfo.Visibility", {{"FRAMEWORK", 0}, {"CLUSTER", 1}, {"EXTERNAL", 2}}},
    {"mesos.v1.MachineInfo.Mode", {{"UP", 1}, {"DRAINING", 2}, {"DOWN", 3}}},
    {"mesos.v1.LinuxInfo.IpcMode", {{"UNKNOWN", 0}, {"PRIVATE", 1}, {"SHARE_PARENT", 2}}},
};
// clang-format on

// Every explicit `[default = ...]` in our two files, rendered as text (enums by value name).
const std::map<std::string, std::string> kDefaults = {
    {"mesos.v1.FrameworkInfo.failover_timeout", "0"},
    {"mesos.v1.FrameworkInfo.checkpoint", "false"},
    {"mesos.v1.FrameworkInfo.role", "*"},
    {"mesos.v1.CheckInfo.delay_seconds", "15"},
    {"mesos.v1.CheckInfo.interval_seconds", "10"},
    {"mesos.v1.CheckInfo.timeout_seconds", "20"},
    {"mesos.v1.HealthCheck.HTTPCheckInfo.protocol", "IPv4"},
    {"mesos.v1.HealthCheck.TCPCheckInfo.protocol", "IPv4"},
    {"mesos.v1.HealthCheck.delay_seconds", "15"},
    {"mesos.v1.HealthCheck.interval_seconds", "10"},
    {"mesos.v1.HealthCheck.timeout_seconds", "20"},
    {"mesos.v1.HealthCheck.consecutive_failures", "3"},
    {"mesos.v1.HealthCheck.grace_period_seconds", "10"},
    {"mesos.v1.CommandInfo.URI.extract", "true"},
    {"mesos.v1.CommandInfo.shell", "true"},
    {"mesos.v1.MasterInfo.port", "5050"},
    {"mesos.v1.Resource.role", "*"},
    {"mesos.v1.Filters.refuse_seconds", "5"},
    {"mesos.v1.Environment.Variable.type", "VALUE"},
    {"mesos.v1.Image.cached", "true"},
    {"mesos.v1.NetworkInfo.IPAddress.protocol", "IPv4"},
    {"mesos.v1.LinuxInfo.share_cgroups", "true"},
    {"mesos.v1.ContainerInfo.DockerInfo.network", "HOST"},
    {"mesos.v1.ContainerInfo.DockerInfo.privileged", "false"},
};

// Every `[deprecated = true]` field in our two files.
const std::set<std::string> kDeprecated = {
    "mesos.v1.FrameworkInfo.role",      "mesos.v1.Resource.role",
    "mesos.v1.ExecutorInfo.source",     "mesos.v1.ContainerInfo.DockerInfo.volume_driver",
    "mesos.v1.Image.Docker.credential", "mesos.v1.LinuxInfo.capability_info",
};

// Fields that live in a `oneof`, with the oneof's name.
const std::map<std::string, std::string> kOneofs = {
    {"mesos.v1.scheduler.AttributeConstraint.Selector.pseudoattribute_type", "selector"},
    {"mesos.v1.scheduler.AttributeConstraint.Selector.attribute_name", "selector"},
    {"mesos.v1.scheduler.AttributeConstraint.Predicate.exists", "predicate"},
    {"mesos.v1.scheduler.AttributeConstraint.Predicate.not_exists", "predicate"},
    {"mesos.v1.scheduler.AttributeConstraint.Predicate.text_equals", "predicate"},
    {"mesos.v1.scheduler.AttributeConstraint.Predicate.text_not_equals", "predicate"},
    {"mesos.v1.scheduler.AttributeConstraint.Predicate.text_matches", "predicate"},
    {"mesos.v1.scheduler.AttributeConstraint.Predicate.text_not_matches", "predicate"},
    {"mesos.v1.Volume.Source.CSIVolume.VolumeCapability.block", "access_type"},
    {"mesos.v1.Volume.Source.CSIVolume.VolumeCapability.mount", "access_type"},
};

const DescriptorPool& pool() {
  // Touch one type per file so the linker keeps the generated code (and its descriptors).
  static const bool linked = mesos::v1::scheduler::Call::descriptor() != nullptr &&
                             mesos::v1::FrameworkInfo::descriptor() != nullptr;
  (void)linked;
  return *DescriptorPool::generated_pool();
}

const char* label_name(FieldDescriptor::Label label) {
  switch (label) {
    case FieldDescriptor::LABEL_OPTIONAL:
      return "optional";
    case FieldDescriptor::LABEL_REQUIRED:
      return "required";
    case FieldDescriptor::LABEL_REPEATED:
      return "repeated";
  }
  return "?";
}

std::string type_name_of(const FieldDescriptor& field) {
  if (field.message_type() != nullptr) return field.message_type()->full_name();
  if (field.enum_type() != nullptr) return field.enum_type()->full_name();
  return "";
}

// Compares one row with the generated descriptors; returns "" on a match, else what differs.
std::string check_field(const DescriptorPool& descriptors, const FieldRow& row) {
  const Descriptor* message = descriptors.FindMessageTypeByName(row.message);
  if (message == nullptr) return std::string("no message ") + row.message;
  const FieldDescriptor* field = message->FindFieldByName(row.field);
  if (field == nullptr) return std::string("no field ") + row.field;

  std::ostringstream out;
  if (field->number() != row.number) {
    out << "number " << field->number() << " != expected " << row.number << "; ";
  }
  if (field->label() != row.label) {
    out << "label " << label_name(field->label()) << " != expected " << label_name(row.label)
        << "; ";
  }
  if (field->type() != row.type) {
    out << "type " << field->type_name() << " != expected " << FieldDescriptor::TypeName(row.type)
        << "; ";
  }
  if (type_name_of(*field) != row.type_name) {
    out << "type name '" << type_name_of(*field) << "' != expected '" << row.type_name << "'; ";
  }
  return out.str();
}

std::string render_default(const FieldDescriptor& field) {
  std::ostringstream out;
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_DOUBLE:
      out << field.default_value_double();
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      out << (field.default_value_bool() ? "true" : "false");
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      out << field.default_value_uint32();
      break;
    case FieldDescriptor::CPPTYPE_STRING:
      out << field.default_value_string();
      break;
    case FieldDescriptor::CPPTYPE_ENUM:
      out << field.default_value_enum()->name();
      break;
    default:
      out << "<unexpected default of type " << field.cpp_type_name() << ">";
  }
  return out.str();
}

// Calls `visit` for every field of every message (nested ones included) in our two files.
template <typename Visit>
void for_each_field(const Descriptor& message, Visit& visit) {
  for (int i = 0; i < message.field_count(); ++i)
    visit(*message.field(i));
  for (int i = 0; i < message.nested_type_count(); ++i)
    for_each_field(*message.nested_type(i), visit);
}

template <typename Visit>
void for_each_field_in_our_files(Visit visit) {
  for (const char* name : {"mesos/v1/mesos.proto", "mesos/v1/scheduler/scheduler.proto"}) {
    const FileDescriptor* file = pool().FindFileByName(name);
    REQUIRE(file != nullptr);
    for (int i = 0; i < file->message_type_count(); ++i)
      for_each_field(*file->message_type(i), visit);
  }
}

// Checks `actual` against `expected` entry by entry, so a failure names the field at fault.
void check_same(const std::map<std::string, std::string>& actual,
                const std::map<std::string, std::string>& expected) {
  for (const auto& [field, value] : expected) {
    INFO(field << ": expected " << value);
    const auto found = actual.find(field);
    CHECK(found != actual.end());
    if (found != actual.end()) CHECK(found->second == value);
  }
  for (const auto& [field, value] : actual) {
    INFO(field << " = " << value << " is not in the expected table");
    CHECK(expected.count(field) == 1);
  }
}

}  // namespace

TEST_CASE("proto files are proto2 in the Mesos packages", "[proto]") {
  const FileDescriptor* mesos = pool().FindFileByName("mesos/v1/mesos.proto");
  const FileDescriptor* scheduler = pool().FindFileByName("mesos/v1/scheduler/scheduler.proto");
  REQUIRE(mesos != nullptr);
  REQUIRE(scheduler != nullptr);
  CHECK(mesos->package() == "mesos.v1");
  CHECK(scheduler->package() == "mesos.v1.scheduler");
  CHECK(mesos->syntax() == FileDescriptor::SYNTAX_PROTO2);
  CHECK(scheduler->syntax() == FileDescriptor::SYNTAX_PROTO2);
}

TEST_CASE("field numbers, labels and types match Mesos", "[proto]") {
  for (const FieldRow& row : kFields) {
    INFO(row.message << "." << row.field << " (expected #" << row.number << ")");
    CHECK(check_field(pool(), row) == "");
  }
}

TEST_CASE("tabled messages have no fields beyond the table", "[proto]") {
  std::map<std::string, int> rows_per_message;
  for (const FieldRow& row : kFields)
    ++rows_per_message[row.message];

  for (const auto& [name, rows] : rows_per_message) {
    INFO(name);
    const Descriptor* message = pool().FindMessageTypeByName(name);
    REQUIRE(message != nullptr);
    CHECK(message->field_count() == rows);
  }
}

TEST_CASE("map fields are maps", "[proto]") {
  for (const char* name : {"mesos.v1.FrameworkInfo.offer_filters", "mesos.v1.TaskInfo.limits",
                           "mesos.v1.OfferFilters.ResourceQuantities.quantities",
                           "mesos.v1.scheduler.OfferConstraints.role_constraints",
                           "mesos.v1.Volume.Source.CSIVolume.StaticProvisioning.volume_context"}) {
    INFO(name);
    const FieldDescriptor* field = pool().FindFieldByName(name);
    REQUIRE(field != nullptr);
    CHECK(field->is_map());
  }
}

TEST_CASE("oneofs match Mesos", "[proto]") {
  std::map<std::string, std::string> actual;
  for_each_field_in_our_files([&](const FieldDescriptor& field) {
    if (field.containing_oneof() != nullptr) {
      actual[field.full_name()] = field.containing_oneof()->name();
    }
  });
  check_same(actual, kOneofs);
}

TEST_CASE("enum values match Mesos, complete and in order", "[proto]") {
  for (const EnumRow& row : kEnums) {
    INFO(row.enum_name);
    const EnumDescriptor* descriptor = pool().FindEnumTypeByName(row.enum_name);
    REQUIRE(descriptor != nullptr);
    CHECK(descriptor->value_count() == static_cast<int>(row.values.size()));
    for (int i = 0; i < descriptor->value_count() && i < static_cast<int>(row.values.size()); ++i) {
      const auto& [name, number] = row.values[static_cast<std::size_t>(i)];
      INFO("value #" << i << ": expected " << name << " = " << number);
      CHECK(descriptor->value(i)->name() == name);
      CHECK(descriptor->value(i)->number() == number);
    }
  }
}

TEST_CASE("explicit defaults match Mesos", "[proto]") {
  std::map<std::string, std::string> actual;
  for_each_field_in_our_files([&](const FieldDescriptor& field) {
    if (field.has_default_value()) actual[field.full_name()] = render_default(field);
  });
  check_same(actual, kDefaults);

  // The defaults the JSON encoder and the apps rely on most, spelled out.
  CHECK(mesos::v1::FrameworkInfo().failover_timeout() == 0.0);
  CHECK(mesos::v1::Filters().refuse_seconds() == 5.0);
  CHECK(mesos::v1::CommandInfo().shell());
  CHECK(mesos::v1::CommandInfo::URI().extract());
  // Resource.role is "*" and deprecated (read through the descriptor: the accessor is deprecated).
  const FieldDescriptor* resource_role = pool().FindFieldByName("mesos.v1.Resource.role");
  REQUIRE(resource_role != nullptr);
  CHECK(resource_role->default_value_string() == "*");
  CHECK(resource_role->options().deprecated());
  CHECK(mesos::v1::HealthCheck().delay_seconds() == 15.0);
  CHECK(mesos::v1::HealthCheck().interval_seconds() == 10.0);
  CHECK(mesos::v1::HealthCheck().timeout_seconds() == 20.0);
  CHECK(mesos::v1::HealthCheck().consecutive_failures() == 3u);
  CHECK(mesos::v1::HealthCheck().grace_period_seconds() == 10.0);
  CHECK(mesos::v1::MasterInfo().port() == 5050u);
  CHECK(mesos::v1::ContainerInfo::DockerInfo().network() ==
        mesos::v1::ContainerInfo::DockerInfo::HOST);
  // proto2 enum fields without an explicit default take the first declared value.
  CHECK(mesos::v1::TaskStatus().state() == mesos::v1::TASK_STAGING);
}

TEST_CASE("deprecated markers match Mesos", "[proto]") {
  std::map<std::string, std::string> actual;
  for_each_field_in_our_files([&](const FieldDescriptor& field) {
    if (field.options().deprecated()) actual[field.full_name()] = "deprecated";
  });
  std::map<std::string, std::string> expected;
  for (const std::string& field : kDeprecated)
    expected[field] = "deprecated";
  check_same(actual, expected);
}

TEST_CASE("the field check detects wrong rows", "[proto]") {
  const DescriptorPool& descriptors = pool();
  CHECK(check_field(descriptors,
                    {"mesos.v1.TaskInfo", "resources", 4, REP, MSG, "mesos.v1.Resource"}) == "");
  CHECK(check_field(descriptors,
                    {"mesos.v1.TaskInfo", "resources", 5, REP, MSG, "mesos.v1.Resource"}) != "");
  CHECK(check_field(descriptors,
                    {"mesos.v1.TaskInfo", "resources", 4, OPT, MSG, "mesos.v1.Resource"}) != "");
  CHECK(check_field(descriptors,
                    {"mesos.v1.TaskInfo", "resources", 4, REP, ENUM, "mesos.v1.Resource"}) != "");
  CHECK(check_field(descriptors,
                    {"mesos.v1.TaskInfo", "resources", 4, REP, MSG, "mesos.v1.Attribute"}) != "");
  CHECK(check_field(descriptors, {"mesos.v1.TaskInfo", "no_such_field", 4, REP, MSG, ""}) != "");
}
