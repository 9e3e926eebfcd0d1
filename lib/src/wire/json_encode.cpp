// protobuf -> JSON, byte for byte what a Mesos master writes (stout's jsonify of a protobuf, on
// a RapidJSON Writer): compact, fields in declaration order, defaults of unset fields, doubles
// through RapidJSON's own dtoa (Grisu2, which always reads back to the same double) and the bare
// NaN/Infinity tokens of kWriteNanAndInfFlag. The text is appended to a std::string directly:
// keys and enum names are pre-quoted in the per-type tables, so no Writer state is needed.
//
// Base64 is protobuf's (google/protobuf/stubs/strutil.h, exported by libprotobuf 3.21): its
// encoder pads with '=' and uses the standard alphabet, and its decoder (json_decode.cpp) takes
// padding as optional, skips whitespace and rejects every other character, which is exactly
// stout's base64::decode. A hand-written codec would add code to test and nothing else.
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/stubs/strutil.h>
#include <rapidjson/internal/dtoa.h>

#include "heatblast/json.hpp"
#include "wire/json_tables.hpp"

namespace heatblast::json {
namespace {

namespace pb = google::protobuf;
using detail::FieldInfo;
using detail::Kind;
using detail::MessageTable;

// For each byte: 0 when it is written as is, else the letter after the backslash ('u' for
// \u00XX). The same set RapidJSON's Writer escapes; UTF-8 passes through untouched.
constexpr std::array<char, 256> kEscapes = [] {
  std::array<char, 256> table{};
  for (int c = 0; c < 0x20; ++c)
    table[static_cast<std::size_t>(c)] = 'u';
  table['\b'] = 'b';
  table['\f'] = 'f';
  table['\n'] = 'n';
  table['\r'] = 'r';
  table['\t'] = 't';
  table['"'] = '"';
  table['\\'] = '\\';
  return table;
}();

// The fields of one message being written, per nesting level, kept between calls (per thread)
// so that steady-state encoding does not allocate.
struct Level {
  std::vector<const pb::FieldDescriptor*> listed;
  std::vector<std::uint32_t> order;
};

class Encoder {
 public:
  Encoder(std::string& out, const EncodeOptions& options, std::deque<Level>& levels)
      : out_(out), emit_defaults_(options.emit_defaults), levels_(levels) {}

  void message(const pb::Message& m, const MessageTable& table);

 private:
  void singular(const pb::Message& m, const pb::Reflection* r, const FieldInfo& field);
  void repeated(const pb::Message& m, const pb::Reflection* r, const FieldInfo& field, int size);
  void map(const pb::Message& m, const pb::Reflection* r, const FieldInfo& field, int size);
  void default_value(const FieldInfo& field);
  bool map_key(const pb::Message& entry, const pb::Reflection* r, const FieldInfo& key);

  template <class T>
  void integer(T value) {
    char buffer[24];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    out_.append(buffer, result.ptr);
  }
  void floating(double value);
  void boolean(bool value) { out_ += value ? "true" : "false"; }
  void string(std::string_view s);
  void bytes(std::string_view s);

