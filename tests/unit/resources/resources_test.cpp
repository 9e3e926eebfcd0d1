#include "heatblast/resources.hpp"

#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "helpers.hpp"

using heatblast::errc;
using heatblast::parse_resources;
using heatblast::Range;
using heatblast::ResourceFormat;
using heatblast::Resources;
using heatblast::to_string;
using namespace hbtest;

namespace {

// The one entry of a Resources that must hold exactly one.
const Resource& only(const Resources& resources) {
  REQUIRE(resources.size() == 1);
  return *resources.begin();
}

}  // namespace

TEST_CASE("scalars are fixed-point with 3 decimals", "[resources]") {
  const Resources a = make({scalar("cpus", 0.1)});
  const Resources b = make({scalar("cpus", 0.2)});
  const Resources sum = a + b;
  CHECK(sum.scalar("cpus") == 0.3);
  CHECK(only(sum).scalar().value() == 0.3);
  CHECK(sum == make({scalar("cpus", 0.3)}));

  // Subtracting back to zero leaves nothing, not -0.0000000001 cpus.
  CHECK((sum - a - b).empty());
  CHECK((make({scalar("cpus", 0.3)}) - a - b).empty());

  // Input is rounded on the way in: 4th decimal and beyond are gone.
  CHECK(only(make({scalar("mem", 0.12345)})).scalar().value() == 0.123);
  CHECK(only(make({scalar("mem", 0.1235)})).scalar().value() == 0.124);
  CHECK(make({scalar("mem", 0.0004)}).empty());
  // 0.9999 rounds to 1, so 1 - 0.9999 is nothing.
  CHECK((make({scalar("cpus", 1)}) - make({scalar("cpus", 0.9999)})).empty());

  Resources many;
  for (int i = 0; i < 1000; ++i)
    many += make({scalar("cpus", 0.001)});
  CHECK(many.scalar("cpus") == 1.0);
  CHECK(to_string(many) == "cpus:1");
}

TEST_CASE("scalar subtraction saturates at zero", "[resources]") {
  const Resources small = make({scalar("mem", 256)});
  const Resources big = make({scalar("mem", 512)});
  CHECK((small - big).empty());
  CHECK((big - small).scalar("mem") == 256);
  CHECK((small - make({scalar("cpus", 1)})) == small);
}

TEST_CASE("ranges merge when adjacent or overlapping and split on subtraction", "[resources]") {
  const Resources a = make({ranges("ports", {{1, 3}})});
  const Resources b = make({ranges("ports", {{4, 5}})});
  const Resources sum = a + b;
  REQUIRE(only(sum).ranges().range_size() == 1);
  CHECK(sum.ranges("ports") == std::vector<Range>{{1, 5}});

  const Resources cut = sum - make({ranges("ports", {{3, 3}})});
  CHECK(cut.ranges("ports") == std::vector<Range>{{1, 2}, {4, 5}});
  CHECK(to_string(cut) == "ports:[1-2,4-5]");

  // Unsorted, overlapping input is normalized.
  const Resources messy = make({ranges("ports", {{10, 20}, {1, 2}, {15, 30}, {3, 4}})});
  CHECK(messy.ranges("ports") == std::vector<Range>{{1, 4}, {10, 30}});

  // Overlap counts once, and subtraction of a superset empties.
  CHECK((a + a).ranges("ports") == std::vector<Range>{{1, 3}});
  CHECK((sum - make({ranges("ports", {{0, 100}})})).empty());
  // Subtracting what is not there takes nothing.
  CHECK((sum - make({ranges("ports", {{7, 9}})})) == sum);
  // Trimming both ends and punching several holes at once.
  const Resources holes =
      make({ranges("ports", {{1, 100}})}) - make({ranges("ports", {{1, 1}, {50, 60}, {90, 200}})});
  CHECK(holes.ranges("ports") == std::vector<Range>{{2, 49}, {61, 89}});
}

TEST_CASE("ranges at the top of uint64 do not overflow", "[resources]") {
  constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
  const Resources top = make({ranges("ports", {{kMax - 1, kMax}})});
  const Resources all = make({ranges("ports", {{0, kMax}})});
  CHECK((top + make({ranges("ports", {{kMax - 5, kMax - 2}})})).ranges("ports") ==
        std::vector<Range>{{kMax - 5, kMax}});
  CHECK(all.contains(top));
  CHECK((all - top).ranges("ports") == std::vector<Range>{{0, kMax - 2}});
  CHECK((top - all).empty());
}

