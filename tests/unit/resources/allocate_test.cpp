#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "heatblast/resources.hpp"
#include "helpers.hpp"

using heatblast::allocate;
using heatblast::errc;
using heatblast::Range;
using heatblast::ResourceNeed;
using heatblast::Resources;
using heatblast::to_string;
using namespace hbtest;

namespace {

std::vector<Resource> allocated_ok(const ResourceNeed& need, const Resources& offer) {
  auto result = allocate(need, offer);
  INFO("offer: " << offer << " error: " << (result ? "" : result.error().message));
  REQUIRE(result.has_value());
  // Whatever the case, an allocation is carved out of the offer.
  CHECK(offer.contains(make(*result)));
  return *result;
}

std::string failure(const ResourceNeed& need, const Resources& offer, errc code) {
  auto result = allocate(need, offer);
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().code == code);
  CHECK_FALSE(heatblast::fits(need, offer));
  return result.error().message;
}

std::string text(const std::vector<Resource>& resources) {
  std::string out;
  for (const Resource& r : resources) {
    if (!out.empty()) out += ';';
    out += to_string(r);
  }
  return out;
}

ResourceNeed ports(std::size_t count, std::vector<std::uint64_t> specific = {}) {
  ResourceNeed need;
  need.port_count = count;
  need.ports = std::move(specific);
  return need;
}

}  // namespace

TEST_CASE("allocate carves scalars out of an offer and keeps allocation_info", "[allocate]") {
  const Resources offer =
      make({allocated(scalar("cpus", 4), "web"), allocated(scalar("mem", 1024), "web"),
            allocated(ranges("ports", {{31000, 31010}}), "web")});
  ResourceNeed need;
  need.scalars = {{"mem", 256}, {"cpus", 1.5}, {"gpus", 0}};
  const auto got = allocated_ok(need, offer);
  REQUIRE(got.size() == 2);
  CHECK(got[0].name() == "cpus");
  CHECK(got[0].scalar().value() == 1.5);
  CHECK(got[0].allocation_info().role() == "web");
  CHECK(got[1].name() == "mem");
  CHECK(got[1].scalar().value() == 256);
  CHECK(got[1].allocation_info().role() == "web");
  CHECK(heatblast::fits(need, offer));

  CHECK(allocated_ok(ResourceNeed{}, offer).empty());
  need.scalars = {{"cpus", 0.1}, {"mem", 0.2}};
  CHECK(text(allocated_ok(need, offer)) == "cpus[allocated=web]:0.1;mem[allocated=web]:0.2");
}

TEST_CASE("allocate draws reserved resources first, deepest reservation first", "[allocate]") {
  const Resources offer =
      make({allocated(scalar("cpus", 1), "eng/web"),
            allocated(static_to(scalar("cpus", 0.5), "eng"), "eng/web"),
            allocated(dynamic_to(static_to(scalar("cpus", 0.25), "eng"), "eng/web"), "eng/web")});
  ResourceNeed need;
  need.scalars = {{"cpus", 1.5}};
  const auto got = allocated_ok(need, offer);
  CHECK(text(got) ==
        "cpus(eng/web)[allocated=eng/web,dynamic,principal=ops]:0.25;"
        "cpus(eng)[allocated=eng/web]:0.5;cpus[allocated=eng/web]:0.75");
  // The reservations travel with the pieces.
  REQUIRE(got[0].reservations_size() == 2);
  CHECK(got[0].reservations(1).role() == "eng/web");
  CHECK(got[2].reservations_size() == 0);

  // The pre-refinement format counts as reserved too.
  const Resources old = make({scalar("mem", 100), old_role(scalar("mem", 50), "web")});
  need.scalars = {{"mem", 60}};
  CHECK(text(allocated_ok(need, old)) == "mem(web):50;mem:10");
  const auto pieces = allocated_ok(need, old);
  CHECK(heatblast::is_reserved(pieces[0]));
  CHECK(heatblast::reservation_role(pieces[0]) == "web");
}

TEST_CASE("allocate names what is short", "[allocate]") {
  const Resources offer = parsed("cpus:1;mem:256");
  ResourceNeed need;
  need.scalars = {{"mem", 512}};
  CHECK(failure(need, offer, errc::insufficient_resources) == "need 'mem' 512 but offer has 256");

  need.scalars = {{"cpus", 2}, {"mem", 512}, {"gpus", 1}, {"disk", 0.5}};
  need.port_count = 2;
  CHECK(failure(need, offer, errc::insufficient_resources) ==
        "need 'cpus' 2 but offer has 1; need 'disk' 0.5 but offer has 0; "
        "need 'gpus' 1 but offer has 0; need 'mem' 512 but offer has 256; "
        "need 2 'ports' but offer has 0 free");

  // Fixed-point: 0.1 + 0.2 cpus offered satisfies 0.3.
  need = {};
  need.scalars = {{"cpus", 0.3}};
  CHECK(heatblast::fits(need, parsed("cpus:0.1;cpus:0.2")));
  need.scalars = {{"cpus", 0.301}};
  CHECK(failure(need, parsed("cpus:0.1;cpus:0.2"), errc::insufficient_resources) ==
        "need 'cpus' 0.301 but offer has 0.3");
}