  std::string& out_;
  const bool emit_defaults_;
  std::deque<Level>& levels_;  // a deque: growing it keeps the outer levels in place
  std::size_t depth_ = 0;
  std::string scratch_;  // for GetStringReference of fields not stored as std::string
};

void Encoder::floating(double value) {
  if (std::isnan(value)) {
    out_ += "NaN";
  } else if (std::isinf(value)) {
    out_ += value < 0 ? "-Infinity" : "Infinity";
  } else {
    char buffer[32];  // dtoa writes at most 25
    out_.append(buffer, rapidjson::internal::dtoa(value, buffer));
  }
}

void Encoder::string(std::string_view s) {
  append_quoted(out_, s);
}

void Encoder::bytes(std::string_view s) {
  const int length = static_cast<int>(s.size());
  const int encoded_length = pb::CalculateBase64EscapedLen(length, true);
  const std::size_t start = out_.size() + 1;
  out_.resize(start + static_cast<std::size_t>(encoded_length) + 1);
  out_[start - 1] = '"';
  const int written = pb::Base64Escape(reinterpret_cast<const unsigned char*>(s.data()), length,
                                       out_.data() + start, encoded_length);
  out_.resize(start + static_cast<std::size_t>(written));
  out_ += '"';
}

void Encoder::message(const pb::Message& m, const MessageTable& table) {
  const pb::Reflection* r = table.reflection_of(m);
  if (levels_.size() <= depth_) levels_.emplace_back();
  Level& level = levels_[depth_];
  // ListFields reads the has-bits in one pass inside protobuf; HasField on every declared field
  // cost ~20% of encoding, as Mesos messages declare many fields and set few.
  r->ListFields(m, &level.listed);
  // Declaration positions, times two, plus one for "unset, write the default".
  std::vector<std::uint32_t>& order = level.order;
  order.clear();
  for (const pb::FieldDescriptor* f : level.listed) {
    if (!f->is_extension()) order.push_back(static_cast<std::uint32_t>(f->index()) << 1);
  }
  if (emit_defaults_) {
    for (const int i : table.default_fields) {
      if (!r->HasField(m, table.fields[static_cast<std::size_t>(i)].field)) {
        order.push_back(static_cast<std::uint32_t>(i) << 1 | 1);
      }
    }
  }
  if (!std::is_sorted(order.begin(), order.end())) std::sort(order.begin(), order.end());

  ++depth_;
  out_ += '{';
  bool first = true;
  auto key = [&](const FieldInfo& field) {
    if (!first) out_ += ',';
    first = false;
    out_ += field.json_key;
  };
  for (const std::uint32_t entry : order) {
    const FieldInfo& field = table.fields[entry >> 1];
    const pb::FieldDescriptor* f = field.field;
    if ((entry & 1) != 0) {
      key(field);
      default_value(field);
    } else if (field.repeated) {
      const int size = r->FieldSize(m, f);
      if (size == 0) continue;
      if (field.kind == Kind::kEnum) {
        // Values without a name (only an open, proto3 enum can hold them) are left out, as the
        // decoder leaves out names it does not know; a list of nothing but those is omitted.
        bool any = false;
        for (int i = 0; i < size && !any; ++i) {
          any = field.enumeration->quoted_name(r->GetRepeatedEnumValue(m, f, i)) != nullptr;
        }
        if (!any) continue;
      }
      key(field);
      if (field.map) {
        map(m, r, field, size);
      } else {
        repeated(m, r, field, size);
      }
    } else if (field.kind == Kind::kEnum) {
      const std::string* name = field.enumeration->quoted_name(r->GetEnumValue(m, f));
      if (name == nullptr) continue;
      key(field);
      out_ += *name;
    } else {
      key(field);
      singular(m, r, field);
    }
  }
  out_ += '}';
  --depth_;
}

void Encoder::singular(const pb::Message& m, const pb::Reflection* r, const FieldInfo& field) {
  const pb::FieldDescriptor* f = field.field;
  switch (field.kind) {
    case Kind::kInt32:
      integer(r->GetInt32(m, f));
      return;
    case Kind::kInt64:
      integer(r->GetInt64(m, f));
      return;
    case Kind::kUInt32:
      integer(r->GetUInt32(m, f));
      return;
    case Kind::kUInt64:
      integer(r->GetUInt64(m, f));
      return;
    case Kind::kDouble:
      floating(r->GetDouble(m, f));
      return;
    case Kind::kFloat:
      floating(r->GetFloat(m, f));
      return;
    case Kind::kBool:
      boolean(r->GetBool(m, f));
      return;
    case Kind::kString:
      string(r->GetStringReference(m, f, &scratch_));
      return;
    case Kind::kBytes:
      bytes(r->GetStringReference(m, f, &scratch_));
      return;
    case Kind::kEnum:
      out_ += *field.enumeration->quoted_name(r->GetEnumValue(m, f));
      return;
    case Kind::kMessage:
      message(r->GetMessage(m, f), *field.message);
      return;
  }
}

void Encoder::repeated(const pb::Message& m, const pb::Reflection* r, const FieldInfo& field,
                       int size) {
  const pb::FieldDescriptor* f = field.field;
  out_ += '[';
  // One switch per field rather than per element.
  auto each = [&](auto&& write) {
    for (int i = 0; i < size; ++i) {
      if (i > 0) out_ += ',';
      write(i);
    }
  };
  switch (field.kind) {
    case Kind::kInt32:
      each([&](int i) { integer(r->GetRepeatedInt32(m, f, i)); });
      break;
    case Kind::kInt64:
      each([&](int i) { integer(r->GetRepeatedInt64(m, f, i)); });
      break;
    case Kind::kUInt32:
      each([&](int i) { integer(r->GetRepeatedUInt32(m, f, i)); });
      break;
    case Kind::kUInt64:
      each([&](int i) { integer(r->GetRepeatedUInt64(m, f, i)); });
      break;
    case Kind::kDouble:
      each([&](int i) { floating(r->GetRepeatedDouble(m, f, i)); });
      break;
    case Kind::kFloat:
      each([&](int i) { floating(r->GetRepeatedFloat(m, f, i)); });
      break;
    case Kind::kBool:
      each([&](int i) { boolean(r->GetRepeatedBool(m, f, i)); });
      break;
    case Kind::kString:
      each([&](int i) { string(r->GetRepeatedStringReference(m, f, i, &scratch_)); });
      break;
    case Kind::kBytes:
      each([&](int i) { bytes(r->GetRepeatedStringReference(m, f, i, &scratch_)); });
      break;
    case Kind::kEnum: {
      bool first = true;
      for (int i = 0; i < size; ++i) {
        const std::string* name = field.enumeration->quoted_name(r->GetRepeatedEnumValue(m, f, i));
        if (name == nullptr) continue;
        if (!first) out_ += ',';
        first = false;
        out_ += *name;
      }
      break;
    }
    case Kind::kMessage:
      each([&](int i) { message(r->GetRepeatedMessage(m, f, i), *field.message); });
      break;
  }
  out_ += ']';
}

bool Encoder::map_key(const pb::Message& entry, const pb::Reflection* r, const FieldInfo& key) {
  const pb::FieldDescriptor* f = key.field;
  switch (key.kind) {
    case Kind::kString:
      string(r->GetStringReference(entry, f, &scratch_));
      return true;
    case Kind::kBool:
      out_ += r->GetBool(entry, f) ? "\"true\"" : "\"false\"";
      return true;
    case Kind::kInt32:
      out_ += '"';
      integer(r->GetInt32(entry, f));
      break;
    case Kind::kInt64:
      out_ += '"';
      integer(r->GetInt64(entry, f));
      break;
    case Kind::kUInt32:
      out_ += '"';
      integer(r->GetUInt32(entry, f));
      break;
    case Kind::kUInt64:
      out_ += '"';
      integer(r->GetUInt64(entry, f));
      break;
    default:
      return false;  // protobuf allows no other key types
  }
  out_ += '"';
  return true;
}

void Encoder::map(const pb::Message& m, const pb::Reflection* r, const FieldInfo& field, int size) {
  const MessageTable& entry_table = *field.message;
  const FieldInfo& key = *entry_table.map_key;
  const FieldInfo& value = *entry_table.map_value;
  out_ += '{';
  bool first = true;
  for (int i = 0; i < size; ++i) {
    const pb::Message& entry = r->GetRepeatedMessage(m, field.field, i);
    const pb::Reflection* er = entry.GetReflection();
    const std::string* enum_name = nullptr;
    if (value.kind == Kind::kEnum) {
      enum_name = value.enumeration->quoted_name(er->GetEnumValue(entry, value.field));
      if (enum_name == nullptr) continue;  // no name to write, as for enum fields
    }
    if (!first) out_ += ',';
    first = false;
    map_key(entry, er, key);
    out_ += ':';
    if (enum_name != nullptr) {
      out_ += *enum_name;
    } else {
      // A map value is always written in full, even when the entry left it unset.
      singular(entry, er, value);
    }
  }
  out_ += '}';
}

void Encoder::default_value(const FieldInfo& field) {
  const pb::FieldDescriptor* f = field.field;
  switch (field.kind) {
    case Kind::kInt32:
      integer(f->default_value_int32());
      return;
    case Kind::kInt64:
      integer(f->default_value_int64());
      return;
    case Kind::kUInt32:
      integer(f->default_value_uint32());
      return;
    case Kind::kUInt64:
      integer(f->default_value_uint64());
      return;
    case Kind::kDouble:
      floating(f->default_value_double());
      return;
    case Kind::kFloat:
      floating(f->default_value_float());
      return;
    case Kind::kBool:
      boolean(f->default_value_bool());
      return;
    case Kind::kString:
      string(f->default_value_string());
      return;
    case Kind::kBytes:
      bytes(f->default_value_string());
      return;
    case Kind::kEnum:
      out_ += *field.enumeration->quoted_name(f->default_value_enum()->number());
      return;
    case Kind::kMessage:
      out_ += "{}";
      return;  // cannot happen: messages have no default
  }
}

}  // namespace

void append_quoted(std::string& out, std::string_view s) {
  out += '"';
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char escape = kEscapes[static_cast<unsigned char>(s[i])];
    if (escape == 0) continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    out += '\\';
    out += escape;
    if (escape == 'u') {
      static constexpr char kHex[] = "0123456789ABCDEF";
      const auto c = static_cast<unsigned char>(s[i]);
      out += "00";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

void encode(const pb::Message& message, std::string& out, const EncodeOptions& options) {
  thread_local std::deque<Level> levels;
  Encoder encoder(out, options, levels);
  encoder.message(message, detail::table_for(message.GetDescriptor()));
}

}  // namespace heatblast::json
