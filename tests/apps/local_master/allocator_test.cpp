// The allocator: offer rounds, decline filters, suppression, ACCEPT's offer validation, DRF.
#include <catch2/catch.hpp>

#include "allocator.hpp"

namespace {

using namespace heatblast::local_master;
using heatblast::Resources;
using std::chrono::seconds;

Resources resources(const char* text) {
  auto parsed = heatblast::parse_resources(text);
  REQUIRE(parsed);
  return *parsed;
}

mesos::v1::AgentID agent_id(const std::string& value) {
  mesos::v1::AgentID id;
  id.set_value(value);
  return id;
}

google::protobuf::RepeatedPtrField<mesos::v1::OfferID> ids(
    std::initializer_list<std::string> values) {
  google::protobuf::RepeatedPtrField<mesos::v1::OfferID> out;
  for (const auto& value : values)
    out.Add()->set_value(value);
  return out;
}

FrameworkAllocation active(std::vector<std::string> roles = {"*"}) {
  FrameworkAllocation allocation;
  allocation.roles = std::move(roles);
  allocation.active = true;
  return allocation;
}

mesos::v1::Filters refuse(double seconds) {
  mesos::v1::Filters filters;
  filters.set_refuse_seconds(seconds);
  return filters;
}

const TimePoint kStart = TimePoint(std::chrono::hours(1000));

}  // namespace

TEST_CASE("Allocator: one offer per agent, nothing offered twice") {
  Allocator allocator({"m", seconds(5), std::nullopt});
  allocator.add_agent(agent_id("a1"), {"h1", resources("cpus:2;mem:256"), {}});
  allocator.add_agent(agent_id("a2"), {"h2", resources("cpus:1;mem:128"), {}});
  allocator.set_framework("f", active());
  auto offers = allocator.allocate(kStart);
  REQUIRE(offers["f"].size() == 2);
  CHECK(offers["f"][0].id().value() == "m-O1");
  CHECK(offers["f"][0].hostname() == "h1");
  CHECK(allocator.allocate(kStart).empty());
  CHECK(allocator.find_agent("a1")->available().empty());
}

TEST_CASE("Allocator: ACCEPT takes offers, returns what is unused under a filter") {
  Allocator allocator({"m", seconds(5), std::nullopt});
  allocator.add_agent(agent_id("a1"), {"h1", resources("cpus:4;mem:1024"), {}});
  allocator.set_framework("f", active());
  auto offers = allocator.allocate(kStart)["f"];
  const std::string id = offers[0].id().value();

  CHECK(allocator.take_offers("f", ids({})).error().message == "No offers specified");
  CHECK(allocator.take_offers("other", ids({id})).error().message ==
        "Offer " + id + " is no longer valid");
  CHECK_THAT(allocator.take_offers("f", ids({id, id})).error().message,
             Catch::Contains("Duplicate offer"));

  auto taken = allocator.take_offers("f", ids({id}));
  REQUIRE(taken);
  CHECK(taken->agent_id == "a1");
  CHECK(taken->role == "*");
  CHECK_FALSE(allocator.take_offers("f", ids({id})));

  const Resources task = resources("cpus:1;mem:256").allocated("*");
  allocator.use("f", "a1", task);
  allocator.return_unused("f", "a1", "*", taken->resources - task, refuse(10), kStart);
  CHECK(allocator.find_agent("a1")->used == resources("cpus:1;mem:256"));
  CHECK(allocator.find_agent("a1")->offered.empty());
  // The rest is filtered for 10 s.
  CHECK(allocator.allocate(kStart + seconds(9)).empty());
  auto later = allocator.allocate(kStart + seconds(10))["f"];
  REQUIRE(later.size() == 1);
  auto offered = heatblast::offer_resources(later[0]);
  CHECK(offered->scalar("cpus") == 3);

  allocator.release("f", "a1", task);
  CHECK(allocator.find_agent("a1")->used.empty());
}

