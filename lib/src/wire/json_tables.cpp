#include "wire/json_tables.hpp"

#include <algorithm>
#include <bit>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <google/protobuf/descriptor.pb.h>

namespace heatblast::json::detail {
namespace {

namespace pb = google::protobuf;

Kind kind_of(const pb::FieldDescriptor* field) {
  switch (field->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32:
      return Kind::kInt32;
    case pb::FieldDescriptor::CPPTYPE_INT64:
      return Kind::kInt64;
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      return Kind::kUInt32;
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      return Kind::kUInt64;
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      return Kind::kDouble;
    case pb::FieldDescriptor::CPPTYPE_FLOAT:
      return Kind::kFloat;
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      return Kind::kBool;
    case pb::FieldDescriptor::CPPTYPE_ENUM:
      return Kind::kEnum;
    case pb::FieldDescriptor::CPPTYPE_STRING:
      return field->type() == pb::FieldDescriptor::TYPE_BYTES ? Kind::kBytes : Kind::kString;
    case pb::FieldDescriptor::CPPTYPE_MESSAGE:
      return Kind::kMessage;
  }
  return Kind::kMessage;
}

// The wire type an element of `info` is written with (repeated scalars unpacked: the parser
// takes both forms).
int wire_type_of(const FieldInfo& info) {
  switch (info.type) {
    case pb::FieldDescriptor::TYPE_DOUBLE:
    case pb::FieldDescriptor::TYPE_FIXED64:
    case pb::FieldDescriptor::TYPE_SFIXED64:
      return 1;
    case pb::FieldDescriptor::TYPE_FLOAT:
    case pb::FieldDescriptor::TYPE_FIXED32:
    case pb::FieldDescriptor::TYPE_SFIXED32:
      return 5;
    case pb::FieldDescriptor::TYPE_STRING:
    case pb::FieldDescriptor::TYPE_BYTES:
    case pb::FieldDescriptor::TYPE_MESSAGE:
      return 2;
    case pb::FieldDescriptor::TYPE_GROUP:
      return 3;
    default:
      return 0;
  }
}

void set_tag(FieldInfo& info) {
  std::uint32_t tag = static_cast<std::uint32_t>(info.field->number()) << 3 |
                      static_cast<std::uint32_t>(wire_type_of(info));
  info.tag_size = 0;
  while (tag >= 0x80) {
    info.tag[info.tag_size++] = static_cast<char>(tag | 0x80);
    tag >>= 7;
  }
  info.tag[info.tag_size++] = static_cast<char>(tag);
}

// Tables are built under one lock and never freed, so the pointers between them (a field's
// message or enum table) stay valid and need no synchronisation once published.
class Registry {
 public:
  const MessageTable& get(const pb::Descriptor* descriptor) {
    std::lock_guard<std::mutex> lock(mutex_);
    return *build(descriptor);
  }

 private:
  const MessageTable* build(const pb::Descriptor* descriptor) {
    auto [it, inserted] = messages_.try_emplace(descriptor);
    if (!inserted) return it->second.get();  // done, or being built higher up a recursive type
    it->second = std::make_unique<MessageTable>();
    MessageTable* table = it->second.get();
    table->descriptor = descriptor;
    table->fields.resize(static_cast<std::size_t>(descriptor->field_count()));
    std::vector<std::string_view> names;
    names.reserve(table->fields.size());
    for (int i = 0; i < descriptor->field_count(); ++i) {
      const pb::FieldDescriptor* field = descriptor->field(i);
      FieldInfo& info = table->fields[static_cast<std::size_t>(i)];
      info.field = field;
      info.kind = kind_of(field);
      info.repeated = field->is_repeated();
      info.map = field->is_map();
      info.emit_default = !info.repeated && field->has_default_value() &&
                          !field->options().deprecated() && field->containing_oneof() == nullptr;
      info.json_key = "\"" + field->name() + "\":";
      info.type = field->type();
      set_tag(info);
      info.parser_checks_utf8 = field->type() == pb::FieldDescriptor::TYPE_STRING &&
                                field->file()->syntax() == pb::FileDescriptor::SYNTAX_PROTO3;
      if (info.kind == Kind::kMessage) info.message = build(field->message_type());
      if (info.kind == Kind::kEnum) info.enumeration = build(field->enum_type());
      names.emplace_back(field->name());
      if (info.emit_default) table->default_fields.push_back(i);
    }
    table->index.build(names);
    // A DynamicMessage of a generated type has another class (and reflection), so the typeid
    // check in reflection_of() tells the two apart.
    if (descriptor->file()->pool() == pb::DescriptorPool::generated_pool()) {
      if (const pb::Message* prototype =
              pb::MessageFactory::generated_factory()->GetPrototype(descriptor)) {
        table->generated_type = &typeid(*prototype);
        table->generated_reflection = prototype->GetReflection();
      }
    }
    if (descriptor->options().map_entry()) {
      table->map_key = table->find("key");
      table->map_value = table->find("value");
    }
    return table;
  }

