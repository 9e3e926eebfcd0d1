// Per-type tables that the JSON codec builds once from the protobuf descriptors: for each
// message, its fields in declaration order with what the codec needs to know about them, and a
// name index so a JSON key finds its field without a std::string or a descriptor-pool lookup.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

namespace heatblast::json::detail {

// The C++ representation of a field's values, which is all the codec cares about (sint32,
// fixed32 and sfixed32 are all kInt32, and so on).
enum class Kind : std::uint8_t {
  kInt32,
  kInt64,
  kUInt32,
  kUInt64,
  kDouble,
  kFloat,
  kBool,
  kString,
  kBytes,
  kEnum,
  kMessage,
};

// An immutable map from names to their positions 0..n-1: open addressing over a cheap hash of
// the length and three bytes, with a multiplier chosen at build time so that the names of one
// message rarely share a slot. The names are copied into one buffer next to the slots: compared in
// place in the descriptors, they cost a cache miss per key (profiled at ~20% of decoding).
class NameIndex {
 public:
  void build(const std::vector<std::string_view>& names);

  // The position of `name`, or -1.
  int find(std::string_view name) const noexcept {
    if (slots_.empty()) return -1;
    for (std::uint32_t i = slot_of(name);; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.position == 0) return -1;
      if (slot.length == name.size() &&
          same(chars_.data() + slot.offset, name.data(), name.size())) {
        return slot.position - 1;
      }
    }
  }

 private:
  struct Slot {
    std::uint32_t offset = 0;    // in chars_
    std::uint16_t length = 0;    // protobuf names are far shorter
    std::uint16_t position = 0;  // 0 = empty, else position + 1
  };

  // Equality of two runs of n bytes, in word-sized loads that stay inside both (the key lies in
  // the caller's buffer, so reading past its end is not allowed).
  static bool same(const char* a, const char* b, std::size_t n) noexcept {
    if (n >= 8) {
      for (std::size_t i = 0; i + 8 <= n; i += 8) {
        if (load<std::uint64_t>(a + i) != load<std::uint64_t>(b + i)) return false;
      }
      return load<std::uint64_t>(a + n - 8) == load<std::uint64_t>(b + n - 8);
    }
    if (n >= 4) {
      return load<std::uint32_t>(a) == load<std::uint32_t>(b) &&
             load<std::uint32_t>(a + n - 4) == load<std::uint32_t>(b + n - 4);
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (a[i] != b[i]) return false;
    }
    return true;
  }

  template <class T>
  static T load(const char* p) noexcept {
    T value;
    std::memcpy(&value, p, sizeof value);
    return value;
  }

  // Multiplicative hashing of the length and three bytes; `multiplier` is the seed (odd).
  static std::uint32_t hash(std::string_view s, std::uint32_t multiplier) noexcept {
    std::uint32_t key = static_cast<std::uint32_t>(s.size());
    if (!s.empty()) {
      key |= static_cast<std::uint32_t>(static_cast<std::uint8_t>(s.front())) << 8 |
             static_cast<std::uint32_t>(static_cast<std::uint8_t>(s[s.size() / 2])) << 16 |
             static_cast<std::uint32_t>(static_cast<std::uint8_t>(s.back())) << 24;
    }
    return key * multiplier;
  }

  std::uint32_t slot_of(std::string_view s) const noexcept { return hash(s, seed_) >> shift_; }

  std::string chars_;
  std::vector<Slot> slots_;
  std::uint32_t mask_ = 0;
  std::uint32_t shift_ = 0;  // the top bits of a multiplicative hash are the good ones
  std::uint32_t seed_ = 0;
};

struct EnumTable {
  const google::protobuf::EnumDescriptor* descriptor = nullptr;
  NameIndex index;                        // value name -> position in `numbers`
  std::vector<int> numbers;               // by position (declaration order)
  std::vector<std::string> quoted_names;  // by position: "\"NAME\"", ready to write
  // (number, position), sorted by number, for encoding; aliases keep the first name declared.
  std::vector<std::pair<int, int>> by_number;

  // The quoted name of `number`, or nullptr when the number has no name.
  const std::string* quoted_name(int number) const noexcept;
};

struct MessageTable;

struct FieldInfo {
  const google::protobuf::FieldDescriptor* field = nullptr;
  Kind kind = Kind::kInt32;
  bool repeated = false;
  bool map = false;  // a map<> field: `message` is the entry type's table
  // Unset, an explicit non-deprecated [default = ...], and not a member of a oneof (writing the
  // default of an unset oneof member would select that member when read back).
  bool emit_default = false;
  const MessageTable* message = nullptr;   // kMessage
  const EnumTable* enumeration = nullptr;  // kEnum
  std::string json_key;                    // "\"name\":", ready to write
  // The field's tag in protobuf's wire format (for one element, unpacked), for the decoder's
  // fast path that writes the wire format and lets the generated parser fill the message.
  google::protobuf::FieldDescriptor::Type type = google::protobuf::FieldDescriptor::TYPE_INT32;
  std::uint8_t tag_size = 0;
  char tag[5] = {};
  // A proto3 string: protobuf's parser rejects (and logs) one that is not valid UTF-8, which
  // the JSON mapping takes as it is, so the fast path leaves non-ASCII ones to reflection.
  bool parser_checks_utf8 = false;
};

struct MessageTable {
  const google::protobuf::Descriptor* descriptor = nullptr;
  std::vector<FieldInfo> fields;    // declaration order
  NameIndex index;                  // field name -> position in `fields`
  std::vector<int> default_fields;  // positions of the fields with emit_default
  // For a map entry type: its key and value fields.
  const FieldInfo* map_key = nullptr;
  const FieldInfo* map_value = nullptr;

  // The generated C++ class of this type and its reflection, when it has one.
  const std::type_info* generated_type = nullptr;
  const google::protobuf::Reflection* generated_reflection = nullptr;

  const FieldInfo* find(std::string_view name) const noexcept {
    const int i = index.find(name);
    return i < 0 ? nullptr : &fields[static_cast<std::size_t>(i)];
  }

  // m.GetReflection() without its cost (a virtual call into protobuf's lazy descriptor
  // assignment, measured at ~5% of decoding) when m is of the generated class.
  const google::protobuf::Reflection* reflection_of(const google::protobuf::Message& m) const {
    if (generated_type != nullptr && typeid(m) == *generated_type) return generated_reflection;
    return m.GetReflection();
  }
};

// The table of `descriptor` and of every type reachable from it, built on first use under a
// lock and kept for the life of the process; a thread asking for the same type as on its
// previous call takes no lock. The descriptor must outlive the process (generated types do; a
// type from a DescriptorPool that is destroyed later must not be passed).
const MessageTable& table_for(const google::protobuf::Descriptor* descriptor);

}  // namespace heatblast::json::detail