TEST_CASE("Allocator: filters apply to subsets of what was declined, REVIVE clears them") {
  Allocator allocator({"m", seconds(5), std::nullopt});
  allocator.add_agent(agent_id("a1"), {"h1", resources("cpus:4;mem:1024"), {}});
  allocator.set_framework("f", active());
  auto offers = allocator.allocate(kStart)["f"];
  allocator.decline("f", ids({offers[0].id().value()}), refuse(3600), kStart);
  CHECK(allocator.filter_count() == 1);
  CHECK(allocator.allocate(kStart + seconds(60)).empty());
  allocator.revive("f", {});
  CHECK(allocator.filter_count() == 0);
  CHECK(allocator.allocate(kStart + seconds(60)).size() == 1);

  SECTION("refuse_seconds 0 sets no filter, negative means the default") {
    auto again = allocator.offers().begin()->first;
    allocator.decline("f", ids({again}), refuse(0), kStart);
    CHECK(allocator.filter_count() == 0);
    auto next = allocator.allocate(kStart)["f"];
    REQUIRE(next.size() == 1);
    allocator.decline("f", ids({next[0].id().value()}), refuse(-1), kStart);
    CHECK(allocator.allocate(kStart + seconds(4)).empty());
    CHECK(allocator.next_deadline() == kStart + seconds(5));
    CHECK(allocator.allocate(kStart + seconds(5)).size() == 1);
  }
}

TEST_CASE("Allocator: next_deadline is the earliest filter, expire drops the due ones") {
  Allocator allocator({"m", seconds(5), std::nullopt});
  for (const char* agent : {"a1", "a2", "a3"})
    allocator.add_agent(agent_id(agent), {agent, resources("cpus:4;mem:1024"), {}});
  allocator.set_framework("f", active());
  allocator.set_framework("g", active());
  auto offers = allocator.allocate(kStart);
  REQUIRE(offers["f"].size() + offers["g"].size() == 3);
  CHECK_FALSE(allocator.next_deadline());
  // Declined under filters of 30 s, 10 s and 20 s, whichever framework got each agent.
  const double refuse_seconds[] = {30, 10, 20};
  std::size_t n = 0;
  for (const auto& [framework, list] : offers) {
    for (const auto& offer : list)
      allocator.decline(framework, ids({offer.id().value()}), refuse(refuse_seconds[n++]), kStart);
  }
  CHECK(allocator.filter_count() == 3);
  CHECK(allocator.next_deadline() == kStart + seconds(10));

  CHECK(allocator.expire(kStart + seconds(9)).empty());
  CHECK(allocator.filter_count() == 3);
  allocator.expire(kStart + seconds(10));
  CHECK(allocator.filter_count() == 2);
  CHECK(allocator.next_deadline() == kStart + seconds(20));

  SECTION("removing a framework drops its filters from the deadlines") {
    allocator.remove_framework("f");
    allocator.remove_framework("g");
    CHECK(allocator.filter_count() == 0);
    CHECK_FALSE(allocator.next_deadline());
  }
  SECTION("REVIVE drops the framework's filters from the deadlines") {
    allocator.revive("f", {});
    allocator.revive("g", {});
    CHECK(allocator.filter_count() == 0);
    CHECK_FALSE(allocator.next_deadline());
  }
  SECTION("the rest expire in order") {
    allocator.expire(kStart + seconds(25));
    CHECK(allocator.filter_count() == 1);
    CHECK(allocator.next_deadline() == kStart + seconds(30));
    allocator.expire(kStart + seconds(30));
    CHECK(allocator.filter_count() == 0);
    CHECK_FALSE(allocator.next_deadline());
  }
}