TEST_CASE("sets are unions and differences", "[resources]") {
  const Resources ab = make({set("zones", {"b", "a", "a"})});
  const Resources bc = make({set("zones", {"c", "b"})});
  CHECK(ab.set("zones") == std::vector<std::string>{"a", "b"});
  CHECK((ab + bc).set("zones") == std::vector<std::string>{"a", "b", "c"});
  CHECK((ab - bc).set("zones") == std::vector<std::string>{"a"});
  CHECK((ab + bc).contains(ab));
  CHECK_FALSE(ab.contains(bc));
  CHECK((ab - ab).empty());
  CHECK(to_string(ab + bc) == "zones:{a,b,c}");
}

TEST_CASE("roles and reservations keep resources apart", "[resources]") {
  const Resources mixed = make({scalar("cpus", 1), static_to(scalar("cpus", 2), "web"),
                                dynamic_to(scalar("cpus", 4), "web"),
                                dynamic_to(scalar("cpus", 8), "web", "someone-else"),
                                old_role(scalar("cpus", 16), "web"), scalar("cpus", 32)});
  CHECK(mixed.size() == 5);
  CHECK(mixed.scalar("cpus") == 63);
  CHECK(mixed.unreserved().scalar("cpus") == 33);
  CHECK(mixed.reserved().scalar("cpus") == 30);
  CHECK(mixed.reserved("web").scalar("cpus") == 30);
  CHECK(mixed.reserved("db").empty());

  // Subtracting unreserved cpus never touches reserved ones, however many are asked for.
  const Resources left = mixed - make({scalar("cpus", 100)});
  CHECK(left.unreserved().empty());
  CHECK(left.reserved("web").scalar("cpus") == 30);

  // An unreserved resource does not contain a reserved one, and the other way round.
  CHECK_FALSE(make({scalar("cpus", 10)}).contains(make({static_to(scalar("cpus", 1), "web")})));
  CHECK_FALSE(make({static_to(scalar("cpus", 10), "web")}).contains(make({scalar("cpus", 1)})));

  // A refined reservation is reserved to the top of its stack.
  const Resources refined = make({dynamic_to(static_to(scalar("mem", 64), "eng"), "eng/web"),
                                  static_to(scalar("mem", 1), "eng")});
  CHECK(refined.size() == 2);
  CHECK(refined.reserved("eng/web").scalar("mem") == 64);
  CHECK(refined.reserved("eng").scalar("mem") == 1);
}

TEST_CASE("allocation_info, revocable, disk and provider keep resources apart", "[resources]") {
  const Resources r = make({scalar("cpus", 1), allocated(scalar("cpus", 2), "web"),
                            allocated(scalar("cpus", 4), "db"), revocable(scalar("cpus", 8)),
                            allocated(scalar("cpus", 16), "web")});
  CHECK(r.size() == 4);
  CHECK(r.allocated_to("web").scalar("cpus") == 18);
  CHECK(r.allocated_to("db").scalar("cpus") == 4);
  CHECK(r.revocable().scalar("cpus") == 8);
  CHECK(r.non_revocable().scalar("cpus") == 23);
  // The allocation survives arithmetic.
  const Resources web = r.allocated_to("web") - make({allocated(scalar("cpus", 1), "web")});
  CHECK(only(web).allocation_info().role() == "web");
  CHECK(only(web).scalar().value() == 17);

  Resource from_provider = scalar("disk", 10);
  from_provider.mutable_provider_id()->set_value("p1");
  Resource other_provider = scalar("disk", 10);
  other_provider.mutable_provider_id()->set_value("p2");
  CHECK(make({from_provider, other_provider, scalar("disk", 1)}).size() == 3);
  CHECK(make({from_provider, from_provider}).scalar("disk") == 20);
}

TEST_CASE("allocated() and unallocated() rewrite the allocation and merge", "[resources]") {
  const Resources r = make({allocated(scalar("cpus", 2), "web"), scalar("cpus", 1),
                            allocated(ranges("ports", {{1, 2}}), "db")});
  const Resources none = r.unallocated();
  CHECK(none.size() == 2);
  CHECK(none.scalar("cpus") == 3);
  for (const Resource& resource : none)
    CHECK_FALSE(resource.has_allocation_info());
  const Resources all_web = r.allocated("web");
  CHECK(all_web.allocated_to("web") == all_web);
  CHECK(all_web.allocated_to("web").scalar("cpus") == 3);
}

