// Mesos resources as values: add, subtract and compare them the way a Mesos master does, parse
// an agent's `--resources` text, and carve the resources of a task out of an offer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/repeated_field.h>
#include <mesos/v1/mesos.pb.h>

#include "heatblast/error.hpp"

namespace heatblast {

// An inclusive range of integers, as in `Value.Range` (ports are the usual case).
struct Range {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;

  friend bool operator==(const Range&, const Range&) = default;
};

// How a resource says it is reserved. Masters send `pre_refinement` (the deprecated `role` plus
// an optional `reservation`) to frameworks without the RESERVATION_REFINEMENT capability and
// `post_refinement` (the `reservations` stack, `role` unset) to those with it.
enum class ResourceFormat { pre_refinement, post_refinement };

// Scalars are fixed-point with 3 decimals; values above this are rejected as invalid, so that
// the fixed-point arithmetic stays exact in a double.
inline constexpr double kMaxScalar = 1e12;

// Checks one resource as a master would before accepting it. Fails with errc::invalid_resource
// naming the resource and the rule: empty name; a TEXT or unknown type; a value field missing
// for the type or present for another type; a negative, NaN, infinite or too large scalar; a
// range with begin > end; a `reservation` with `type` or `role` set, or on role "*"; a
// `reservations` stack with an UNKNOWN type or an empty or "*" role, a refinement that is STATIC
// or not a sub-role of the level below, or `role`/`reservation` inconsistent with the stack;
// a `role` or allocation role that is not a valid role name (Mesos's rules); `disk` on a
// resource not named "disk"; `shared` on anything but a persistent volume.
Result<void> validate(const mesos::v1::Resource& resource);

// The role a resource is reserved to, read from either format: the top of the `reservations`
// stack, else `role`. "*" when unreserved.
std::string reservation_role(const mesos::v1::Resource& resource);
bool is_reserved(const mesos::v1::Resource& resource);

// A normalized collection of valid `mesos::v1::Resource`s; a value type (copies are deep and
// independent; not for concurrent mutation from several threads, like any std container).
//
// Normalization, kept by every operation:
// - scalars are rounded to 3 decimals after every operation, so 0.1 + 0.2 == 0.3 and
//   subtraction never leaves dust; ranges are sorted and merged ([1-3] + [4-5] = [1-5]); set
//   items are sorted and unique; resources whose value is empty (0, no range, no item) vanish.
// - two resources are combined into one only when everything but their value is equal: name,
//   type, `role`, `reservation`, the `reservations` stack, `allocation_info`, `disk` (source and
//   persistence id; `disk.volume` is ignored, as Mesos does), `revocable`, `shared` and
//   `provider_id`. The two reservation formats are compared field by field, so `cpus(web)` in
//   the pre- and post-refinement formats stay two entries; use `converted()` to unify them.
// - persistent volumes, MOUNT and BLOCK disks and shared resources are indivisible: they never
//   merge with another entry and are subtracted or contained only whole. Adding the same shared
//   resource twice keeps two copies (a use count, as Mesos keeps one).
// Entries keep the order in which they first appeared.
class Resources {
 public:
  using value_type = mesos::v1::Resource;
  using const_iterator = std::vector<mesos::v1::Resource>::const_iterator;

  Resources() = default;

  // Validates (see `validate`) and normalizes; the error names the index of the first invalid
  // resource. These are the only ways in from protobuf, so a Resources is always valid.
  static Result<Resources> from_proto(const mesos::v1::Resource& resource);
  static Result<Resources> from_proto(
      const google::protobuf::RepeatedPtrField<mesos::v1::Resource>& resources);
  static Result<Resources> from_proto(std::span<const mesos::v1::Resource> resources);

  // The entries, in order: ready for `TaskInfo.resources` or `Offer.resources`.
  google::protobuf::RepeatedPtrField<mesos::v1::Resource> to_proto() const;
  std::vector<mesos::v1::Resource> to_vector() const { return resources_; }

  bool empty() const noexcept { return resources_.empty(); }
  // Number of entries (not of resource names).
  std::size_t size() const noexcept { return resources_.size(); }
  const_iterator begin() const noexcept { return resources_.begin(); }
  const_iterator end() const noexcept { return resources_.end(); }

  // True when every entry of `that` is inside an entry of `*this` with the same identity (see
  // above): scalars <=, ranges and sets as subsets, indivisible ones equal. Resources of another
  // role, reservation or allocation never count.
  bool contains(const Resources& that) const;

  // Union: scalars add; ranges and sets are unions, so overlapping ranges count once and
  // (a + b) - b == a holds only when a and b share no range or item of the same identity.
  Resources& operator+=(const Resources& that);
  // Saturating difference, as Mesos subtracts: each entry of `that` is taken from the entry of
  // `*this` with the same identity; a scalar stops at 0, ranges and sets lose what they have in
  // common, indivisible entries go only when equal; what `*this` does not have is ignored.
  // Use `subtract()` when that must be an error.
  Resources& operator-=(const Resources& that);

  friend Resources operator+(Resources left, const Resources& right) { return left += right; }
  friend Resources operator-(Resources left, const Resources& right) { return left -= right; }

  // `*this - that` when `contains(that)`; otherwise errc::insufficient_resources whose message
  // lists what is missing in the `to_string` syntax ("missing mem:256;ports:[5-5] ...").
  Result<Resources> subtract(const Resources& that) const;

  // Same resources, whatever the order of entries: a.contains(b) && b.contains(a).
  friend bool operator==(const Resources& left, const Resources& right);