  const EnumTable* build(const pb::EnumDescriptor* descriptor) {
    auto& slot = enums_[descriptor];
    if (slot) return slot.get();
    slot = std::make_unique<EnumTable>();
    EnumTable& table = *slot;
    table.descriptor = descriptor;
    std::vector<std::string_view> names;
    for (int i = 0; i < descriptor->value_count(); ++i) {
      const pb::EnumValueDescriptor* value = descriptor->value(i);
      names.emplace_back(value->name());
      table.numbers.push_back(value->number());
      table.quoted_names.push_back("\"" + value->name() + "\"");
      table.by_number.emplace_back(value->number(), i);
    }
    // stable: with allow_alias, the first declared name of a number is its name on output.
    std::stable_sort(table.by_number.begin(), table.by_number.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    table.index.build(names);
    return &table;
  }

  std::mutex mutex_;
  std::unordered_map<const pb::Descriptor*, std::unique_ptr<MessageTable>> messages_;
  std::unordered_map<const pb::EnumDescriptor*, std::unique_ptr<EnumTable>> enums_;
};

}  // namespace

void NameIndex::build(const std::vector<std::string_view>& names) {
  chars_.clear();
  slots_.clear();
  if (names.empty()) return;
  std::vector<Slot> entries;
  for (std::size_t n = 0; n < names.size(); ++n) {
    entries.push_back({static_cast<std::uint32_t>(chars_.size()),
                       static_cast<std::uint16_t>(names[n].size()),
                       static_cast<std::uint16_t>(n + 1)});
    chars_.append(names[n]);
  }
  // At most half full, so probes stay short even when the seed search finds no perfect layout.
  const std::size_t size = std::max<std::size_t>(std::bit_ceil(names.size() * 2), 2);
  mask_ = static_cast<std::uint32_t>(size - 1);
  shift_ = static_cast<std::uint32_t>(32 - std::countr_zero(size));
  std::size_t best_collisions = SIZE_MAX;
  std::uint64_t state = 0;
  for (int attempt = 0; attempt < 64 && best_collisions > 0; ++attempt) {
    // splitmix64: a fresh odd multiplier per attempt, the same on every run
    state += 0x9E3779B97F4A7C15u;
    std::uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    const std::uint32_t seed = static_cast<std::uint32_t>(z ^ (z >> 31)) | 1u;
    std::vector<Slot> slots(size);
    std::size_t collisions = 0;
    for (std::size_t n = 0; n < names.size(); ++n) {
      std::uint32_t i = hash(names[n], seed) >> shift_;
      while (slots[i].position != 0) {
        ++collisions;
        i = (i + 1) & mask_;
      }
      slots[i] = entries[n];
    }
    if (collisions < best_collisions) {
      best_collisions = collisions;
      slots_ = std::move(slots);
      seed_ = seed;
    }
  }
}

const std::string* EnumTable::quoted_name(int number) const noexcept {
  auto it = std::lower_bound(by_number.begin(), by_number.end(), number,
                             [](const auto& entry, int n) { return entry.first < n; });
  if (it == by_number.end() || it->first != number) return nullptr;
  return &quoted_names[static_cast<std::size_t>(it->second)];
}

const MessageTable& table_for(const pb::Descriptor* descriptor) {
  // Most programs decode one or two root types over and over; remembering the last one per
  // thread keeps the lock off the hot path.
  thread_local const pb::Descriptor* last_descriptor = nullptr;
  thread_local const MessageTable* last_table = nullptr;
  if (descriptor == last_descriptor) return *last_table;
  // Leaked on purpose: decoding may run on threads that outlive static destruction.
  static Registry* const registry = new Registry;
  const MessageTable& table = registry->get(descriptor);
  last_descriptor = descriptor;
  last_table = &table;
  return table;
}

}  // namespace heatblast::json::detail