TEST_CASE("the two reservation formats stay apart until converted", "[resources]") {
  const Resources both =
      make({old_role(scalar("cpus", 1), "web"), static_to(scalar("cpus", 2), "web"),
            old_dynamic(scalar("mem", 5), "web"), dynamic_to(scalar("mem", 7), "web")});
  CHECK(both.size() == 4);
  CHECK(both.reserved("web").scalar("cpus") == 3);

  auto post = both.converted(ResourceFormat::post_refinement);
  REQUIRE(post.has_value());
  CHECK(post->size() == 2);
  for (const Resource& r : *post) {
    CHECK(r.reservations_size() == 1);
    CHECK_FALSE(r.has_reservation());
    CHECK(heatblast::reservation_role(r) == "web");
  }
  CHECK(post->reserved("web").scalar("cpus") == 3);
  CHECK(post->reserved("web").scalar("mem") == 12);
  CHECK(post->contains(make({dynamic_to(scalar("mem", 12), "web")})));

  auto pre = both.converted(ResourceFormat::pre_refinement);
  REQUIRE(pre.has_value());
  CHECK(pre->size() == 2);
  CHECK(pre->contains(
      make({old_dynamic(scalar("mem", 12), "web"), old_role(scalar("cpus", 3), "web")})));
  for (const Resource& r : *pre)
    CHECK(r.reservations_size() == 0);

  // Unreserved resources get an explicit "*" in the old format, and lose it in the new one.
  auto star = make({scalar("cpus", 1)}).converted(ResourceFormat::pre_refinement);
  REQUIRE(star.has_value());
  CHECK(to_string(*star) == "cpus:1");
  CHECK(*star == make({scalar("cpus", 1)}));

  // A refined reservation has no pre-refinement form.
  const Resources refined = make({dynamic_to(static_to(scalar("mem", 64), "eng"), "eng/web")});
  auto failed = refined.converted(ResourceFormat::pre_refinement);
  REQUIRE_FALSE(failed.has_value());
  CHECK(failed.error().code == errc::invalid_resource);
  CHECK_THAT(failed.error().message, Catch::Contains("eng/web"));
}

TEST_CASE("persistent volumes and shared resources are indivisible", "[resources]") {
  const Resource vol = volume(static_to(scalar("disk", 100), "web"), "v1");
  const Resources one = make({vol});
  // Two of the same non-shared volume are two entries, not 200 MB of one.
  CHECK((one + one).size() == 2);
  // A volume is taken whole or not at all.
  CHECK_FALSE(one.contains(make({volume(static_to(scalar("disk", 50), "web"), "v1")})));
  CHECK((one - make({volume(static_to(scalar("disk", 50), "web"), "v1")})) == one);
  CHECK((one - one).empty());
  CHECK_FALSE(one.contains(make({static_to(scalar("disk", 50), "web")})));

  const Resources sh = make({shared(vol)});
  const Resources twice = sh + sh;
  CHECK(twice.size() == 2);
  CHECK(twice.contains(sh + sh));
  CHECK_FALSE(sh.contains(sh + sh));
  CHECK((twice - sh) == sh);
  CHECK(twice != sh);

  // MOUNT disks cannot be split either.
  Resource mount = static_to(scalar("disk", 1000), "web");
  mount.mutable_disk()->mutable_source()->set_type(Resource::DiskInfo::Source::MOUNT);
  const Resources m = make({mount});
  CHECK((m + m).size() == 2);
  mount.mutable_scalar()->set_value(10);
  CHECK_FALSE(m.contains(make({mount})));
}

TEST_CASE("contains, equality and checked subtract", "[resources]") {
  const Resources offer = parsed("cpus:4;mem:1024;ports:[31000-31010];zones:{a,b}");
  CHECK(offer.contains(parsed("cpus:4;mem:1;ports:[31000-31000,31005-31010];zones:{b}")));
  CHECK(offer.contains(Resources{}));
  CHECK(Resources{}.contains(Resources{}));
  CHECK_FALSE(Resources{}.contains(offer));
  CHECK_FALSE(offer.contains(parsed("cpus:4.001")));
  CHECK_FALSE(offer.contains(parsed("ports:[30999-31000]")));
  CHECK_FALSE(offer.contains(parsed("gpus:1")));

  CHECK(parsed("cpus:1;mem:2") == parsed("mem:2;cpus:1"));
  CHECK(parsed("cpus:1;mem:2") != parsed("mem:2;cpus:1.001"));
  CHECK(parsed("cpus:1;cpus:2") == parsed("cpus:3"));

  auto ok = offer.subtract(parsed("cpus:1;ports:[31000-31001]"));
  REQUIRE(ok.has_value());
  CHECK(*ok == parsed("cpus:3;mem:1024;ports:[31002-31010];zones:{a,b}"));

  auto short_of = offer.subtract(parsed("cpus:5;mem:512;ports:[31010-31011]"));
  REQUIRE_FALSE(short_of.has_value());
  CHECK(short_of.error().code == errc::insufficient_resources);
  CHECK_THAT(short_of.error().message, Catch::Contains("missing 'cpus:1;ports:[31011-31011]'"));
}