TEST_CASE("Allocator: an agent found full is offered again once resources come back") {
  Allocator allocator({"m", seconds(5), std::nullopt});
  allocator.add_agent(agent_id("a1"), {"h1", resources("cpus:2;mem:256"), {}});
  allocator.add_agent(agent_id("a2"), {"h2", resources("cpus:2;mem:256"), {}});
  allocator.set_framework("f", active());
  auto offers = allocator.allocate(kStart)["f"];
  REQUIRE(offers.size() == 2);
  // a1 all used by a task, a2's offer still outstanding: rounds find both full.
  auto taken = allocator.take_offers("f", ids({offers[0].id().value()}));
  REQUIRE(taken);
  allocator.use("f", "a1", taken->resources);
  CHECK(allocator.allocate(kStart + seconds(1)).empty());
  CHECK(allocator.allocate(kStart + seconds(2)).empty());

  SECTION("the task ends") {
    allocator.release("f", "a1", taken->resources);
    auto again = allocator.allocate(kStart + seconds(3))["f"];
    REQUIRE(again.size() == 1);
    CHECK(again[0].hostname() == "h1");
  }
  SECTION("the offer is declined without a filter") {
    allocator.decline("f", ids({offers[1].id().value()}), refuse(0), kStart + seconds(3));
    auto again = allocator.allocate(kStart + seconds(3))["f"];
    REQUIRE(again.size() == 1);
    CHECK(again[0].hostname() == "h2");
  }
}

TEST_CASE("Allocator: suppressed roles get nothing, reserved resources go to their role") {
  Allocator allocator({"m", seconds(5), std::nullopt});
  allocator.add_agent(agent_id("a1"),
                      {"h1", resources("cpus:2;mem:256;cpus(web):1;mem(web):64"), {}});
  FrameworkAllocation web = active({"web"});
  web.multi_role = true;
  web.suppressed_roles = {"web"};
  allocator.set_framework("w", web);
  CHECK(allocator.allocate(kStart).empty());
  allocator.revive("w", {"web"});
  auto offers = allocator.allocate(kStart)["w"];
  REQUIRE(offers.size() == 1);
  CHECK(offers[0].allocation_info().role() == "web");
  auto offered = heatblast::offer_resources(offers[0]);
  CHECK(offered->scalar("cpus") == 3);

  Allocator other({"m", seconds(5), std::nullopt});
  other.add_agent(agent_id("a1"), {"h1", resources("cpus:2;mem:256;cpus(web):1;mem(web):64"), {}});
  other.set_framework("star", active());
  auto star = other.allocate(kStart)["star"];
  REQUIRE(star.size() == 1);
  CHECK(heatblast::offer_resources(star[0])->scalar("cpus") == 2);
  CHECK_FALSE(star[0].has_allocation_info());
}

TEST_CASE("Allocator: offers of several agents cannot be aggregated") {
  Allocator allocator({"m", seconds(5), std::nullopt});
  allocator.add_agent(agent_id("a1"), {"h1", resources("cpus:1;mem:64"), {}});
  allocator.add_agent(agent_id("a2"), {"h2", resources("cpus:1;mem:64"), {}});
  allocator.set_framework("f", active());
  auto offers = allocator.allocate(kStart)["f"];
  REQUIRE(offers.size() == 2);
  auto taken = allocator.take_offers("f", ids({offers[0].id().value(), offers[1].id().value()}));
  REQUIRE_FALSE(taken);
  CHECK_THAT(taken.error().message, Catch::Contains("one single agent"));
  CHECK(allocator.offers().size() == 2);  // nothing removed on error
}

TEST_CASE("Allocator: tiny leftovers are not offered, deactivated frameworks lose offers") {
  Allocator allocator({"m", seconds(5), std::nullopt});
  allocator.add_agent(agent_id("a1"), {"h1", resources("cpus:0.005;mem:16;disk:100"), {}});
  allocator.set_framework("f", active());
  CHECK(allocator.allocate(kStart).empty());

  Allocator second({"m", seconds(5), std::nullopt});
  second.add_agent(agent_id("a1"), {"h1", resources("cpus:1;mem:64"), {}});
  second.set_framework("f", active());
  REQUIRE(second.allocate(kStart).size() == 1);
  auto removed = second.deactivate_framework("f");
  CHECK(removed.size() == 1);
  CHECK(second.offers().empty());
  CHECK(second.find_agent("a1")->offered.empty());
  CHECK(second.allocate(kStart).empty());
}

