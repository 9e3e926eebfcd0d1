// Property tests over many random Resources, with a fixed seed so a failure reproduces.
#include <cmath>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "heatblast/resources.hpp"
#include "helpers.hpp"

using heatblast::errc;
using heatblast::Range;
using heatblast::ResourceFormat;
using heatblast::ResourceNeed;
using heatblast::Resources;
using namespace hbtest;

namespace {

constexpr std::uint64_t kSeed = 0x5eed'2024;
constexpr int kRounds = 400;

using Rng = std::mt19937_64;

std::uint64_t pick(Rng& rng, std::uint64_t low, std::uint64_t high) {
  return std::uniform_int_distribution<std::uint64_t>(low, high)(rng);
}

bool chance(Rng& rng, int percent) {
  return pick(rng, 0, 99) < static_cast<std::uint64_t>(percent);
}

std::int64_t millis(double value) {
  return std::llround(value * 1000);
}

// Few identities, so that random resources often share one and have to merge.
Resource with_identity(Rng& rng, Resource r, bool plain) {
  switch (pick(rng, 0, plain ? 1 : 5)) {
    case 1:
      r = static_to(r, "web");
      break;
    case 2:
      r = dynamic_to(r, "web");
      break;
    case 3:
      r = old_role(r, "db");
      break;
    case 4:
      r = old_dynamic(r, "db");
      break;
    case 5:
      r = dynamic_to(static_to(r, "eng"), "eng/web");
      break;
    default:
      break;
  }
  if (!plain) {
    if (chance(rng, 20)) r = allocated(r, chance(rng, 50) ? "web" : "db");
    if (chance(rng, 15)) r = revocable(r);
  }
  return r;
}

Resource random_resource(Rng& rng, bool plain) {
  switch (pick(rng, 0, plain ? 3 : 4)) {
    case 0:
    case 1: {
      // Some values with more than 3 decimals, so rounding on entry is exercised too.
      const double value = chance(rng, 80) ? static_cast<double>(pick(rng, 0, 20000)) / 1000.0
                                           : static_cast<double>(pick(rng, 0, 200)) * 0.1 + 1e-5;
      return with_identity(rng, scalar(chance(rng, 50) ? "cpus" : "mem", value), plain);
    }
    case 2: {
      Resource r = ranges("ports", {});
      for (std::uint64_t n = pick(rng, 1, 3); n > 0; --n) {
        const std::uint64_t begin = pick(rng, 0, 200);
        auto* range = r.mutable_ranges()->add_range();
        range->set_begin(begin);
        range->set_end(begin + pick(rng, 0, 30));
      }
      return with_identity(rng, r, plain);
    }
    case 3: {
      Resource r = set("zones", {});
      for (std::uint64_t n = pick(rng, 1, 4); n > 0; --n) {
        r.mutable_set()->add_item("z" + std::to_string(pick(rng, 0, 7)));
      }
      return with_identity(rng, r, plain);
    }
    default: {
      Resource r =
          volume(static_to(scalar("disk", static_cast<double>(pick(rng, 1, 3) * 10)), "web"),
                 "v" + std::to_string(pick(rng, 0, 1)));
      return chance(rng, 50) ? shared(r) : r;
    }
  }
}

Resources random_resources(Rng& rng, bool plain = false) {
  std::vector<Resource> list;
  for (std::uint64_t n = pick(rng, 0, 8); n > 0; --n)
    list.push_back(random_resource(rng, plain));
  return make(list);
}

bool indivisible(const Resource& r) {
  return r.has_shared() || (r.has_disk() && r.disk().has_persistence());
}

std::uint64_t count(const std::vector<Range>& ranges) {
  std::uint64_t total = 0;
  for (const Range& range : ranges)
    total += range.end - range.begin + 1;
  return total;
}

bool inside(const std::vector<Range>& ranges, std::uint64_t port) {
  for (const Range& range : ranges) {
    if (range.begin <= port && port <= range.end) return true;
  }
  return false;
}

// What a master would offer: no port held by two entries. (Random entries overlap, and a port
// offered twice could go to two tasks packed into one offer.)
Resources without_shared_ports(const Resources& offer) {
  Resources seen;
  std::vector<Resource> out;
  for (Resource r : offer) {
    if (r.name() == "ports") {
      Resource plain = ranges("ports", {});
      *plain.mutable_ranges() = r.ranges();
      const Resources mine = make({plain}) - seen;
      seen += make({plain});
      if (mine.empty()) continue;
      *r.mutable_ranges() = mine.begin()->ranges();
    }
    out.push_back(r);
  }
  return make(out);
}

}  // namespace

