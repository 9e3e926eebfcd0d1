#include "allocator.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace heatblast::local_master {
namespace {

// Mesos's smallest offer: at least this many cpus or this much memory (MIN_CPUS, MIN_MEM).
constexpr double kMinCpus = 0.01;
constexpr double kMinMem = 32;
// Filters.refuse_seconds is capped at one year.
constexpr double kMaxRefuseSeconds = 365.0 * 24 * 3600;

bool usable_by_role(const mesos::v1::Resource& resource, const std::string& role) {
  return !is_reserved(resource) || reservation_role(resource) == role;
}

}  // namespace

Resources allocated_to(const Resources& resources, const std::string& role) {
  // heatblast::Resources rejects "*" as an allocation role, so resources allocated to the
  // default role carry no allocation_info at all.
  return role == "*" ? resources.unallocated() : resources.allocated(role);
}

namespace {}  // namespace

Resources resources_for_framework(const Resources& allocated, const FrameworkAllocation& fw) {
  Resources view = fw.multi_role ? allocated : allocated.unallocated();
  if (!fw.reservation_refinement) {
    auto converted = view.converted(ResourceFormat::pre_refinement);
    if (converted) view = std::move(*converted);
  }
  return view;
}

Result<Resources> normalize_task_resources(
    const google::protobuf::RepeatedPtrField<mesos::v1::Resource>& resources,
    const std::string& role) {
  google::protobuf::RepeatedPtrField<mesos::v1::Resource> injected = resources;
  for (auto& resource : injected) {
    if (resource.has_allocation_info()) {
      if (resource.allocation_info().role() == "*") resource.clear_allocation_info();
    } else if (role != "*") {
      resource.mutable_allocation_info()->set_role(role);
    }
  }
  auto parsed = Resources::from_proto(injected);
  if (!parsed) return parsed;
  return parsed->converted(ResourceFormat::post_refinement);
}

void Allocator::add_agent(const mesos::v1::AgentID& id, AgentSpec spec) {
  Agent agent;
  agent.id = id;
  agent.hostname = std::move(spec.hostname);
  agent.attributes = std::move(spec.attributes);
  agent.total = spec.resources.unallocated();
  for (const char* name : {"cpus", "mem", "disk", "gpus"})
    cluster_totals_[name] += agent.total.scalar(name);
  agent_index_[id.value()] = agents_.size();
  agents_.push_back(std::move(agent));
  may_have_available_.push_back(true);
}

const Agent* Allocator::find_agent(const std::string& id) const {
  auto it = agent_index_.find(id);
  return it == agent_index_.end() ? nullptr : &agents_[it->second];
}

Agent* Allocator::agent_mut(const std::string& id) {
  auto it = agent_index_.find(id);
  if (it == agent_index_.end()) return nullptr;
  may_have_available_[it->second] = true;
  return &agents_[it->second];
}

void Allocator::remove_offer(std::map<std::string, OutstandingOffer>::iterator it) {
  const Resources unallocated = it->second.resources.unallocated();
  if (Agent* agent = agent_mut(it->second.agent_id)) agent->offered -= unallocated;
  framework_allocated_[it->second.framework_id] -= unallocated;
  forget_offer(it);
}

void Allocator::forget_offer(std::map<std::string, OutstandingOffer>::iterator it) {
  if (options_.offer_timeout) offers_by_age_.erase({it->second.created, it->first});
  offers_.erase(it);
}

std::vector<OutstandingOffer> Allocator::remove_offers_if(
    const std::function<bool(const OutstandingOffer&)>& predicate) {
  std::vector<OutstandingOffer> removed;
  for (auto it = offers_.begin(); it != offers_.end();) {
    if (predicate(it->second)) {
      removed.push_back(it->second);
      auto next = std::next(it);
      remove_offer(it);
      it = next;
    } else {
      ++it;
    }
  }
  return removed;
}

std::vector<OutstandingOffer> Allocator::set_framework(const std::string& framework_id,
                                                       FrameworkAllocation allocation) {
  std::set<std::string> roles(allocation.roles.begin(), allocation.roles.end());
  frameworks_[framework_id] = std::move(allocation);
  return remove_offers_if([&](const OutstandingOffer& offer) {
    return offer.framework_id == framework_id && !roles.contains(offer.role);
  });
}

std::vector<OutstandingOffer> Allocator::remove_framework(const std::string& framework_id) {
  auto removed = remove_offers_if(
      [&](const OutstandingOffer& offer) { return offer.framework_id == framework_id; });
  frameworks_.erase(framework_id);
  framework_allocated_.erase(framework_id);
  offers_made_.erase(framework_id);
  for (auto it = filters_.begin(); it != filters_.end();) {
    if (it->first.first != framework_id) {
      ++it;
      continue;
    }
    for (const auto& filter : it->second)
      unindex_filter(it->first, filter);
    it = filters_.erase(it);
  }
  return removed;
}

