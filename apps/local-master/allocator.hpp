// The allocator of local-master: agents and their resources, outstanding offers, decline
// filters, suppressed roles, and the offer rounds. It knows frameworks only by id and by what
// FrameworkAllocation says; the Master tells it about every change. Pure state, no I/O.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <mesos/v1/mesos.pb.h>

#include "heatblast/error.hpp"
#include "heatblast/resources.hpp"
#include "time.hpp"

namespace heatblast::local_master {

// An agent as configured: its resources as the agent's `--resources` would give them.
struct AgentSpec {
  std::string hostname;
  Resources resources;
  std::vector<mesos::v1::Attribute> attributes;
};

// An agent at run time. All Resources here are without `allocation_info` and in the
// post-refinement format (as `parse_resources` gives them).
struct Agent {
  mesos::v1::AgentID id;
  std::string hostname;
  std::vector<mesos::v1::Attribute> attributes;
  Resources total;
  Resources used;     // by tasks and executors that have not ended
  Resources offered;  // in outstanding offers

  Resources available() const { return total - used - offered; }
};

// What the allocator needs to know of a framework.
struct FrameworkAllocation {
  std::vector<std::string> roles;
  std::set<std::string> suppressed_roles;
  bool active = false;  // subscribed: only active frameworks get offers
  bool multi_role = false;
  bool reservation_refinement = false;
};

struct OutstandingOffer {
  mesos::v1::Offer offer;  // as sent to the framework
  std::string framework_id;
  std::string agent_id;
  std::string role;
  Resources resources;  // post-refinement, with `allocation_info.role` = role
  TimePoint created;
};

// Offers taken by an ACCEPT: removed from the outstanding set, their resources still counted
// as offered on the agent until `return_unused` or `use` moves them.
struct AcceptedOffers {
  std::string agent_id;
  std::string role;
  Resources resources;  // post-refinement, allocated to `role`
};

struct AllocatorOptions {
  std::string offer_id_prefix;  // offers are "<prefix>-O<n>"
  Duration default_refuse = std::chrono::seconds(5);
  // Outstanding offers older than this are rescinded (Mesos `--offer_timeout`); none by default.
  std::optional<Duration> offer_timeout;
};

// Not thread-safe; the master's thread only.
class Allocator {
 public:
  explicit Allocator(AllocatorOptions options) : options_(std::move(options)) {}

  // Agents, in the order added (offer rounds visit them in this order).
  void add_agent(const mesos::v1::AgentID& id, AgentSpec spec);
  const Agent* find_agent(const std::string& id) const;
  const std::vector<Agent>& agents() const { return agents_; }

  // Adds or replaces a framework's allocation settings. Outstanding offers of a role the
  // framework no longer has are removed and returned (the Master rescinds them).
  std::vector<OutstandingOffer> set_framework(const std::string& framework_id,
                                              FrameworkAllocation allocation);
  // Forgets a framework: its offers are removed (returned), its filters dropped. Resources of
  // its tasks must be released with `release` by the caller.
  std::vector<OutstandingOffer> remove_framework(const std::string& framework_id);
  // Stops offering to a framework (it disconnected); its offers are removed and returned.
  std::vector<OutstandingOffer> deactivate_framework(const std::string& framework_id);
  const FrameworkAllocation* find_framework(const std::string& framework_id) const;

  // SUPPRESS: `roles` empty means all of the framework's roles.
  void suppress(const std::string& framework_id, const std::vector<std::string>& roles);
  // REVIVE: un-suppresses and clears the decline filters of `roles` (empty: all roles).
  void revive(const std::string& framework_id, const std::vector<std::string>& roles);

  // ACCEPT: validates and removes the offers. Errors (errc::invalid_argument), with the
  // messages of Mesos's offer validation: no offer, a duplicate, an unknown (or rescinded, or
  // another framework's) offer "Offer <id> is no longer valid", offers of several agents or
  // roles. On an error no offer is removed.
  Result<AcceptedOffers> take_offers(
      const std::string& framework_id,
      const google::protobuf::RepeatedPtrField<mesos::v1::OfferID>& ids);
  // The valid offers among `ids` go back to the pool, without a filter (what Mesos does with
  // the offers of an ACCEPT that failed validation).
  void recover_offers(const std::string& framework_id,
                      const google::protobuf::RepeatedPtrField<mesos::v1::OfferID>& ids);
  // DECLINE: each of the framework's offers among `ids` goes back, under a filter; unknown ids
  // are ignored.
  void decline(const std::string& framework_id,
               const google::protobuf::RepeatedPtrField<mesos::v1::OfferID>& ids,
               const mesos::v1::Filters& filters, TimePoint now);
  // What an ACCEPT did not use goes back under the ACCEPT's filters.
  void return_unused(const std::string& framework_id, const std::string& agent_id,
                     const std::string& role, const Resources& unused,
                     const mesos::v1::Filters& filters, TimePoint now);

  // Resources of an accepted offer now used by a task or executor: moved from "offered" to
  // "used" on the agent.
  void use(const std::string& framework_id, const std::string& agent_id,
           const Resources& resources);
  // Task or executor resources the agent no longer uses (the task ended, or its framework was
  // removed): back to the pool.
  void release(const std::string& framework_id, const std::string& agent_id,
               const Resources& resources);
  // Resources used by a task recovered from a checkpoint (never offered in this process).
  void restore_use(const std::string& framework_id, const std::string& agent_id,
                   const Resources& resources);