TEST_CASE("self-assignment arithmetic", "[resources]") {
  Resources r = parsed("cpus:1;ports:[1-2]");
  // Through a reference: the point is the aliasing, which clang warns about when spelled out.
  const Resources& same = r;
  r += same;
  CHECK(r == parsed("cpus:2;ports:[1-2]"));
  r -= same;
  CHECK(r.empty());
}

TEST_CASE("totals, names and filter", "[resources]") {
  const Resources r =
      make({scalar("cpus", 1), static_to(scalar("cpus", 2), "web"), ranges("ports", {{10, 12}}),
            static_to(ranges("ports", {{13, 20}}), "web"), set("zones", {"x"}),
            static_to(set("zones", {"y"}), "web")});
  CHECK(r.scalar("cpus") == 3);
  CHECK(r.scalar("ports") == 0);
  CHECK(r.scalar("gpus") == 0);
  CHECK(r.ranges("ports") == std::vector<Range>{{10, 20}});
  CHECK(r.ranges("cpus").empty());
  CHECK(r.set("zones") == std::vector<std::string>{"x", "y"});
  CHECK(r.names() == std::vector<std::string>{"cpus", "ports", "zones"});
  const Resources cpus = r.filter([](const Resource& x) { return x.name() == "cpus"; });
  CHECK(cpus.size() == 2);
  CHECK(cpus.scalar("cpus") == 3);
  std::size_t n = 0;
  for (const Resource& x : r) {
    CHECK_FALSE(x.name().empty());
    ++n;
  }
  CHECK(n == r.size());
}

TEST_CASE("protobuf round trip", "[resources]") {
  const Resources r = make({allocated(static_to(scalar("cpus", 2.5), "web"), "web"),
                            ranges("ports", {{31000, 31005}}), set("zones", {"a"})});
  const auto proto = r.to_proto();
  REQUIRE(proto.size() == 3);
  CHECK(proto.Get(0).allocation_info().role() == "web");
  auto back = Resources::from_proto(proto);
  REQUIRE(back.has_value());
  CHECK(*back == r);
  auto from_vector = Resources::from_proto(r.to_vector());
  REQUIRE(from_vector.has_value());
  CHECK(*from_vector == r);
  auto single = Resources::from_proto(scalar("mem", 3));
  REQUIRE(single.has_value());
  CHECK(single->scalar("mem") == 3);
}