TEST_CASE("properties of +, -, contains and ==", "[resources][properties]") {
  Rng rng(kSeed);
  for (int round = 0; round < kRounds; ++round) {
    const Resources a = random_resources(rng);
    const Resources b = random_resources(rng);
    INFO("round " << round << "\n a = " << a << "\n b = " << b);

    CHECK(a + b == b + a);
    CHECK((a + b).contains(a));
    CHECK((a + b).contains(b));
    CHECK(a.contains(a));
    CHECK(a == a);
    CHECK(a + Resources{} == a);
    CHECK((a - a).empty());
    CHECK(a.contains(a - b));
    CHECK(((a - b) + b).contains(a));
    CHECK((a + b) + a == a + (b + a));

    // Ranges and sets add as unions, so the inverse law needs b disjoint from a in them.
    const Resources disjoint =
        b - a.filter([](const Resource& r) { return r.type() != Value::SCALAR; });
    INFO(" b without a's ranges and sets = " << disjoint);
    CHECK((a + disjoint) - disjoint == a);

    for (const char* name : {"cpus", "mem", "disk"}) {
      CHECK(millis((a + b).scalar(name)) == millis(a.scalar(name)) + millis(b.scalar(name)));
      CHECK(millis((a + b).scalar(name) - b.scalar(name)) == millis(a.scalar(name)));
    }

    const auto checked = a.subtract(b);
    CHECK(checked.has_value() == a.contains(b));
    if (checked) {
      CHECK(*checked == a - b);
    } else {
      CHECK(checked.error().code == errc::insufficient_resources);
    }

    for (const Resource& r : a) {
      CHECK(heatblast::validate(r).has_value());
      if (r.type() == Value::SCALAR)
        CHECK(r.scalar().value() == millis(r.scalar().value()) / 1000.0);
    }
    auto back = Resources::from_proto(a.to_proto());
    REQUIRE(back.has_value());
    CHECK(*back == a);
    CHECK(back->size() == a.size());
  }
}

TEST_CASE("properties of formats and text", "[resources][properties]") {
  Rng rng(kSeed + 1);
  for (int round = 0; round < kRounds; ++round) {
    const Resources plain = random_resources(rng, true);
    INFO("round " << round << "\n plain = " << plain);
    auto reparsed = heatblast::parse_resources(heatblast::to_string(plain));
    REQUIRE(reparsed.has_value());
    CHECK(*reparsed == plain);

    const Resources any = random_resources(rng);
    INFO(" any = " << any);
    auto post = any.converted(ResourceFormat::post_refinement);
    REQUIRE(post.has_value());
    for (const Resource& r : *post)
      CHECK_FALSE(r.has_reservation());
    CHECK(post->scalar("cpus") == any.scalar("cpus"));
    CHECK(post->ranges("ports") == any.ranges("ports"));
    CHECK(post->reserved("web") ==
          any.reserved("web").converted(ResourceFormat::post_refinement).value());
    const Resources no_refined =
        post->filter([](const Resource& r) { return r.reservations_size() < 2; });
    auto pre = no_refined.converted(ResourceFormat::pre_refinement);
    REQUIRE(pre.has_value());
    for (const Resource& r : *pre)
      CHECK(r.reservations_size() == 0);
    auto again = pre->converted(ResourceFormat::post_refinement);
    REQUIRE(again.has_value());
    CHECK(*again == no_refined);
  }
}