std::vector<OutstandingOffer> Allocator::deactivate_framework(const std::string& framework_id) {
  auto it = frameworks_.find(framework_id);
  if (it != frameworks_.end()) it->second.active = false;
  return remove_offers_if(
      [&](const OutstandingOffer& offer) { return offer.framework_id == framework_id; });
}

const FrameworkAllocation* Allocator::find_framework(const std::string& framework_id) const {
  auto it = frameworks_.find(framework_id);
  return it == frameworks_.end() ? nullptr : &it->second;
}

void Allocator::suppress(const std::string& framework_id, const std::vector<std::string>& roles) {
  auto it = frameworks_.find(framework_id);
  if (it == frameworks_.end()) return;
  const auto& which = roles.empty() ? it->second.roles : roles;
  for (const auto& role : which) {
    if (std::find(it->second.roles.begin(), it->second.roles.end(), role) !=
        it->second.roles.end()) {
      it->second.suppressed_roles.insert(role);
    }
  }
}

void Allocator::revive(const std::string& framework_id, const std::vector<std::string>& roles) {
  auto it = frameworks_.find(framework_id);
  if (it == frameworks_.end()) return;
  const auto& which = roles.empty() ? it->second.roles : roles;
  std::set<std::string> revived(which.begin(), which.end());
  for (const auto& role : revived)
    it->second.suppressed_roles.erase(role);
  for (auto& entry : filters_) {
    // Not a structured binding: clang before 16 cannot capture one in the lambda below.
    const auto& key = entry.first;
    if (key.first != framework_id) continue;
    std::erase_if(entry.second, [&](const DeclineFilter& filter) {
      if (!revived.contains(filter.role)) return false;
      unindex_filter(key, filter);
      return true;
    });
  }
}

Result<AcceptedOffers> Allocator::take_offers(
    const std::string& framework_id,
    const google::protobuf::RepeatedPtrField<mesos::v1::OfferID>& ids) {
  if (ids.empty()) return fail(errc::invalid_argument, "No offers specified");
  std::set<std::string> seen;
  const OutstandingOffer* first = nullptr;
  for (const auto& id : ids) {
    if (!seen.insert(id.value()).second) {
      return fail(errc::invalid_argument, fmt::format("Duplicate offer {} in accept", id.value()));
    }
    auto it = offers_.find(id.value());
    if (it == offers_.end() || it->second.framework_id != framework_id) {
      return fail(errc::invalid_argument, fmt::format("Offer {} is no longer valid", id.value()));
    }
    if (first == nullptr) {
      first = &it->second;
      continue;
    }
    if (it->second.agent_id != first->agent_id) {
      return fail(
          errc::invalid_argument,
          fmt::format("Aggregated offers must belong to one single agent. Offer {} uses "
                      "agent {} and offer {} uses agent {}",
                      id.value(), it->second.agent_id, first->offer.id().value(), first->agent_id));
    }
    if (it->second.role != first->role) {
      return fail(errc::invalid_argument,
                  fmt::format("Aggregated offers must be allocated to the same role. Offer {} "
                              "uses role {} and offer {} uses role {}",
                              id.value(), it->second.role, first->offer.id().value(), first->role));
    }
  }
  AcceptedOffers accepted;
  accepted.agent_id = first->agent_id;
  accepted.role = first->role;
  for (const auto& id : ids) {
    auto it = offers_.find(id.value());
    accepted.resources += it->second.resources;
    forget_offer(it);  // the resources stay "offered" on the agent until use/return_unused
  }
  return accepted;
}

void Allocator::recover_offers(const std::string& framework_id,
                               const google::protobuf::RepeatedPtrField<mesos::v1::OfferID>& ids) {
  for (const auto& id : ids) {
    auto it = offers_.find(id.value());
    if (it != offers_.end() && it->second.framework_id == framework_id) remove_offer(it);
  }
}

void Allocator::decline(const std::string& framework_id,
                        const google::protobuf::RepeatedPtrField<mesos::v1::OfferID>& ids,
                        const mesos::v1::Filters& filters, TimePoint now) {
  for (const auto& id : ids) {
    auto it = offers_.find(id.value());
    if (it == offers_.end() || it->second.framework_id != framework_id) continue;
    const OutstandingOffer offer = it->second;
    remove_offer(it);
    add_filter(framework_id, offer.agent_id, offer.role, offer.resources.unallocated(), filters,
               now);
  }
}