TEST_CASE("Allocator: frameworks take turns by dominant share") {
  Allocator allocator({"m", seconds(5), std::nullopt});
  for (int i = 0; i < 4; ++i) {
    allocator.add_agent(agent_id("a" + std::to_string(i)), {"h", resources("cpus:1;mem:64"), {}});
  }
  allocator.set_framework("f1", active());
  allocator.set_framework("f2", active());
  auto offers = allocator.allocate(kStart);
  CHECK(offers["f1"].size() == 2);
  CHECK(offers["f2"].size() == 2);
}

TEST_CASE("Allocator: offer order is lowest dominant share, then fewest offers, then id") {
  Allocator allocator({"m", seconds(5), std::nullopt});
  allocator.add_agent(agent_id("a1"), {"h", resources("cpus:4;mem:8192"), {}});
  for (const char* id : {"fa", "fb", "fc"})
    allocator.set_framework(id, active());
  // fa holds a quarter of the cpus, fb a quarter of the memory: equal dominant shares.
  allocator.restore_use("fa", "a1", resources("cpus:1;mem:512"));
  allocator.restore_use("fb", "a1", resources("cpus:0.25;mem:2048"));
  CHECK(allocator.dominant_share("fa") == Approx(0.25));
  CHECK(allocator.dominant_share("fb") == Approx(0.25));
  CHECK(allocator.dominant_share("fc") == 0);
  CHECK(allocator.offer_order() == std::vector<std::string>{"fc", "fa", "fb"});

  // The round offers everything free to the lowest share; the others get nothing of it.
  auto offers = allocator.allocate(kStart);
  REQUIRE(offers.size() == 1);
  REQUIRE(offers["fc"].size() == 1);
  const std::string offer = offers["fc"][0].id().value();
  CHECK(allocator.dominant_share("fc") == Approx(2.75 / 4));
  CHECK(allocator.offer_order() == std::vector<std::string>{"fa", "fb", "fc"});

  // Declined without a filter: fc is back at share 0, alone there.
  allocator.decline("fc", ids({offer}), refuse(0), kStart);
  CHECK(allocator.offer_order() == std::vector<std::string>{"fc", "fa", "fb"});

  // All at share 0: fc has had an offer, fa and fb none, so they go first (by id).
  allocator.release("fa", "a1", resources("cpus:1;mem:512"));
  allocator.release("fb", "a1", resources("cpus:0.25;mem:2048"));
  CHECK(allocator.offer_order() == std::vector<std::string>{"fa", "fb", "fc"});
}

TEST_CASE("Allocator: inactive and removed frameworks are not in the offer order") {
  Allocator allocator({"m", seconds(5), std::nullopt});
  allocator.add_agent(agent_id("a1"), {"h", resources("cpus:4;mem:8192"), {}});
  allocator.set_framework("f1", active());
  allocator.set_framework("f2", active());
  allocator.deactivate_framework("f1");
  CHECK(allocator.offer_order() == std::vector<std::string>{"f2"});
  allocator.remove_framework("f2");
  CHECK(allocator.offer_order().empty());
}

