// JSON -> protobuf, the way a Mesos master reads JSON (stout's protobuf.hpp `Parser`), with
// RapidJSON's SAX reader: no DOM. Two handlers: Transcoder, tried first, writes the protobuf
// wire format and lets the message's generated parser fill it; Decoder sets fields through
// reflection and runs whenever Transcoder gives up (errors, and the few shapes the wire format
// cannot express the same way). Decoder alone defines what is accepted and every error text.
//
// The text is copied once into a per-thread buffer and parsed in place (kParseInsituFlag):
// strings and keys are unescaped where they lie instead of being copied through the reader's
// stack. On offer-heavy event streams that measured ~335 MB/s against ~250 MB/s for parsing the
// caller's bytes directly (MemoryStream), copy included. RAPIDJSON_SSE2 string scanning was
// slower still: Mesos's strings are too short for it.
// Numbers arrive as their text (kParseNumbersAsStringsFlag) so that 64-bit integers are read
// exactly and doubles are rounded correctly (std::from_chars), neither of which RapidJSON's own
// number callbacks guarantee.
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/stubs/strutil.h>
#include <google/protobuf/text_format.h>
#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

#include "heatblast/json.hpp"
#include "wire/json_decode_paths.hpp"
#include "wire/json_tables.hpp"

namespace heatblast::json {
namespace {

namespace pb = google::protobuf;
using detail::FieldInfo;
using detail::Kind;
using detail::MessageTable;

constexpr unsigned kParseFlags = rapidjson::kParseInsituFlag |
                                 rapidjson::kParseNumbersAsStringsFlag |
                                 rapidjson::kParseNanAndInfFlag;

// A per-thread input copy larger than this is released after use rather than kept for the next
// call, so one huge message does not pin its size for the life of the thread.
constexpr std::size_t kMaxRetainedBuffer = std::size_t{4} << 20;

// ---------------------------------------------------------------------------------------------
// Numbers

enum class NumberStatus { kOk, kNotANumber, kNotAnInteger, kOutOfRange };

// The JSON number grammar, split into its parts. Leading zeros are tolerated (a number given
// as a string may be "007"); everything else follows RFC 8259.
struct Decimal {
  bool negative = false;
  std::string_view int_digits;
  std::string_view frac_digits;
  long exponent = 0;  // saturated far beyond any int64, so the arithmetic cannot overflow
};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool split_decimal(std::string_view s, Decimal& d) {
  std::size_t i = 0;
  auto digits = [&] {
    const std::size_t start = i;
    while (i < s.size() && is_digit(s[i]))
      ++i;
    return s.substr(start, i - start);
  };
  if (i < s.size() && s[i] == '-') {
    d.negative = true;
    ++i;
  }
  d.int_digits = digits();
  if (d.int_digits.empty()) return false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    d.frac_digits = digits();
    if (d.frac_digits.empty()) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool negative_exponent = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative_exponent = s[i++] == '-';
    const std::string_view e = digits();
    if (e.empty()) return false;
    long value = 0;
    for (char c : e)
      value = std::min(value * 10 + (c - '0'), 1'000'000L);
    d.exponent = negative_exponent ? -value : value;
  }
  return i == s.size();
}

// Reads an integer exactly from a JSON number's text (or a string holding one): "12", "-0",
// "1e3", "100.0" are integers; "1.5" is not; nothing goes through double.
template <class T>
NumberStatus parse_integer(std::string_view text, T& out) {
  const char* const first = text.data();
  const char* const last = first + text.size();
  const auto [ptr, ec] = std::from_chars(first, last, out);
  if (ptr == last) {
    if (ec == std::errc()) return NumberStatus::kOk;
    if (ec == std::errc::result_out_of_range) return NumberStatus::kOutOfRange;
  }
  // Fraction, exponent, or a minus sign on an unsigned type: compute the digits exactly.
  Decimal d;
  if (!split_decimal(text, d)) return NumberStatus::kNotANumber;
  std::string digits;
  digits.reserve(d.int_digits.size() + d.frac_digits.size() + 1);
  digits.append(d.int_digits).append(d.frac_digits);
  long exponent = d.exponent - static_cast<long>(d.frac_digits.size());
  const std::size_t lead = digits.find_first_not_of('0');
  if (lead == std::string::npos) {
    out = 0;
    return NumberStatus::kOk;
  }
  digits.erase(0, lead);
  while (digits.back() == '0') {
    digits.pop_back();
    ++exponent;
  }
  if (exponent < 0) return NumberStatus::kNotAnInteger;
  // 20 digits cover every uint64 and int64; anything longer is out of range for sure.
  if (static_cast<long>(digits.size()) + exponent > 20) return NumberStatus::kOutOfRange;
  digits.append(static_cast<std::size_t>(exponent), '0');
  if (d.negative) digits.insert(digits.begin(), '-');
  const auto [p, e] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
  // A minus sign on an unsigned type parses as nothing: a negative value, so out of range.
  if (e != std::errc() || p != digits.data() + digits.size()) return NumberStatus::kOutOfRange;
  return NumberStatus::kOk;
}

// Doubles and floats: a number, or the non-finite spellings Mesos reads and writes ("NaN",
// "Infinity", "-Infinity"; RapidJSON's bare tokens also allow "Inf" and "-Inf"). Rounded once,
// correctly, to the field's own type.
template <class T>
NumberStatus parse_floating(std::string_view text, T& out) {
  std::string_view rest = text;
  const bool negative = !rest.empty() && rest.front() == '-';
  if (negative) rest.remove_prefix(1);
  if (rest == "Infinity" || rest == "Inf") {
    out = negative ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
    return NumberStatus::kOk;
  }
  if (rest == "NaN") {
    out = std::numeric_limits<T>::quiet_NaN();
    return NumberStatus::kOk;
  }
  // from_chars also takes "inf", "nan(...)" and hex-free forms like ".5"; only the JSON-ish
  // spellings above and decimal numbers are meant to pass.
  if (rest.empty() || !(is_digit(rest.front()) || rest.front() == '.')) {
    return NumberStatus::kNotANumber;
  }
  const char* const last = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), last, out);
  if (ptr != last) return NumberStatus::kNotANumber;
  if (ec == std::errc::result_out_of_range) {
    // from_chars reports both ends of the range this way. Too large is an error; too small to
    // be anything but zero is zero, as strtod and Mesos's parser have it.
    Decimal d;
    if (!split_decimal(text, d)) return NumberStatus::kOutOfRange;
    const std::string digits = std::string(d.int_digits) + std::string(d.frac_digits);
    const std::size_t lead = digits.find_first_not_of('0');
    const long magnitude = d.exponent + static_cast<long>(d.int_digits.size()) -
                           static_cast<long>(lead == std::string::npos ? 0 : lead) - 1;
    if (magnitude >= 0) return NumberStatus::kOutOfRange;
    out = d.negative ? -T(0) : T(0);
    return NumberStatus::kOk;
  }
  if (ec != std::errc()) return NumberStatus::kNotANumber;
  return NumberStatus::kOk;
}