void Allocator::return_unused(const std::string& framework_id, const std::string& agent_id,
                              const std::string& role, const Resources& unused,
                              const mesos::v1::Filters& filters, TimePoint now) {
  const Resources unallocated = unused.unallocated();
  if (Agent* agent = agent_mut(agent_id)) agent->offered -= unallocated;
  framework_allocated_[framework_id] -= unallocated;
  if (!unallocated.empty()) add_filter(framework_id, agent_id, role, unallocated, filters, now);
}

void Allocator::use(const std::string&, const std::string& agent_id, const Resources& resources) {
  const Resources unallocated = resources.unallocated();
  if (Agent* agent = agent_mut(agent_id)) {
    agent->offered -= unallocated;
    agent->used += unallocated;
  }
}

void Allocator::release(const std::string& framework_id, const std::string& agent_id,
                        const Resources& resources) {
  const Resources unallocated = resources.unallocated();
  if (Agent* agent = agent_mut(agent_id)) agent->used -= unallocated;
  auto it = framework_allocated_.find(framework_id);
  if (it != framework_allocated_.end()) it->second -= unallocated;
}

void Allocator::restore_use(const std::string& framework_id, const std::string& agent_id,
                            const Resources& resources) {
  const Resources unallocated = resources.unallocated();
  if (Agent* agent = agent_mut(agent_id)) agent->used += unallocated;
  framework_allocated_[framework_id] += unallocated;
}

void Allocator::add_filter(const std::string& framework_id, const std::string& agent_id,
                           const std::string& role, const Resources& resources,
                           const mesos::v1::Filters& filters, TimePoint now) {
  // Negative (or NaN) means the default; 0 means no filter; at most a year.
  double seconds = filters.refuse_seconds();
  Duration refuse = options_.default_refuse;
  if (std::isfinite(seconds) && seconds >= 0) {
    seconds = std::min(seconds, kMaxRefuseSeconds);
    refuse = *duration_from_seconds(seconds);
  }
  if (refuse <= Duration::zero() || resources.empty()) return;
  FilterKey key{framework_id, agent_id};
  filters_[key].push_back(DeclineFilter{role, resources, now + refuse});
  filter_expiries_.emplace(now + refuse, std::move(key));
}

void Allocator::unindex_filter(const FilterKey& key, const DeclineFilter& filter) {
  auto [first, last] = filter_expiries_.equal_range(filter.expires);
  for (auto it = first; it != last; ++it) {
    if (it->second == key) {
      filter_expiries_.erase(it);
      return;
    }
  }
}

bool Allocator::filtered(const std::string& framework_id, const std::string& agent_id,
                         const std::string& role, const Resources& candidate, TimePoint now) const {
  auto it = filters_.find({framework_id, agent_id});
  if (it == filters_.end()) return false;
  return std::any_of(it->second.begin(), it->second.end(), [&](const DeclineFilter& filter) {
    return filter.role == role && filter.expires > now && filter.resources.contains(candidate);
  });
}

double Allocator::dominant_share(const std::string& framework_id,
                                 const std::map<std::string, double>& cluster) const {
  auto it = framework_allocated_.find(framework_id);
  if (it == framework_allocated_.end()) return 0;
  double share = 0;
  for (const auto& [name, total] : cluster) {
    if (total > 0) share = std::max(share, it->second.scalar(name) / total);
  }
  return share;
}

mesos::v1::Offer Allocator::make_offer(const std::string& framework_id,
                                       const FrameworkAllocation& fw, const Agent& agent,
                                       const std::string& role, const Resources& resources) {
  mesos::v1::Offer offer;
  offer.mutable_id()->set_value(fmt::format("{}-O{}", options_.offer_id_prefix, next_offer_++));
  offer.mutable_framework_id()->set_value(framework_id);
  *offer.mutable_agent_id() = agent.id;
  offer.set_hostname(agent.hostname);
  *offer.mutable_resources() = resources_for_framework(resources, fw).to_proto();
  for (const auto& attribute : agent.attributes)
    *offer.add_attributes() = attribute;
  if (fw.multi_role) {
    offer.mutable_allocation_info()->set_role(role);
    // Resources of role "*" carry no allocation_info here (see allocated_to), but a Mesos
    // master gives every resource of a MULTI_ROLE framework's offer its role.
    for (auto& resource : *offer.mutable_resources()) {
      if (!resource.has_allocation_info()) resource.mutable_allocation_info()->set_role(role);
    }
  }
  return offer;
}

std::map<std::string, double> Allocator::cluster_totals() const {
  return cluster_totals_;
}