TEST_CASE("allocate rejects needs that are not amounts", "[allocate]") {
  const Resources offer = parsed("cpus:1;ports:[1-10]");
  ResourceNeed need;
  need.scalars = {{"cpus", -1}};
  CHECK_THAT(failure(need, offer, errc::invalid_argument), Catch::Contains("'cpus'"));
  need.scalars = {{"cpus", std::numeric_limits<double>::quiet_NaN()}};
  CHECK_THAT(failure(need, offer, errc::invalid_argument), Catch::Contains("'cpus'"));
  need.scalars = {{"", 1}};
  CHECK_THAT(failure(need, offer, errc::invalid_argument), Catch::Contains("empty name"));
  need.scalars = {{"ports", 2}};
  CHECK(failure(need, offer, errc::invalid_argument) ==
        "'ports' is a RANGES resource, not a scalar");
  CHECK(failure(ports(0, {5, 7, 5}), offer, errc::invalid_argument) == "port 5 is needed twice");
}

TEST_CASE("ports: lowest contiguous block, across holes", "[allocate][ports]") {
  const Resources offer = make({ranges("ports", {{1, 2}, {5, 10}, {20, 30}})});
  CHECK(text(allocated_ok(ports(1), offer)) == "ports:[1-1]");
  CHECK(text(allocated_ok(ports(2), offer)) == "ports:[1-2]");
  CHECK(text(allocated_ok(ports(3), offer)) == "ports:[5-7]");
  CHECK(text(allocated_ok(ports(6), offer)) == "ports:[5-10]");
  CHECK(text(allocated_ok(ports(7), offer)) == "ports:[20-26]");
  CHECK(text(allocated_ok(ports(11), offer)) == "ports:[20-30]");
  // No block is long enough: the lowest free ports.
  CHECK(text(allocated_ok(ports(12), offer)) == "ports:[1-2,5-10,20-23]");
  CHECK(text(allocated_ok(ports(19), offer)) == "ports:[1-2,5-10,20-30]");
  CHECK(failure(ports(20), offer, errc::insufficient_resources) ==
        "need 20 'ports' but offer has 19 free");
  // Deterministic: the same question, the same answer.
  CHECK(allocated_ok(ports(12), offer)[0].DebugString() ==
        allocated_ok(ports(12), offer)[0].DebugString());
}

TEST_CASE("ports: specific ones first, then the count", "[allocate][ports]") {
  const Resources offer = make({allocated(ranges("ports", {{31000, 31010}}), "web")});
  CHECK(text(allocated_ok(ports(2, {31005}), offer)) ==
        "ports[allocated=web]:[31000-31001,31005-31005]");
  CHECK(text(allocated_ok(ports(2, {31000, 31001}), offer)) ==
        "ports[allocated=web]:[31000-31003]");
  CHECK(text(allocated_ok(ports(0, {31010, 31000}), offer)) ==
        "ports[allocated=web]:[31000-31000,31010-31010]");
  // A specific port splits the free space; the count then takes the lowest block that fits.
  CHECK(text(allocated_ok(ports(6, {31003}), offer)) == "ports[allocated=web]:[31003-31009]");

  CHECK(failure(ports(0, {8080}), offer, errc::insufficient_resources) ==
        "need port 8080 but offer has 'ports' [31000-31010]");
  CHECK(failure(ports(0, {8080}), parsed("cpus:1"), errc::insufficient_resources) ==
        "need port 8080 but offer has no 'ports'");
  CHECK(failure(ports(11, {31000}), offer, errc::insufficient_resources) ==
        "need 11 more 'ports' but offer has 10 free");
}