TEST_CASE("invalid resources are rejected on the way in", "[resources]") {
  const auto rejected = [](const Resource& r) {
    auto result = Resources::from_proto(std::vector<Resource>{scalar("cpus", 1), r});
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == errc::invalid_resource);
    CHECK_THAT(result.error().message, Catch::Contains("#1"));
    auto checked = heatblast::validate(r);
    REQUIRE_FALSE(checked.has_value());
    CHECK(checked.error().code == errc::invalid_resource);
    return checked.error().message;
  };

  CHECK_THAT(rejected(ranges("ports", {{5, 4}})), Catch::Contains("[5-4]"));
  CHECK_THAT(rejected(scalar("cpus", -1)), Catch::Contains("negative"));
  CHECK_THAT(rejected(scalar("cpus", std::numeric_limits<double>::quiet_NaN())),
             Catch::Contains("not finite"));
  CHECK_THAT(rejected(scalar("cpus", std::numeric_limits<double>::infinity())),
             Catch::Contains("not finite"));
  CHECK_THAT(rejected(scalar("cpus", 2e12)), Catch::Contains("too large"));
  CHECK_THAT(rejected(scalar("", 1)), Catch::Contains("empty name"));

  Resource no_value;
  no_value.set_name("mem");
  no_value.set_type(Value::SCALAR);
  CHECK_THAT(rejected(no_value), Catch::Contains("needs 'scalar'"));
  no_value.set_type(Value::RANGES);
  CHECK_THAT(rejected(no_value), Catch::Contains("needs 'ranges'"));
  no_value.set_type(Value::SET);
  CHECK_THAT(rejected(no_value), Catch::Contains("needs 'set'"));
  Resource both = scalar("mem", 1);
  both.mutable_set()->add_item("x");
  CHECK_THAT(rejected(both), Catch::Contains("nothing else"));
  Resource text = scalar("mem", 1);
  text.set_type(Value::TEXT);
  CHECK_THAT(rejected(text), Catch::Contains("TEXT"));

  // Reservation rules.
  Resource star_dynamic = scalar("cpus", 1);
  star_dynamic.mutable_reservation()->set_principal("ops");
  CHECK_THAT(rejected(star_dynamic), Catch::Contains("'*'"));
  Resource unknown_type = scalar("cpus", 1);
  unknown_type.add_reservations()->set_role("web");
  CHECK_THAT(rejected(unknown_type), Catch::Contains("STATIC or DYNAMIC"));
  CHECK_THAT(rejected(static_to(scalar("cpus", 1), "*")), Catch::Contains("invalid role"));
  CHECK_THAT(rejected(static_to(scalar("cpus", 1), "bad role")), Catch::Contains("invalid role"));
  CHECK_THAT(rejected(static_to(static_to(scalar("cpus", 1), "eng"), "eng/web")),
             Catch::Contains("cannot be STATIC"));
  CHECK_THAT(rejected(dynamic_to(static_to(scalar("cpus", 1), "eng"), "other")),
             Catch::Contains("not a sub-role"));
  CHECK_THAT(rejected(old_role(static_to(scalar("cpus", 1), "web"), "db")),
             Catch::Contains("does not match"));
  CHECK_THAT(rejected(old_role(scalar("cpus", 1), "..")), Catch::Contains("not a valid role"));
  CHECK_THAT(rejected(allocated(scalar("cpus", 1), "a b")), Catch::Contains("allocation role"));
  // A framework without roles is allocated to "*", as Mesos does.
  CHECK(heatblast::Resources::from_proto(allocated(scalar("cpus", 1), "*")).has_value());
  CHECK_THAT(rejected(volume(scalar("cpus", 1), "v")), Catch::Contains("'disk'"));
  CHECK_THAT(rejected(shared(scalar("disk", 1))), Catch::Contains("persistent volumes"));

  // The "endpoint" format (both formats, consistent) is accepted.
  CHECK(heatblast::validate(old_role(static_to(scalar("cpus", 1), "web"), "web")).has_value());
  CHECK(heatblast::validate(old_dynamic(dynamic_to(scalar("cpus", 1), "web"), "web")).has_value());
  CHECK_FALSE(
      heatblast::validate(old_dynamic(dynamic_to(scalar("cpus", 1), "web", "a"), "web", "b"))
          .has_value());
}

TEST_CASE("parse_resources reads the agent's syntax", "[resources][parse]") {
  const Resources r = parsed("cpus:4;mem:8192;disk:20000;ports:[31000-32000,32005-32010]");
  CHECK(r.scalar("cpus") == 4);
  CHECK(r.scalar("mem") == 8192);
  CHECK(r.scalar("disk") == 20000);
  CHECK(r.ranges("ports") == std::vector<Range>{{31000, 32000}, {32005, 32010}});
  CHECK(to_string(r) == "cpus:4;mem:8192;disk:20000;ports:[31000-32000,32005-32010]");

  const Resources spaced =
      parsed("  cpus ( web ) : 0.5 ;; mem:1 ; ports : [ 1 - 2 , 8080 ] ; zones:{ a , b };");
  CHECK(spaced.reserved("web").scalar("cpus") == 0.5);
  const Resource& cpus = *spaced.begin();
  REQUIRE(cpus.reservations_size() == 1);
  CHECK(cpus.reservations(0).type() == Resource::ReservationInfo::STATIC);
  CHECK(cpus.reservations(0).role() == "web");
  CHECK(spaced.ranges("ports") == std::vector<Range>{{1, 2}, {8080, 8080}});
  CHECK(spaced.set("zones") == std::vector<std::string>{"a", "b"});
  CHECK(to_string(spaced) == "cpus(web):0.5;mem:1;ports:[1-2,8080-8080];zones:{a,b}");

  CHECK(parsed("cpus(*):2") == parsed("cpus:2"));
  CHECK(parsed("cpus(eng/web):2").reserved("eng/web").scalar("cpus") == 2);
  CHECK(parsed("").empty());
  CHECK(parsed(" ; ").empty());
  CHECK(parsed("ports:[];zones:{};cpus:0").empty());
  CHECK(parsed("cpus:1e1").scalar("cpus") == 10);
}