double Allocator::dominant_share(const std::string& framework_id) const {
  return dominant_share(framework_id, cluster_totals());
}

std::vector<std::string> Allocator::offer_order() const {
  return offer_order(cluster_totals());
}

std::vector<std::string> Allocator::offer_order(
    const std::map<std::string, double>& cluster) const {
  struct Entry {
    double share;
    std::uint64_t offers;
    std::string id;
  };
  std::vector<Entry> entries;
  for (const auto& [id, fw] : frameworks_) {
    if (!fw.active) continue;
    auto made = offers_made_.find(id);
    entries.push_back(
        {dominant_share(id, cluster), made == offers_made_.end() ? 0 : made->second, id});
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    if (a.share != b.share) return a.share < b.share;
    if (a.offers != b.offers) return a.offers < b.offers;
    return a.id < b.id;
  });
  std::vector<std::string> order;
  for (auto& entry : entries)
    order.push_back(std::move(entry.id));
  return order;
}

std::map<std::string, std::vector<mesos::v1::Offer>> Allocator::allocate(TimePoint now) {
  std::map<std::string, std::vector<mesos::v1::Offer>> result;
  // The agents' totals do not change in a round; summing them per agent made a round
  // O(agents^2) (most of local-master's CPU with 1,000 agents).
  const auto& cluster = cluster_totals_;
  for (std::size_t index = 0; index < agents_.size(); ++index) {
    Agent& agent = agents_[index];
    if (!may_have_available_[index]) continue;
    Resources available = agent.available();
    if (available.empty()) {
      may_have_available_[index] = false;
      continue;
    }
    // Shares change as this round hands out resources, so the order is computed per agent.
    const std::vector<std::string> order = offer_order(cluster);
    if (order.empty()) break;
    for (const auto& framework_id : order) {
      const FrameworkAllocation& fw = frameworks_.at(framework_id);
      for (const auto& role : fw.roles) {
        if (fw.suppressed_roles.contains(role)) continue;
        Resources candidate = available.filter([&role](const mesos::v1::Resource& resource) {
          return usable_by_role(resource, role);
        });
        if (candidate.scalar("cpus") < kMinCpus && candidate.scalar("mem") < kMinMem) continue;
        if (filtered(framework_id, agent.id.value(), role, candidate, now)) continue;
        const Resources allocated = allocated_to(candidate, role);
        mesos::v1::Offer offer = make_offer(framework_id, fw, agent, role, allocated);
        OutstandingOffer outstanding{offer, framework_id, agent.id.value(), role, allocated, now};
        if (options_.offer_timeout) offers_by_age_.emplace(now, offer.id().value());
        offers_.emplace(offer.id().value(), std::move(outstanding));
        agent.offered += candidate;
        framework_allocated_[framework_id] += candidate;
        ++offers_made_[framework_id];
        available -= candidate;
        result[framework_id].push_back(std::move(offer));
        if (available.empty()) break;
      }
      if (available.empty()) break;
    }
  }
  return result;
}

std::vector<OutstandingOffer> Allocator::expire(TimePoint now) {
  // Only the keys with a filter due: their entries leave the index here, the filters below.
  std::set<FilterKey> due;
  while (!filter_expiries_.empty() && filter_expiries_.begin()->first <= now) {
    due.insert(std::move(filter_expiries_.begin()->second));
    filter_expiries_.erase(filter_expiries_.begin());
  }
  for (const auto& key : due) {
    auto it = filters_.find(key);
    if (it == filters_.end()) continue;
    std::erase_if(it->second, [now](const DeclineFilter& filter) { return filter.expires <= now; });
    if (it->second.empty()) filters_.erase(it);
  }
  std::vector<OutstandingOffer> removed;
  if (!options_.offer_timeout) return removed;
  while (!offers_by_age_.empty() &&
         offers_by_age_.begin()->first + *options_.offer_timeout <= now) {
    auto it = offers_.find(offers_by_age_.begin()->second);
    removed.push_back(it->second);
    remove_offer(it);  // and its entry in offers_by_age_
  }
  return removed;
}

std::optional<TimePoint> Allocator::next_deadline() const {
  std::optional<TimePoint> deadline;
  if (!filter_expiries_.empty()) deadline = filter_expiries_.begin()->first;
  if (options_.offer_timeout && !offers_by_age_.empty()) {
    deadline = earliest(deadline, offers_by_age_.begin()->first + *options_.offer_timeout);
  }
  return deadline;
}

std::size_t Allocator::filter_count() const {
  return filter_expiries_.size();
}

}  // namespace heatblast::local_master