  // Totals across every role, reservation and allocation, for resources of that name and type
  // (0 / empty when there is none): `scalar("cpus")`, `ranges("ports")` merged, `set(...)`
  // sorted and unique.
  double scalar(std::string_view name) const;
  std::vector<Range> ranges(std::string_view name) const;
  std::vector<std::string> set(std::string_view name) const;
  // The distinct names, in order of first appearance.
  std::vector<std::string> names() const;

  // The entries for which `predicate` is true.
  Resources filter(const std::function<bool(const mesos::v1::Resource&)>& predicate) const;
  // Reserved to exactly `role` (top of the stack in the post-refinement format).
  Resources reserved(std::string_view role) const;
  // Reserved to any role / not reserved.
  Resources reserved() const;
  Resources unreserved() const;
  // With `allocation_info.role == role` (what an offer for that role carries).
  Resources allocated_to(std::string_view role) const;
  Resources revocable() const;
  Resources non_revocable() const;

  // Copies with `allocation_info.role` set to `role` on every entry (what a master does before
  // offering), or removed from every entry (to account task resources against an agent's total).
  Resources allocated(std::string_view role) const;
  Resources unallocated() const;

  // The same resources in the other reservation format, converted as Mesos converts them.
  // Converting to `pre_refinement` fails with errc::invalid_resource for a refined reservation
  // (a stack deeper than one), which that format cannot express.
  Result<Resources> converted(ResourceFormat format) const;

 private:
  // `resource` must be valid and normalized.
  void add(const mesos::v1::Resource& resource);
  void remove(const mesos::v1::Resource& resource);

  std::vector<mesos::v1::Resource> resources_;
};

// The agent's `--resources` syntax: `cpus:4;mem:8192;ports:[31000-32000]`, a reserved entry as
// `cpus(web):2`, sets as `{a,b}`, scalars with at most 3 decimals. Entries that the syntax cannot
// express get annotations in brackets after the name, which `parse_resources` rejects:
// `cpus(web)[allocated=web,dynamic,principal=ops,revocable]:2`, also `volume=<id>`,
// `source=MOUNT`, `shared`, `provider=<id>`. Empty resources give "".
std::string to_string(const Resources& resources);
std::string to_string(const mesos::v1::Resource& resource);
std::ostream& operator<<(std::ostream& out, const Resources& resources);

// Parses the agent's `--resources` text: entries separated by ';', each `name:value` or
// `name(role):value`, where value is a scalar (`4`, `0.5`), ranges (`[31000-32000,32005]`, a lone
// number being a one-port range) or a set (`{a,b,c}`). Whitespace around tokens is ignored and
// empty entries are skipped. A role other than "*" is a STATIC reservation, written in the
// post-refinement format (use `converted()` for the other). Repeated names add up.
// Errors name the offending entry: errc::invalid_argument for text that is not the syntax (bad
// name, role, number, brackets), errc::invalid_resource for well-formed values that are not
// valid resources (negative scalar, range with begin > end, one name with two types).
// The JSON form of `--resources` is not accepted.
Result<Resources> parse_resources(std::string_view text);

// The resources of an offer, validated (an invalid one fails with errc::invalid_resource).
Result<Resources> offer_resources(const mesos::v1::Offer& offer);

// What one task needs from an offer.
struct ResourceNeed {
  // Amounts by resource name: "cpus", "mem", "disk", "gpus" or any scalar resource. Rounded to 3
  // decimals; zero amounts are ignored.
  std::map<std::string, double, std::less<>> scalars;
  // How many ports to pick from the offer's "ports" ranges, besides `ports`.
  std::size_t port_count = 0;
  // Ports that must be in the offer (distinct).
  std::vector<std::uint64_t> ports;
  // When not empty, only resources allocated to this role (or without `allocation_info`) are
  // used. A multi-role framework names the role its task runs as.
  std::string role;
  // Revocable resources are used only when this is true.
  bool allow_revocable = false;
};

// The exact resources to put into a TaskInfo, carved out of `offered`: each returned resource is
// a copy of an offered entry (same `allocation_info`, `role`, `reservation(s)`, `disk`,
// `provider_id`) with a smaller value, so `offered.contains(result)` always holds.
//
// Which entries are used: never persistent volumes, MOUNT/BLOCK disks or shared resources (a need
// for them cannot be expressed as an amount); revocable ones only when allowed; only `role`'s when
// set. Reserved entries are drawn first (deeper refined reservations before shallower ones), then
// unreserved ones, each in offer order, so a task uses its role's guarantee before the shared pool
// and may draw from both.
//
// Ports: the specific `ports` first, then `port_count` more, deterministically: the lowest block
// of that many contiguous ports, looking first among reserved ports, then unreserved ones; when
// no block is long enough, the lowest free ports, reserved first. Picked ports are distinct, also
// when two offered entries hold the same port (which a master never sends; across several `take`
// calls such a port could be picked once from each entry).
//
// Order of the result: scalars by name, then ports. Errors: errc::invalid_argument for a negative
// or non-finite amount, duplicate specific ports, or a scalar need naming a resource the offer
// has with another type; errc::insufficient_resources naming everything that is short, e.g.
// "need 'mem' 512 but offer has 256; need 2 more 'ports' but offer has 1 free", where the
// offered amount counts only the entries this need may use.
Result<std::vector<mesos::v1::Resource>> allocate(const ResourceNeed& need,
                                                  const Resources& offered);

// Whether `allocate(need, offered)` would succeed.
bool fits(const ResourceNeed& need, const Resources& offered);

// For packing several tasks into one offer: allocates from `remaining` and, on success only,
// removes the allocation from it. Start with the offer's resources; what is left after the last
// task is what goes back to the master.
Result<std::vector<mesos::v1::Resource>> take(const ResourceNeed& need, Resources& remaining);

}  // namespace heatblast