TEST_CASE("parse_resources names the bad token", "[resources][parse]") {
  struct Case {
    const char* text;
    errc code;
    const char* mentions;
  };
  const std::vector<Case> cases = {
      {"cpus", errc::invalid_argument, "'cpus'"},
      {"cpus:4;mem", errc::invalid_argument, "'mem'"},
      {"cpus:abc", errc::invalid_argument, "'abc' is not a number"},
      {"cpus:4x", errc::invalid_argument, "'4x'"},
      {"cpus:", errc::invalid_argument, "no value"},
      {":4", errc::invalid_argument, "is not a resource name"},
      {"my cpus:4", errc::invalid_argument, "'my cpus'"},
      {"cpus(web:4", errc::invalid_argument, "name(role)"},
      {"cpus():4", errc::invalid_argument, "not a valid role"},
      {"cpus(a b):4", errc::invalid_argument, "'a b'"},
      {"cpus(-x):4", errc::invalid_argument, "'-x'"},
      {"ports:[1-2", errc::invalid_argument, "missing ']'"},
      {"ports:[a-b]", errc::invalid_argument, "'a-b'"},
      {"ports:[1-2,]", errc::invalid_argument, "''"},
      {"ports:[-5]", errc::invalid_argument, "'-5'"},
      {"ports:[1-99999999999999999999999]", errc::invalid_argument, "not a range"},
      {"zones:{a,b", errc::invalid_argument, "missing '}'"},
      {"zones:{a,,b}", errc::invalid_argument, "not a set item"},
      {"cpus:nan", errc::invalid_argument, "'nan'"},
      {"cpus:inf", errc::invalid_argument, "'inf'"},
      {"cpus:-1", errc::invalid_resource, "negative"},
      {"ports:[5-4]", errc::invalid_resource, "[5-4]"},
      {"cpus:1;cpus:[1-2]", errc::invalid_resource, "already given as SCALAR"},
      {"mem:1e13", errc::invalid_resource, "too large"},
  };
  for (const Case& c : cases) {
    INFO("text: " << c.text);
    auto result = parse_resources(c.text);
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == c.code);
    CHECK_THAT(result.error().message, Catch::Contains(c.mentions));
    CHECK_THAT(result.error().message, Catch::StartsWith("bad resource '"));
  }
}

TEST_CASE("to_string annotates what the agent syntax cannot say", "[resources]") {
  CHECK(to_string(make({allocated(dynamic_to(scalar("cpus", 2), "web"), "web")})) ==
        "cpus(web)[allocated=web,dynamic,principal=ops]:2");
  CHECK(to_string(make({revocable(old_dynamic(scalar("cpus", 2), "db", "me"))})) ==
        "cpus(db)[dynamic,principal=me,revocable]:2");
  CHECK(to_string(make({shared(volume(static_to(scalar("disk", 64), "web"), "v1"))})) ==
        "disk(web)[volume=v1,shared]:64");
  CHECK(to_string(Resources{}).empty());
  std::ostringstream out;
  out << parsed("cpus:0.125;mem:3.5");
  CHECK(out.str() == "cpus:0.125;mem:3.5");
  // What to_string prints for plain resources parses back to the same resources.
  const Resources plain = parsed("cpus(web):1.5;mem:2;ports:[1-3,7-9];zones:{q,r}");
  CHECK(parsed(to_string(plain)) == plain);
  CHECK_FALSE(parse_resources(to_string(make({revocable(scalar("cpus", 1))}))).has_value());
}

TEST_CASE("offer_resources sums an offer", "[resources]") {
  mesos::v1::Offer offer;
  offer.mutable_id()->set_value("o1");
  *offer.add_resources() = allocated(scalar("cpus", 1), "web");
  *offer.add_resources() = allocated(scalar("cpus", 0.5), "web");
  *offer.add_resources() = allocated(ranges("ports", {{1, 5}}), "web");
  auto r = heatblast::offer_resources(offer);
  REQUIRE(r.has_value());
  CHECK(r->size() == 2);
  CHECK(r->scalar("cpus") == 1.5);

  *offer.add_resources() = scalar("mem", -4);
  auto bad = heatblast::offer_resources(offer);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code == errc::invalid_resource);
  CHECK_THAT(bad.error().message, Catch::Contains("offer 'o1'") && Catch::Contains("#3 'mem'"));
}