const char* type_name(Kind kind) {
  switch (kind) {
    case Kind::kInt32:
      return "int32";
    case Kind::kInt64:
      return "int64";
    case Kind::kUInt32:
      return "uint32";
    case Kind::kUInt64:
      return "uint64";
    case Kind::kDouble:
      return "double";
    case Kind::kFloat:
      return "float";
    case Kind::kBool:
      return "bool";
    case Kind::kString:
      return "string";
    case Kind::kBytes:
      return "bytes";
    case Kind::kEnum:
      return "enum";
    case Kind::kMessage:
      return "message";
  }
  return "?";
}

// What a field wants, for "expected ..., got ..." messages.
const char* expected(const FieldInfo& field) {
  if (field.map) return "an object (a map)";
  switch (field.kind) {
    case Kind::kInt32:
    case Kind::kInt64:
    case Kind::kUInt32:
    case Kind::kUInt64:
    case Kind::kDouble:
    case Kind::kFloat:
      return "a number";
    case Kind::kBool:
      return "true or false";
    case Kind::kString:
      return "a string";
    case Kind::kBytes:
      return "a base64 string";
    case Kind::kEnum:
      return "an enum name";
    case Kind::kMessage:
      return "an object";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------
// The SAX handler

// One open JSON object or array.
struct Frame {
  enum class Type : std::uint8_t { kMessage, kArray, kMap };
  Type type;
  // kMessage: the message being filled. kArray, kMap: the message owning the field.
  pb::Message* message;
  const pb::Reflection* reflection;
  // kMessage: the message's table.
  const MessageTable* table;
  // kMessage: the field named by the current key (nullptr before the first key, or when the key
  // is unknown). kArray, kMap: the repeated or map field.
  const FieldInfo* field;
  // kMap: the entry of the current key.
  pb::Message* entry;
  const pb::Reflection* entry_reflection;
  // kArray: elements seen so far.
  std::uint32_t count;
};

class Decoder {
 public:
  // `stream` parses `text` in place; the decoder reads its position to say where an error is.
  Decoder(pb::Message& root, const DecodeOptions& options, std::vector<Frame>& frames,
          const char* text, const rapidjson::InsituStringStream& stream);

  // RapidJSON's handler concept. Returning false stops the parse (kParseErrorTermination);
  // the reason is in error_text_.
  bool Null();
  bool Bool(bool value);
  bool RawNumber(const char* text, rapidjson::SizeType length, bool copy);
  bool String(const char* text, rapidjson::SizeType length, bool copy);
  bool StartObject();
  bool Key(const char* text, rapidjson::SizeType length, bool copy);
  bool EndObject(rapidjson::SizeType members);
  bool StartArray();
  bool EndArray(rapidjson::SizeType elements);
  // Never called with kParseNumbersAsStringsFlag, but part of the concept.
  bool Int(int) { return unexpected_number(); }
  bool Uint(unsigned) { return unexpected_number(); }
  bool Int64(std::int64_t) { return unexpected_number(); }
  bool Uint64(std::uint64_t) { return unexpected_number(); }
  bool Double(double) { return unexpected_number(); }

  bool failed() const { return failed_; }
  // The offset of the value (or key) that failed.
  std::size_t error_offset() const { return static_cast<std::size_t>(value_ - text_); }
  errc error_code() const { return error_code_; }
  const std::string& error_text() const { return error_text_; }
  // Where the parse is, as `offers[2].resources[0].scalar.value`.
  std::string path() const;

 private:
  // Where a value goes: a field of a message, appended to when `add`.
  struct Target {
    pb::Message* message;
    const pb::Reflection* reflection;
    const FieldInfo* field;
    bool add;
    bool in_array;
  };

  bool target(Target& t);
  bool push_message(pb::Message* message, const MessageTable* table);
  bool enter_skip();
  bool set_number(const Target& t, std::string_view text);
  template <class T>
  bool read_number(std::string_view text, Kind kind, T& out);
  bool set_map_key(pb::Message* entry, const pb::Reflection* reflection, const FieldInfo& key,
                   std::string_view text);
  bool mismatch(const FieldInfo& field, const char* got);
  bool fail(errc code, std::string text);
  // Out of line: building the message inline slowed the hot path that pushes frames.
  [[gnu::cold, gnu::noinline]] bool too_deep();
  bool unexpected_number() { return fail(errc::json_syntax, "unexpected number callback"); }

  // The start of the current value: `length` bytes back from where the parse is, or, for
  // strings and numbers, from the text the reader hands over (in place, so inside text_).
  void value_at(const char* start) { value_ = start; }
  void value_back(std::size_t length) { value_ = stream_.src_ - length; }

  pb::Message& root_;
  const MessageTable& root_table_;
  const char* const text_;
  const rapidjson::InsituStringStream& stream_;
  const char* value_;
  std::vector<Frame>& frames_;
  std::size_t max_depth_;
  // Depth inside a value that is being skipped (under an unknown key); 0 when not skipping.
  std::size_t skip_depth_ = 0;
  bool failed_ = false;
  errc error_code_ = errc::ok;
  std::string error_text_;
};

Decoder::Decoder(pb::Message& root, const DecodeOptions& options, std::vector<Frame>& frames,
                 const char* text, const rapidjson::InsituStringStream& stream)
    : root_(root),
      root_table_(detail::table_for(root.GetDescriptor())),
      text_(text),
      stream_(stream),
      value_(text),
      frames_(frames),
      max_depth_(options.max_depth) {}

bool Decoder::fail(errc code, std::string text) {
  failed_ = true;
  error_code_ = code;
  error_text_ = std::move(text);
  return false;
}

bool Decoder::too_deep() {
  return fail(errc::json_too_deep, "nested deeper than " + std::to_string(max_depth_));
}

bool Decoder::mismatch(const FieldInfo& field, const char* got) {
  return fail(errc::json_type_mismatch,
              std::string("expected ") + expected(field) + ", got " + got);
}

bool Decoder::target(Target& t) {
  Frame& top = frames_.back();
  switch (top.type) {
    case Frame::Type::kMessage:
      if (top.field == nullptr) return false;
      t = {top.message, top.reflection, top.field, top.field->repeated, false};
      return true;
    case Frame::Type::kArray:
      ++top.count;
      t = {top.message, top.reflection, top.field, true, true};
      return true;
    case Frame::Type::kMap:
      t = {top.entry, top.entry_reflection, top.field->message->map_value, false, false};
      return true;
  }
  return false;
}

bool Decoder::push_message(pb::Message* message, const MessageTable* table) {
  if (frames_.size() >= max_depth_) {
    return too_deep();
  }
  frames_.push_back({Frame::Type::kMessage, message, table->reflection_of(*message), table, nullptr,
                     nullptr, nullptr, 0});
  return true;
}

bool Decoder::enter_skip() {
  if (frames_.size() + skip_depth_ >= max_depth_) {
    return too_deep();
  }
  ++skip_depth_;
  return true;
}

bool Decoder::Null() {
  if (skip_depth_ > 0) return true;
  value_back(4);
  if (frames_.empty()) return fail(errc::json_type_mismatch, "expected an object, got null");
  Frame& top = frames_.back();
  switch (top.type) {
    case Frame::Type::kMessage:
      // null = not set, also when an earlier duplicate key had set it.
      if (top.field != nullptr) top.reflection->ClearField(top.message, top.field->field);
      return true;
    case Frame::Type::kArray:
      ++top.count;  // a null element is no element
      return true;
    case Frame::Type::kMap:
      top.reflection->RemoveLast(top.message, top.field->field);  // the entry of this key
      top.entry = nullptr;
      return true;
  }
  return true;
}

bool Decoder::Bool(bool value) {
  if (skip_depth_ > 0) return true;
  value_back(value ? 4 : 5);
  if (frames_.empty()) return fail(errc::json_type_mismatch, "expected an object, got a bool");
  Target t;
  if (!target(t)) return true;
  if (t.field->kind != Kind::kBool) return mismatch(*t.field, value ? "true" : "false");
  if (t.add) {
    t.reflection->AddBool(t.message, t.field->field, value);
  } else {
    t.reflection->SetBool(t.message, t.field->field, value);
  }
  return true;
}

template <class T>
bool Decoder::read_number(std::string_view text, Kind kind, T& out) {
  NumberStatus status;
  if constexpr (std::is_floating_point_v<T>) {
    status = parse_floating(text, out);
  } else {
    status = parse_integer(text, out);
  }
  switch (status) {
    case NumberStatus::kOk:
      return true;
    case NumberStatus::kNotANumber:
      return fail(errc::json_bad_number, "'" + std::string(text) + "' is not a number");
    case NumberStatus::kNotAnInteger:
      return fail(errc::json_bad_number, "'" + std::string(text) + "' is not an integer");
    case NumberStatus::kOutOfRange:
      return fail(errc::json_bad_number,
                  "'" + std::string(text) + "' is out of range for " + type_name(kind));
  }
  return false;
}

bool Decoder::set_number(const Target& t, std::string_view text) {
  pb::Message* m = t.message;
  const pb::Reflection* r = t.reflection;
  const pb::FieldDescriptor* f = t.field->field;
  switch (t.field->kind) {
    case Kind::kInt32: {
      std::int32_t v;
      if (!read_number(text, Kind::kInt32, v)) return false;
      t.add ? r->AddInt32(m, f, v) : r->SetInt32(m, f, v);
      return true;
    }
    case Kind::kInt64: {
      std::int64_t v;
      if (!read_number(text, Kind::kInt64, v)) return false;
      t.add ? r->AddInt64(m, f, v) : r->SetInt64(m, f, v);
      return true;
    }
    case Kind::kUInt32: {
      std::uint32_t v;
      if (!read_number(text, Kind::kUInt32, v)) return false;
      t.add ? r->AddUInt32(m, f, v) : r->SetUInt32(m, f, v);
      return true;
    }
    case Kind::kUInt64: {
      std::uint64_t v;
      if (!read_number(text, Kind::kUInt64, v)) return false;
      t.add ? r->AddUInt64(m, f, v) : r->SetUInt64(m, f, v);
      return true;
    }
    case Kind::kDouble: {
      double v;
      if (!read_number(text, Kind::kDouble, v)) return false;
      t.add ? r->AddDouble(m, f, v) : r->SetDouble(m, f, v);
      return true;
    }
    case Kind::kFloat: {
      float v;
      if (!read_number(text, Kind::kFloat, v)) return false;
      t.add ? r->AddFloat(m, f, v) : r->SetFloat(m, f, v);
      return true;
    }
    default:
      return mismatch(*t.field, "a number");
  }
}

bool Decoder::RawNumber(const char* text, rapidjson::SizeType length, bool) {
  if (skip_depth_ > 0) return true;
  value_at(text);
  if (frames_.empty()) return fail(errc::json_type_mismatch, "expected an object, got a number");
  Target t;
  if (!target(t)) return true;
  return set_number(t, std::string_view(text, length));
}

bool Decoder::String(const char* text, rapidjson::SizeType length, bool) {
  if (skip_depth_ > 0) return true;
  value_at(text - 1);  // the opening quote
  if (frames_.empty()) return fail(errc::json_type_mismatch, "expected an object, got a string");
  Target t;
  if (!target(t)) return true;
  pb::Message* m = t.message;
  const pb::Reflection* r = t.reflection;
  const pb::FieldDescriptor* f = t.field->field;
  const std::string_view s(text, length);
  switch (t.field->kind) {
    case Kind::kString:
      t.add ? r->AddString(m, f, std::string(s)) : r->SetString(m, f, std::string(s));
      return true;
    case Kind::kBytes: {
      // protobuf's decoder matches stout's rules: standard alphabet, padding optional,
      // whitespace skipped, anything else rejected (see json_encode.cpp for the choice).
      std::string bytes;
      if (!pb::Base64Unescape(pb::StringPiece(text, length), &bytes)) {
        return fail(errc::json_bad_base64, "invalid base64");
      }
      t.add ? r->AddString(m, f, std::move(bytes)) : r->SetString(m, f, std::move(bytes));
      return true;
    }
    case Kind::kEnum: {
      const int i = t.field->enumeration->index.find(s);
      if (i < 0) {
        // A name from a newer schema: skipped, as Mesos does. In a map, with its entry.
        Frame& top = frames_.back();
        if (top.type == Frame::Type::kMap) {
          top.reflection->RemoveLast(top.message, top.field->field);
          top.entry = nullptr;
        }
        return true;
      }
      const int number = t.field->enumeration->numbers[static_cast<std::size_t>(i)];
      t.add ? r->AddEnumValue(m, f, number) : r->SetEnumValue(m, f, number);
      return true;
    }
    case Kind::kBool:
      if (s != "true" && s != "false") return mismatch(*t.field, "a string");
      t.add ? r->AddBool(m, f, s == "true") : r->SetBool(m, f, s == "true");
      return true;
    case Kind::kMessage:
      return mismatch(*t.field, "a string");
    default:
      return set_number(t, s);
  }
}

bool Decoder::StartObject() {
  value_back(1);
  if (skip_depth_ > 0) return enter_skip();
  if (frames_.empty()) return push_message(&root_, &root_table_);
  Target t;
  if (!target(t)) return enter_skip();
  const FieldInfo& field = *t.field;
  if (field.kind != Kind::kMessage) return mismatch(field, "an object");
  if (field.map) {
    if (frames_.size() >= max_depth_) {
      return too_deep();
    }
    frames_.push_back(
        {Frame::Type::kMap, t.message, t.reflection, nullptr, &field, nullptr, nullptr, 0});
    return true;
  }
  pb::Message* child = t.add ? t.reflection->AddMessage(t.message, field.field)
                             : t.reflection->MutableMessage(t.message, field.field);
  return push_message(child, field.message);
}

bool Decoder::StartArray() {
  value_back(1);
  if (skip_depth_ > 0) return enter_skip();
  if (frames_.empty()) return fail(errc::json_type_mismatch, "expected an object, got an array");
  Target t;
  if (!target(t)) return enter_skip();
  if (t.in_array) return fail(errc::json_type_mismatch, "an array inside an array");
  if (!t.field->repeated || t.field->map) return mismatch(*t.field, "an array");
  if (frames_.size() >= max_depth_) {
    return too_deep();
  }
  frames_.push_back(
      {Frame::Type::kArray, t.message, t.reflection, nullptr, t.field, nullptr, nullptr, 0});
  return true;
}

bool Decoder::set_map_key(pb::Message* entry, const pb::Reflection* r, const FieldInfo& key,
                          std::string_view text) {
  const pb::FieldDescriptor* f = key.field;
  auto bad_key = [&] {
    return fail(errc::json_bad_number,
                "map key '" + std::string(text) + "' is not a valid " + type_name(key.kind));
  };
  switch (key.kind) {
    case Kind::kString:
      r->SetString(entry, f, std::string(text));
      return true;
    case Kind::kBool:
      if (text != "true" && text != "false") return bad_key();
      r->SetBool(entry, f, text == "true");
      return true;
    case Kind::kInt32: {
      std::int32_t v;
      if (parse_integer(text, v) != NumberStatus::kOk) return bad_key();
      r->SetInt32(entry, f, v);
      return true;
    }
    case Kind::kInt64: {
      std::int64_t v;
      if (parse_integer(text, v) != NumberStatus::kOk) return bad_key();
      r->SetInt64(entry, f, v);
      return true;
    }
    case Kind::kUInt32: {
      std::uint32_t v;
      if (parse_integer(text, v) != NumberStatus::kOk) return bad_key();
      r->SetUInt32(entry, f, v);
      return true;
    }
    case Kind::kUInt64: {
      std::uint64_t v;
      if (parse_integer(text, v) != NumberStatus::kOk) return bad_key();
      r->SetUInt64(entry, f, v);
      return true;
    }
    default:
      return fail(errc::json_type_mismatch, "unsupported map key type");
  }
}

bool Decoder::Key(const char* text, rapidjson::SizeType length, bool) {
  if (skip_depth_ > 0) return true;
  value_at(text - 1);
  Frame& top = frames_.back();
  const std::string_view key(text, length);
  if (top.type == Frame::Type::kMessage) {
    top.field = top.table->find(key);  // nullptr: unknown, its value is skipped
    return true;
  }
  // kMap: each key is a new entry; its value goes into the entry's value field.
  top.entry = top.reflection->AddMessage(top.message, top.field->field);
  if (top.entry_reflection == nullptr) {
    top.entry_reflection = top.field->message->reflection_of(*top.entry);
  }
  return set_map_key(top.entry, top.entry_reflection, *top.field->message->map_key, key);
}

bool Decoder::EndObject(rapidjson::SizeType) {
  if (skip_depth_ > 0) {
    --skip_depth_;
    return true;
  }
  frames_.pop_back();
  return true;
}

// An array's end leaves its frame (or the skipped value) as an object's does.
bool Decoder::EndArray(rapidjson::SizeType elements) {
  return EndObject(elements);
}

std::string Decoder::path() const {
  std::string path;
  for (const Frame& frame : frames_) {
    switch (frame.type) {
      case Frame::Type::kMessage:
        if (frame.field != nullptr) {
          if (!path.empty()) path += '.';
          path += frame.field->field->name();
        }
        break;
      case Frame::Type::kArray:
        if (frame.count > 0) path += '[' + std::to_string(frame.count - 1) + ']';
        break;
      case Frame::Type::kMap: {
        if (frame.entry == nullptr) break;
        const FieldInfo& key = *frame.field->message->map_key;
        std::string text;
        pb::TextFormat::PrintFieldValueToString(*frame.entry, key.field, -1, &text);
        path += '[' + text + ']';
        break;
      }
    }
  }
  return path;
}

// ---------------------------------------------------------------------------------------------
// The fast path: JSON -> protobuf wire format -> the generated parser

// A second SAX handler that writes the message in protobuf's wire format instead of setting
// fields through reflection; the message's own parser (generated, table-driven) then fills it.
// Reflection's per-field bookkeeping (offset and has-bit lookups, usage checks) was most of the
// decoder's time; writing tags and values into one buffer is a few stores.
//
// It accepts a subset of what Decoder accepts, with the same rules for what it accepts, and
// gives up (returns false) on anything else: every error, and the cases the wire format cannot
// express the way Decoder's reflection calls do (`null` for a known field, which clears what an
// earlier duplicate key set; maps, where an entry may be dropped after its key was seen; groups).
// decode() then runs Decoder on the same text, so results and error messages are Decoder's.
struct WireFrame {
  const MessageTable* table;  // nullptr for an array
  const FieldInfo* field;     // the current key's field (message), the repeated field (array)
  std::size_t length_at;      // where the message's length goes (npos for the root)
};

class Transcoder {
 public:
  Transcoder(const MessageTable& root, std::size_t max_depth, std::string& out, std::string& bytes,
             std::vector<WireFrame>& frames)
      : root_(root), max_depth_(max_depth), out_(out), bytes_(bytes), frames_(frames) {}

  bool Null();
  bool Bool(bool value);
  bool RawNumber(const char* text, rapidjson::SizeType length, bool copy);
  bool String(const char* text, rapidjson::SizeType length, bool copy);
  bool StartObject();
  bool Key(const char* text, rapidjson::SizeType length, bool copy);
  bool EndObject(rapidjson::SizeType members);
  bool StartArray();
  bool EndArray(rapidjson::SizeType elements);
  bool Int(int) { return false; }
  bool Uint(unsigned) { return false; }
  bool Int64(std::int64_t) { return false; }
  bool Uint64(std::uint64_t) { return false; }
  bool Double(double) { return false; }

  // The bytes written (out_ is grown ahead and may hold more).
  std::size_t size() const { return used_; }

 private:
  // A message's length is written after its fields, into 5 bytes kept free for it: a varint
  // padded with continuation bits, which every protobuf parser reads as the same number.
  static constexpr std::size_t kLengthBytes = 5;

  // The field a value goes to, or nullptr when it is skipped (an unknown key).
  const FieldInfo* target() const { return frames_.back().field; }
  bool in_array() const { return frames_.back().table == nullptr; }

  char* reserve(std::size_t n) {
    if (used_ + n > out_.size()) out_.resize(std::max(out_.size() * 2, used_ + n + 256));
    return out_.data() + used_;
  }
  static char* put_varint(char* p, std::uint64_t v) {
    while (v >= 0x80) {
      *p++ = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    *p++ = static_cast<char>(v);
    return p;
  }
  template <class T>
  static char* put_fixed(char* p, T v) {
    std::memcpy(p, &v, sizeof v);  // the wire format is little-endian, like x86 and arm64
    return p + sizeof v;
  }
  // Writes one element of `field` whose value is a varint or fixed-size number.
  void put_tag(char*& p, const FieldInfo& field) {
    std::memcpy(p, field.tag, sizeof field.tag);
    p += field.tag_size;
  }
  bool put_number(const FieldInfo& field, std::string_view text);
  void put_delimited(const FieldInfo& field, const char* data, std::size_t length);
  bool enter_skip() {
    if (frames_.size() + skip_depth_ >= max_depth_) return false;
    ++skip_depth_;
    return true;
  }

  const MessageTable& root_;
  const std::size_t max_depth_;
  std::string& out_;
  std::string& bytes_;  // a base64 field's decoded value
  std::vector<WireFrame>& frames_;
  std::size_t used_ = 0;
  std::size_t skip_depth_ = 0;
};

bool Transcoder::Null() {
  if (skip_depth_ > 0) return true;
  if (frames_.empty()) return false;
  // In an array: no element. For an unknown key: nothing. For a field: give up (see above).
  return in_array() || target() == nullptr;
}

bool Transcoder::Bool(bool value) {
  if (skip_depth_ > 0) return true;
  if (frames_.empty()) return false;
  const FieldInfo* field = target();
  if (field == nullptr) return true;
  if (field->kind != Kind::kBool) return false;
  char* p = reserve(6);
  put_tag(p, *field);
  *p++ = value ? 1 : 0;
  used_ = static_cast<std::size_t>(p - out_.data());
  return true;
}

bool Transcoder::put_number(const FieldInfo& field, std::string_view text) {
  char* p = reserve(15);
  put_tag(p, field);
  using T = pb::FieldDescriptor::Type;
  switch (field.kind) {
    case Kind::kInt32: {
      std::int32_t v;
      if (parse_integer(text, v) != NumberStatus::kOk) return false;
      if (field.type == T::TYPE_SINT32) {
        p = put_varint(p,
                       (static_cast<std::uint32_t>(v) << 1) ^ static_cast<std::uint32_t>(v >> 31));
      } else if (field.type == T::TYPE_SFIXED32) {
        p = put_fixed(p, v);
      } else {
        p = put_varint(p, static_cast<std::uint64_t>(static_cast<std::int64_t>(v)));
      }
      break;
    }
    case Kind::kInt64: {
      std::int64_t v;
      if (parse_integer(text, v) != NumberStatus::kOk) return false;
      if (field.type == T::TYPE_SINT64) {
        p = put_varint(p,
                       (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
      } else if (field.type == T::TYPE_SFIXED64) {
        p = put_fixed(p, v);
      } else {
        p = put_varint(p, static_cast<std::uint64_t>(v));
      }
      break;
    }
    case Kind::kUInt32: {
      std::uint32_t v;
      if (parse_integer(text, v) != NumberStatus::kOk) return false;
      p = field.type == T::TYPE_FIXED32 ? put_fixed(p, v) : put_varint(p, v);
      break;
    }
    case Kind::kUInt64: {
      std::uint64_t v;
      if (parse_integer(text, v) != NumberStatus::kOk) return false;
      p = field.type == T::TYPE_FIXED64 ? put_fixed(p, v) : put_varint(p, v);
      break;
    }
    case Kind::kDouble: {
      double v;
      if (parse_floating(text, v) != NumberStatus::kOk) return false;
      p = put_fixed(p, v);
      break;
    }
    case Kind::kFloat: {
      float v;
      if (parse_floating(text, v) != NumberStatus::kOk) return false;
      p = put_fixed(p, v);
      break;
    }
    default:
      return false;
  }
  used_ = static_cast<std::size_t>(p - out_.data());
  return true;
}

void Transcoder::put_delimited(const FieldInfo& field, const char* data, std::size_t length) {
  char* p = reserve(15 + length);
  put_tag(p, field);
  p = put_varint(p, length);
  std::memcpy(p, data, length);
  used_ = static_cast<std::size_t>(p + length - out_.data());
}

bool Transcoder::RawNumber(const char* text, rapidjson::SizeType length, bool) {
  if (skip_depth_ > 0) return true;
  if (frames_.empty()) return false;
  const FieldInfo* field = target();
  if (field == nullptr) return true;
  return put_number(*field, std::string_view(text, length));
}

bool Transcoder::String(const char* text, rapidjson::SizeType length, bool) {
  if (skip_depth_ > 0) return true;
  if (frames_.empty()) return false;
  const FieldInfo* field = target();
  if (field == nullptr) return true;
  const std::string_view s(text, length);
  switch (field->kind) {
    case Kind::kString:
      if (field->parser_checks_utf8 &&
          std::any_of(text, text + length, [](char c) { return (c & 0x80) != 0; })) {
        return false;
      }
      put_delimited(*field, text, length);
      return true;
    case Kind::kBytes:
      if (!pb::Base64Unescape(pb::StringPiece(text, length), &bytes_)) return false;
      put_delimited(*field, bytes_.data(), bytes_.size());
      return true;
    case Kind::kEnum: {
      const int i = field->enumeration->index.find(s);
      if (i < 0) return true;  // a name from a newer schema: skipped (maps are not taken here)
      char* p = reserve(15);
      put_tag(p, *field);
      const int number = field->enumeration->numbers[static_cast<std::size_t>(i)];
      p = put_varint(p, static_cast<std::uint64_t>(static_cast<std::int64_t>(number)));
      used_ = static_cast<std::size_t>(p - out_.data());
      return true;
    }
    case Kind::kBool:
      if (s != "true" && s != "false") return false;
      return Bool(s == "true");
    case Kind::kMessage:
      return false;
    default:
      return put_number(*field, s);
  }
}

bool Transcoder::StartObject() {
  if (skip_depth_ > 0) return enter_skip();
  if (frames_.empty()) {
    frames_.push_back({&root_, nullptr, std::string::npos});
    return max_depth_ > 0;
  }
  const FieldInfo* field = target();
  if (field == nullptr) return enter_skip();
  if (field->kind != Kind::kMessage || field->map ||
      field->type != pb::FieldDescriptor::TYPE_MESSAGE) {
    return false;
  }
  if (frames_.size() >= max_depth_) return false;
  char* p = reserve(field->tag_size + kLengthBytes);
  put_tag(p, *field);
  const std::size_t length_at = static_cast<std::size_t>(p - out_.data());
  used_ = length_at + kLengthBytes;
  frames_.push_back({field->message, nullptr, length_at});
  return true;
}

bool Transcoder::StartArray() {
  if (skip_depth_ > 0) return enter_skip();
  if (frames_.empty()) return false;
  const FieldInfo* field = target();
  if (field == nullptr) return enter_skip();
  if (in_array() || !field->repeated || field->map) return false;
  if (frames_.size() >= max_depth_) return false;
  frames_.push_back({nullptr, field, std::string::npos});
  return true;
}

bool Transcoder::Key(const char* text, rapidjson::SizeType length, bool) {
  if (skip_depth_ > 0) return true;
  WireFrame& top = frames_.back();
  top.field = top.table->find(std::string_view(text, length));
  return true;
}

bool Transcoder::EndObject(rapidjson::SizeType) {
  if (skip_depth_ > 0) {
    --skip_depth_;
    return true;
  }
  const std::size_t at = frames_.back().length_at;
  frames_.pop_back();
  if (at == std::string::npos) return true;
  const std::size_t length = used_ - at - kLengthBytes;
  if (length >= (std::size_t{1} << 31)) return false;  // beyond what protobuf parses
  char* p = out_.data() + at;
  for (std::size_t i = 0; i < kLengthBytes - 1; ++i) {
    p[i] = static_cast<char>((length >> (7 * i)) | 0x80);
  }
  p[kLengthBytes - 1] = static_cast<char>(length >> (7 * (kLengthBytes - 1)));
  return true;
}

bool Transcoder::EndArray(rapidjson::SizeType) {
  if (skip_depth_ > 0) {
    --skip_depth_;
    return true;
  }
  frames_.pop_back();
  return true;
}

// The copy of the input that RapidJSON parses in place, and the frame stacks and the wire
// buffer, kept per thread so that steady-state decoding allocates only what ends up in the
// message.
struct Scratch {
  std::string text;
  std::vector<Frame> frames;
  std::string wire;
  std::string bytes;
  std::vector<WireFrame> wire_frames;
};

// Shrinks a per-thread buffer that one huge message made large.
template <class Buffer>
void release_if_large(Buffer& buffer) {
  if (buffer.capacity() > kMaxRetainedBuffer) Buffer().swap(buffer);
}

Result<void> check_required(const pb::Message& out, const DecodeOptions& options) {
  if (options.check_required && !out.IsInitialized()) {
    std::vector<std::string> missing;
    out.FindInitializationErrors(&missing);
    std::string message = "JSON: missing required fields: ";
    for (std::size_t i = 0; i < missing.size(); ++i) {
      if (i > 0) message += ", ";
      message += "'" + missing[i] + "'";
    }
    return fail(errc::missing_required, std::move(message));
  }
  return {};
}

// The fast path; false when it gave up, and `out` then holds nothing useful.
bool decode_wire(std::string_view text, pb::Message& out, const DecodeOptions& options,
                 Scratch& scratch) {
  scratch.text.assign(text);
  scratch.wire_frames.clear();
  rapidjson::InsituStringStream stream(scratch.text.data());
  Transcoder transcoder(detail::table_for(out.GetDescriptor()), options.max_depth, scratch.wire,
                        scratch.bytes, scratch.wire_frames);
  rapidjson::Reader reader;
  const rapidjson::ParseResult parsed = reader.Parse<kParseFlags>(stream, transcoder);
  bool ok = parsed && stream.Tell() == text.size() &&
            transcoder.size() <= static_cast<std::size_t>(std::numeric_limits<int>::max());
  // Partial: required fields are checked afterwards, by the same code as for the slow path.
  ok = ok && out.ParsePartialFromArray(scratch.wire.data(), static_cast<int>(transcoder.size()));
  release_if_large(scratch.wire);
  release_if_large(scratch.bytes);
  release_if_large(scratch.text);
  return ok;
}

// The reflection decoder, with its error messages; required fields not checked.
Result<void> decode_slow(std::string_view text, pb::Message& out, const DecodeOptions& options,
                         Scratch& scratch) {
  out.Clear();
  scratch.text.assign(text);
  scratch.frames.clear();

  rapidjson::InsituStringStream stream(scratch.text.data());
  Decoder decoder(out, options, scratch.frames, scratch.text.data(), stream);
  rapidjson::Reader reader;
  const rapidjson::ParseResult parsed = reader.Parse<kParseFlags>(stream, decoder);
  // The parse stops at a NUL byte as if it were the end, so one inside the text is checked for.
  const bool stopped_early = parsed && stream.Tell() != text.size();
  std::string where;
  if (!parsed || stopped_early) where = decoder.path();
  release_if_large(scratch.text);

  if (!parsed || stopped_early) {
    const std::size_t offset = decoder.failed() ? decoder.error_offset()
                               : parsed         ? stream.Tell()
                                                : parsed.Offset();
    std::string message = "JSON: at byte " + std::to_string(offset);
    if (!where.empty()) message += " ('" + where + "')";
    message += ": ";
    if (decoder.failed()) {
      message += decoder.error_text();
      return fail(decoder.error_code(), std::move(message));
    }
    message += stopped_early ? "unexpected NUL byte" : rapidjson::GetParseError_En(parsed.Code());
    return fail(errc::json_syntax, std::move(message));
  }
  return {};
}

thread_local Scratch scratch;

}  // namespace

namespace detail {

bool decode_fast(std::string_view text, pb::Message& out, const DecodeOptions& options) {
  return decode_wire(text, out, options, scratch);
}

Result<void> decode_reflection(std::string_view text, pb::Message& out,
                               const DecodeOptions& options) {
  if (auto r = decode_slow(text, out, options, scratch); !r) return r;
  return check_required(out, options);
}

}  // namespace detail

Result<void> decode(std::string_view text, pb::Message& out, const DecodeOptions& options) {
  if (!decode_wire(text, out, options, scratch)) {
    if (auto r = decode_slow(text, out, options, scratch); !r) return r;
  }
  return check_required(out, options);
}

}  // namespace heatblast::json