TEST_CASE("ports: reserved first, contiguity within a reservation tier", "[allocate][ports]") {
  const Resources offer =
      make({ranges("ports", {{1, 10}}), static_to(ranges("ports", {{100, 105}}), "web")});
  CHECK(text(allocated_ok(ports(3), offer)) == "ports(web):[100-102]");
  CHECK(text(allocated_ok(ports(6), offer)) == "ports(web):[100-105]");
  // The reserved ports hold no block of 8, the unreserved ones do.
  CHECK(text(allocated_ok(ports(8), offer)) == "ports:[1-8]");
  // Neither does for 12: reserved ones first, then the lowest unreserved.
  CHECK(text(allocated_ok(ports(12), offer)) == "ports(web):[100-105];ports:[1-6]");
  CHECK(text(allocated_ok(ports(1, {5}), offer)) == "ports(web):[100-100];ports:[5-5]");

  // Two entries of one tier, adjacent, form one block.
  const Resources split = make({ranges("ports", {{1, 5}}), revocable(ranges("ports", {{6, 10}}))});
  ResourceNeed need = ports(8);
  CHECK(failure(need, split, errc::insufficient_resources) ==
        "need 8 'ports' but offer has 5 free");
  need.allow_revocable = true;
  CHECK(text(allocated_ok(need, split)) == "ports:[1-5];ports[revocable]:[6-8]");

  // A port offered by two entries is picked once.
  const Resources twice =
      make({ranges("ports", {{1, 3}}), static_to(ranges("ports", {{2, 4}}), "web")});
  CHECK(text(allocated_ok(ports(4), twice)) == "ports(web):[2-4];ports:[1-1]");
  CHECK(failure(ports(5), twice, errc::insufficient_resources) ==
        "need 5 'ports' but offer has 4 free");
}

TEST_CASE("ports at the top of uint64", "[allocate][ports]") {
  constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
  const Resources offer = make({ranges("ports", {{0, kMax}})});
  const auto got = allocated_ok(ports(3, {kMax}), offer);
  CHECK(text(got) == "ports:[0-2," + std::to_string(kMax) + "-" + std::to_string(kMax) + "]");
  const Resources top = make({ranges("ports", {{kMax - 2, kMax}})});
  CHECK(text(allocated_ok(ports(3), top)) == to_string(top));
}

TEST_CASE("allocate honours role, revocable and indivisible resources", "[allocate]") {
  const Resources offer =
      make({allocated(scalar("cpus", 1), "web"), allocated(scalar("cpus", 2), "db"),
            revocable(allocated(scalar("cpus", 4), "web"))});
  ResourceNeed need;
  need.scalars = {{"cpus", 2}};
  need.role = "db";
  CHECK(text(allocated_ok(need, offer)) == "cpus[allocated=db]:2");
  need.role = "web";
  CHECK(failure(need, offer, errc::insufficient_resources) == "need 'cpus' 2 but offer has 1");
  need.allow_revocable = true;
  CHECK(text(allocated_ok(need, offer)) == "cpus[allocated=web]:1;cpus[allocated=web,revocable]:1");
  // Without a role the whole offer is usable, in offer order.
  need.role.clear();
  need.allow_revocable = false;
  CHECK(text(allocated_ok(need, offer)) == "cpus[allocated=web]:1;cpus[allocated=db]:1");

  const Resources disks = make({volume(static_to(scalar("disk", 100), "web"), "v1"),
                                static_to(scalar("disk", 10), "web"), scalar("disk", 5)});
  need = {};
  need.scalars = {{"disk", 50}};
  CHECK(failure(need, disks, errc::insufficient_resources) == "need 'disk' 50 but offer has 15");
  need.scalars = {{"disk", 12}};
  CHECK(text(allocated_ok(need, disks)) == "disk(web):10;disk:2");
}

TEST_CASE("take packs several tasks into one offer", "[allocate][take]") {
  const Resources offer = parsed("cpus:4;mem:1024;ports:[1-10]");
  Resources remaining = offer;
  ResourceNeed need;
  need.scalars = {{"cpus", 1}, {"mem", 256}};
  need.port_count = 2;
  Resources used;
  for (int i = 0; i < 4; ++i) {
    auto got = heatblast::take(need, remaining);
    REQUIRE(got.has_value());
    const Resources task = make(*got);
    CHECK(task.ranges("ports") == std::vector<Range>{{static_cast<std::uint64_t>(2 * i + 1),
                                                      static_cast<std::uint64_t>(2 * i + 2)}});
    used += task;
  }
  CHECK(remaining == parsed("ports:[9-10]"));
  CHECK(used + remaining == offer);

  auto fifth = heatblast::take(need, remaining);
  REQUIRE_FALSE(fifth.has_value());
  CHECK(fifth.error().code == errc::insufficient_resources);
  CHECK(fifth.error().message == "need 'cpus' 1 but offer has 0; need 'mem' 256 but offer has 0");
  CHECK(remaining == parsed("ports:[9-10]"));
}