  // One offer round: for each agent with free resources, the active frameworks in
  // `offer_order()` (recomputed per agent), each role of the framework that is not suppressed
  // gets one offer with everything it may use that is not filtered, as long as it holds at
  // least 0.01 cpus or 32 MB of memory. The first framework that may take the agent's free
  // resources gets them all; the next one gets only what it left. Returns the new offers per
  // framework id.
  std::map<std::string, std::vector<mesos::v1::Offer>> allocate(TimePoint now);

  // The active frameworks in the order an offer round serves them, as Mesos's DRF sorter
  // orders its clients: lowest dominant share first (the largest fraction of the cluster's
  // cpus, mem, disk or gpus held in offers and tasks); equal shares by how many offers each
  // has been given so far (fewer first), then by framework id.
  std::vector<std::string> offer_order() const;
  // The framework's dominant share now (0 for an unknown one).
  double dominant_share(const std::string& framework_id) const;

  // Expired filters are dropped; offers older than the offer timeout are removed and returned
  // (the Master rescinds them).
  std::vector<OutstandingOffer> expire(TimePoint now);
  // The earliest filter expiry or offer timeout.
  std::optional<TimePoint> next_deadline() const;

  const std::map<std::string, OutstandingOffer>& offers() const { return offers_; }
  // The filters in force, for observability.
  std::size_t filter_count() const;

 private:
  struct DeclineFilter {
    std::string role;
    Resources resources;  // unallocated
    TimePoint expires;
  };
  using FilterKey = std::pair<std::string, std::string>;  // framework, agent

  Agent* agent_mut(const std::string& id);
  // Gives the offer's resources back to the agent and forgets the offer.
  void remove_offer(std::map<std::string, OutstandingOffer>::iterator it);
  // Forgets the offer (offers_ and offers_by_age_); its resources stay offered on the agent.
  void forget_offer(std::map<std::string, OutstandingOffer>::iterator it);
  std::vector<OutstandingOffer> remove_offers_if(
      const std::function<bool(const OutstandingOffer&)>& predicate);
  void add_filter(const std::string& framework_id, const std::string& agent_id,
                  const std::string& role, const Resources& resources,
                  const mesos::v1::Filters& filters, TimePoint now);
  // Drops `filter` (of `key`) from filter_expiries_.
  void unindex_filter(const FilterKey& key, const DeclineFilter& filter);
  bool filtered(const std::string& framework_id, const std::string& agent_id,
                const std::string& role, const Resources& candidate, TimePoint now) const;
  // The largest fraction of any of the cluster's scalar totals the framework holds.
  double dominant_share(const std::string& framework_id,
                        const std::map<std::string, double>& cluster) const;
  std::map<std::string, double> cluster_totals() const;
  std::vector<std::string> offer_order(const std::map<std::string, double>& cluster) const;
  mesos::v1::Offer make_offer(const std::string& framework_id, const FrameworkAllocation& fw,
                              const Agent& agent, const std::string& role,
                              const Resources& resources);

  AllocatorOptions options_;
  std::vector<Agent> agents_;
  // Per agent: false when a round found nothing available on it and its used and offered
  // resources have not changed since (every change goes through agent_mut). A round then skips
  // it: computing total - used - offered for 1,000 full agents per round was most of a round.
  std::vector<bool> may_have_available_;
  // The agents' totals summed per scalar, in agent order (as cluster_totals() did per round);
  // agents only come with add_agent.
  std::map<std::string, double> cluster_totals_;
  std::map<std::string, std::size_t> agent_index_;
  std::map<std::string, FrameworkAllocation> frameworks_;
  std::map<std::string, Resources> framework_allocated_;  // offered + used, unallocated form
  // Offers made to each framework so far: the DRF sorter's tie-breaker, so that frameworks of
  // equal share take turns.
  std::map<std::string, std::uint64_t> offers_made_;
  std::map<std::string, OutstandingOffer> offers_;
  // With an offer timeout: the outstanding offers by age, so that the deadline and the expired
  // offers are found without walking every offer after every call.
  std::set<std::pair<TimePoint, std::string>> offers_by_age_;
  std::map<FilterKey, std::vector<DeclineFilter>> filters_;
  // Every filter's expiry, with its key: the Master asks for the next deadline and expires
  // filters after every call, and walking all filters (one per agent that had leftovers) for it
  // was the largest part of a call's cost with 1,000 agents. Kept exact: one entry per filter.
  std::multimap<TimePoint, FilterKey> filter_expiries_;
  std::uint64_t next_offer_ = 1;
};

// The offer's view of `resources` for a framework: `allocation_info` only for MULTI_ROLE
// frameworks, the pre-refinement format unless it has RESERVATION_REFINEMENT.
Resources resources_for_framework(const Resources& allocated, const FrameworkAllocation& fw);

// `resources` with `allocation_info.role` = role; for role "*" without allocation_info (see
// the report: heatblast::Resources does not accept "*" as an allocation role).
Resources allocated_to(const Resources& resources, const std::string& role);

// What a framework sends in TaskInfo.resources, in the allocator's form: post-refinement, with
// `allocation_info.role` = role where the framework left it out (Mesos injects it too), none
// for role "*".
Result<Resources> normalize_task_resources(
    const google::protobuf::RepeatedPtrField<mesos::v1::Resource>& resources,
    const std::string& role);

}  // namespace heatblast::local_master