// The drf-demo's behaviour against the allocator alone: each framework takes one task of the
// offer and gives the rest back without a filter, and declines (with a filter) an offer too
// small for its task. Two frameworks whose tasks are cpu-heavy and memory-heavy end with equal
// dominant shares, as in the DRF paper.
TEST_CASE("Allocator: DRF converges to equal dominant shares for long-running tasks") {
  Allocator allocator({"m", seconds(5), std::nullopt});
  allocator.add_agent(agent_id("a1"), {"h", resources("cpus:4;mem:8192"), {}});
  allocator.set_framework("fw-a", active());
  allocator.set_framework("fw-b", active());
  const std::map<std::string, Resources> task = {{"fw-a", resources("cpus:1;mem:512")},
                                                 {"fw-b", resources("cpus:0.25;mem:2048")}};
  std::map<std::string, int> launched;
  std::vector<std::string> sequence;
  TimePoint now = kStart;
  for (int round = 0; round < 20; ++round, now += seconds(1)) {
    allocator.expire(now);
    for (auto& [framework_id, offers] : allocator.allocate(now)) {
      for (const auto& offer : offers) {
        google::protobuf::RepeatedPtrField<mesos::v1::OfferID> one;
        *one.Add() = offer.id();
        auto offered = heatblast::offer_resources(offer);
        REQUIRE(offered);
        if (!offered->contains(task.at(framework_id))) {
          allocator.decline(framework_id, one, refuse(5), now);
          continue;
        }
        auto taken = allocator.take_offers(framework_id, one);
        REQUIRE(taken);
        allocator.use(framework_id, "a1", task.at(framework_id));
        allocator.return_unused(framework_id, "a1", "*", taken->resources - task.at(framework_id),
                                refuse(0), now);
        ++launched[framework_id];
        sequence.push_back(framework_id);
      }
    }
  }
  CHECK(launched["fw-a"] == 3);
  CHECK(launched["fw-b"] == 3);
  CHECK(allocator.dominant_share("fw-a") == Approx(0.75));
  CHECK(allocator.dominant_share("fw-b") == Approx(0.75));
  // They took turns: at equal shares the one offered less often (then the lower id) went first.
  CHECK(sequence == std::vector<std::string>{"fw-a", "fw-b", "fw-a", "fw-b", "fw-a", "fw-b"});
}

TEST_CASE("normalize_task_resources injects the allocation role") {
  auto normalized = normalize_task_resources(resources("cpus:1;mem:32").to_proto(), "web");
  REQUIRE(normalized);
  for (const auto& resource : *normalized)
    CHECK(resource.allocation_info().role() == "web");
}

TEST_CASE("Allocator: with an offer timeout, the oldest unanswered offer sets the deadline") {
  Allocator allocator({"m", seconds(5), seconds(30)});
  allocator.add_agent(agent_id("a1"), {"h1", resources("cpus:1;mem:128"), {}});
  allocator.add_agent(agent_id("a2"), {"h2", resources("cpus:1;mem:128"), {}});
  allocator.add_agent(agent_id("a3"), {"h3", resources("cpus:1;mem:128"), {}});
  allocator.set_framework("f", active());
  auto first = allocator.allocate(kStart)["f"];
  REQUIRE(first.size() == 3);
  CHECK(allocator.next_deadline() == kStart + seconds(30));

  // An accepted and a declined offer no longer count; the declined agent is offered again later.
  auto taken = allocator.take_offers("f", ids({first[0].id().value()}));
  REQUIRE(taken);
  allocator.decline("f", ids({first[1].id().value()}), refuse(10), kStart + seconds(1));
  CHECK(allocator.next_deadline() == kStart + seconds(11));  // the filter, before the offer
  CHECK(allocator.expire(kStart + seconds(12)).empty());     // drops the filter, no offer is due
  auto second = allocator.allocate(kStart + seconds(12))["f"];
  REQUIRE(second.size() == 1);
  CHECK(allocator.next_deadline() == kStart + seconds(30));  // first[2]

  CHECK(allocator.expire(kStart + seconds(29)).empty());
  auto expired = allocator.expire(kStart + seconds(30));
  REQUIRE(expired.size() == 1);
  CHECK(expired[0].offer.id().value() == first[2].id().value());
  CHECK(allocator.next_deadline() == kStart + seconds(42));  // second[0]
  CHECK(allocator.find_agent("a3")->offered.empty());

  expired = allocator.expire(kStart + seconds(42));
  REQUIRE(expired.size() == 1);
  CHECK(expired[0].offer.id().value() == second[0].id().value());
  CHECK_FALSE(allocator.next_deadline());
  CHECK(allocator.offers().empty());
}