TEST_CASE("properties of allocate", "[allocate][properties]") {
  Rng rng(kSeed + 2);
  int satisfied = 0;
  for (int round = 0; round < kRounds; ++round) {
    const Resources offer =
        (random_resources(rng) + parsed("cpus:" + std::to_string(pick(rng, 0, 8)) +
                                        ";mem:" + std::to_string(pick(rng, 0, 4096)) +
                                        ";disk:" + std::to_string(pick(rng, 0, 1000)) + ";ports:[" +
                                        std::to_string(pick(rng, 0, 100)) + "-" +
                                        std::to_string(pick(rng, 100, 140)) + "]"))
            .allocated("web");

    ResourceNeed need;
    for (const char* name : {"cpus", "mem", "disk"}) {
      if (chance(rng, 70)) {
        need.scalars[name] =
            std::round(offer.scalar(name) * static_cast<double>(pick(rng, 0, 115)) / 100.0 * 1000) /
            1000;
      }
    }
    need.port_count = pick(rng, 0, chance(rng, 10) ? 200 : 8);
    std::set<std::uint64_t> specific;
    const std::vector<Range> offered_ports = offer.ranges("ports");
    for (std::uint64_t n = pick(rng, 0, 2); n > 0; --n) {
      // Mostly ports the offer has, sometimes any.
      const Range& near = offered_ports[pick(rng, 0, offered_ports.size() - 1)];
      specific.insert(chance(rng, 80) ? pick(rng, near.begin, near.end) : pick(rng, 0, 240));
    }
    need.ports.assign(specific.begin(), specific.end());
    need.allow_revocable = chance(rng, 50);
    need.role = chance(rng, 95) ? (chance(rng, 50) ? "web" : "") : "db";

    INFO("round " << round << "\n offer = " << offer << "\n need: ports " << need.port_count
                  << " + " << need.ports.size() << " specific, revocable " << need.allow_revocable
                  << ", role '" << need.role << "'");

    // What the need may use, computed independently of allocate().
    const Resources usable = offer.filter([&](const Resource& r) {
      return !indivisible(r) && (need.allow_revocable || !r.has_revocable()) &&
             (need.role.empty() || r.allocation_info().role() == need.role);
    });
    const std::vector<Range> usable_ports = usable.ranges("ports");
    bool feasible = true;
    for (const auto& [name, amount] : need.scalars) {
      if (millis(usable.scalar(name)) < millis(amount)) feasible = false;
    }
    for (std::uint64_t port : need.ports) {
      if (!inside(usable_ports, port)) feasible = false;
    }
    if (count(usable_ports) < need.port_count + need.ports.size()) feasible = false;

    const auto result = heatblast::allocate(need, offer);
    INFO(" result: " << (result ? "ok" : result.error().message));
    REQUIRE(result.has_value() == feasible);
    if (!result) {
      CHECK(result.error().code == errc::insufficient_resources);
      continue;
    }
    ++satisfied;

    const Resources used = make(*result);
    INFO(" used = " << used);
    CHECK(offer.contains(used));
    CHECK((offer - used) + used == offer);
    CHECK(heatblast::fits(need, offer));
    for (const auto& [name, amount] : need.scalars)
      CHECK(millis(used.scalar(name)) == millis(amount));

    std::uint64_t picked = 0;
    for (const Resource& r : *result) {
      CHECK(r.allocation_info().role() == "web");
      CHECK_FALSE(indivisible(r));
      if (!need.allow_revocable) CHECK_FALSE(r.has_revocable());
      for (const auto& range : r.ranges().range())
        picked += range.end() - range.begin() + 1;
    }
    // Distinct: the pieces' ports add up to as many as their union holds.
    CHECK(picked == need.port_count + need.ports.size());
    CHECK(count(used.ranges("ports")) == picked);
    for (const Range& range : used.ranges("ports")) {
      CHECK(inside(usable_ports, range.begin));
      for (std::uint64_t port = range.begin; port <= range.end; ++port) {
        CHECK(inside(usable_ports, port));
      }
    }
    for (std::uint64_t port : need.ports)
      CHECK(inside(used.ranges("ports"), port));
  }
  // The generator must exercise both outcomes.
  CHECK(satisfied > kRounds / 4);
  CHECK(satisfied < kRounds);
}

TEST_CASE("properties of packing with take", "[allocate][properties]") {
  Rng rng(kSeed + 3);
  for (int round = 0; round < kRounds / 4; ++round) {
    const Resources offer = without_shared_ports(
        (random_resources(rng) + parsed("cpus:4;mem:4096;ports:[1000-1030]")).allocated("web"));
    ResourceNeed need;
    need.scalars = {{"cpus", static_cast<double>(pick(rng, 1, 1500)) / 1000.0},
                    {"mem", static_cast<double>(pick(rng, 1, 1024))}};
    need.port_count = pick(rng, 0, 4);
    INFO("round " << round << "\n offer = " << offer);

    Resources remaining = offer;
    Resources used;
    std::uint64_t ports = 0;
    int tasks = 0;
    while (true) {
      const Resources before = remaining;
      auto got = heatblast::take(need, remaining);
      if (!got) {
        CHECK(got.error().code == errc::insufficient_resources);
        CHECK(remaining == before);
        break;
      }
      ++tasks;
      const Resources task = make(*got);
      ports += count(task.ranges("ports"));
      used += task;
      CHECK(before.contains(task));
      CHECK(remaining + task == before);
    }
    CHECK(tasks >= 1);
    CHECK(used + remaining == offer);
    // No port went to two tasks.
    CHECK(count(used.ranges("ports")) == ports);
    CHECK(ports == need.port_count * static_cast<std::uint64_t>(tasks));
  }
}
