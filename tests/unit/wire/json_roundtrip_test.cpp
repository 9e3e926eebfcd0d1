// Property tests: encode -> decode gives back the message, on messages filled at random (fixed
// seeds) with every field type, extreme values, awkward strings, maps and nesting.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/field_comparator.h>
#include <google/protobuf/util/message_differencer.h>
#include <catch2/catch.hpp>

#include "heatblast/json.hpp"
#include "json_test.pb.h"
#include "json_test_proto3.pb.h"

namespace json = heatblast::json;
namespace pb = google::protobuf;
using heatblast::jsontest::AllTypes;
using heatblast::jsontest::Defaults;
using heatblast::jsontest::Required;

namespace {

// Fills every field of a message through reflection, so a field added to the test proto is
// covered without touching this file.
class Filler {
 public:
  explicit Filler(std::uint64_t seed) : rng_(seed) {}

  void fill(pb::Message& m, int depth) {
    const pb::Descriptor* d = m.GetDescriptor();
    const pb::Reflection* r = m.GetReflection();
    for (int i = 0; i < d->field_count(); ++i) {
      const pb::FieldDescriptor* f = d->field(i);
      if (f->is_map()) {
        std::set<std::string> keys;
        for (int n = pick(0, 3); n > 0; --n) {
          pb::Message* entry = r->AddMessage(&m, f);
          set(*entry, f->message_type()->map_key(), depth);
          set(*entry, f->message_type()->map_value(), depth);
          std::string key;
          pb::TextFormat::PrintFieldValueToString(*entry, f->message_type()->map_key(), -1, &key);
          if (!keys.insert(key).second) r->RemoveLast(&m, f);  // keys are unique in a map
        }
      } else if (f->is_repeated()) {
        if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE && depth <= 0) continue;
        for (int n = pick(0, 3); n > 0; --n)
          add(m, f, depth);
      } else if (f->is_required() || pick(0, 2) > 0) {
        if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE && depth <= 0) continue;
        set(m, f, depth);
      }
    }
  }

 private:
  int pick(int low, int high) { return std::uniform_int_distribution<int>(low, high)(rng_); }

  template <class T>
  T integer() {
    const T special[] = {0,
                         1,
                         static_cast<T>(-1),
                         std::numeric_limits<T>::min(),
                         std::numeric_limits<T>::max(),
                         static_cast<T>(9007199254740993ULL)};
    if (pick(0, 1) == 0) return special[pick(0, 5)];
    return static_cast<T>(rng_());
  }

  template <class T, class Bits>
  T floating() {
    const T special[] = {T(0),
                         -T(0),
                         T(0.1),
                         T(5),
                         std::numeric_limits<T>::infinity(),
                         -std::numeric_limits<T>::infinity(),
                         std::numeric_limits<T>::quiet_NaN(),
                         std::numeric_limits<T>::denorm_min(),
                         std::numeric_limits<T>::min(),
                         std::numeric_limits<T>::max(),
                         std::numeric_limits<T>::lowest()};
    switch (pick(0, 2)) {
      case 0:
        return special[pick(0, 10)];
      case 1:
        return std::uniform_real_distribution<T>(-1e6, 1e6)(rng_);
      default: {  // any bit pattern: denormals, huge exponents, NaN payloads
        const Bits bits = static_cast<Bits>(rng_());
        T value;
        std::memcpy(&value, &bits, sizeof value);
        return value;
      }
    }
  }

  std::string text() {
    static const char* const kPieces[] = {
        "a",   "Z",  "0",  " ",    "\"",   "\\",   "/",        "\n",           "\t",
        "\r",  "\b", "\f", "\x01", "\x1f", "\x7f", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80",
        "key", "{}", "[",  ":",    ","};
    std::string s;
    for (int n = pick(0, 12); n > 0; --n) {
      s += kPieces[pick(0, static_cast<int>(std::size(kPieces)) - 1)];
    }
    if (pick(0, 7) == 0) s += std::string(1, '\0');
    return s;
  }

  std::string bytes() {
    std::string s(static_cast<std::size_t>(pick(0, 20)), '\0');
    for (char& c : s)
      c = static_cast<char>(rng_());
    return s;
  }

  int enum_number(const pb::FieldDescriptor* f) {
    const pb::EnumDescriptor* e = f->enum_type();
    return e->value(pick(0, e->value_count() - 1))->number();
  }

  void set(pb::Message& m, const pb::FieldDescriptor* f, int depth) {
    const pb::Reflection* r = m.GetReflection();
    switch (f->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_INT32:
        r->SetInt32(&m, f, integer<int32_t>());
        break;
      case pb::FieldDescriptor::CPPTYPE_INT64:
        r->SetInt64(&m, f, integer<int64_t>());
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT32:
        r->SetUInt32(&m, f, integer<uint32_t>());
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT64:
        r->SetUInt64(&m, f, integer<uint64_t>());
        break;
      case pb::FieldDescriptor::CPPTYPE_DOUBLE:
        r->SetDouble(&m, f, floating<double, uint64_t>());
        break;
      case pb::FieldDescriptor::CPPTYPE_FLOAT:
        r->SetFloat(&m, f, floating<float, uint32_t>());
        break;
      case pb::FieldDescriptor::CPPTYPE_BOOL:
        r->SetBool(&m, f, pick(0, 1) == 1);
        break;
      case pb::FieldDescriptor::CPPTYPE_ENUM:
        r->SetEnumValue(&m, f, enum_number(f));
        break;
      case pb::FieldDescriptor::CPPTYPE_STRING:
        r->SetString(&m, f, f->type() == pb::FieldDescriptor::TYPE_BYTES ? bytes() : text());
        break;
      case pb::FieldDescriptor::CPPTYPE_MESSAGE:
        fill(*r->MutableMessage(&m, f), depth - 1);
        break;
    }
  }

  void add(pb::Message& m, const pb::FieldDescriptor* f, int depth) {
    const pb::Reflection* r = m.GetReflection();
    switch (f->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_INT32:
        r->AddInt32(&m, f, integer<int32_t>());
        break;
      case pb::FieldDescriptor::CPPTYPE_INT64:
        r->AddInt64(&m, f, integer<int64_t>());
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT32:
        r->AddUInt32(&m, f, integer<uint32_t>());
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT64:
        r->AddUInt64(&m, f, integer<uint64_t>());
        break;
      case pb::FieldDescriptor::CPPTYPE_DOUBLE:
        r->AddDouble(&m, f, floating<double, uint64_t>());
        break;
      case pb::FieldDescriptor::CPPTYPE_FLOAT:
        r->AddFloat(&m, f, floating<float, uint32_t>());
        break;
      case pb::FieldDescriptor::CPPTYPE_BOOL:
        r->AddBool(&m, f, pick(0, 1) == 1);
        break;
      case pb::FieldDescriptor::CPPTYPE_ENUM:
        r->AddEnumValue(&m, f, enum_number(f));
        break;
      case pb::FieldDescriptor::CPPTYPE_STRING:
        r->AddString(&m, f, f->type() == pb::FieldDescriptor::TYPE_BYTES ? bytes() : text());
        break;
      case pb::FieldDescriptor::CPPTYPE_MESSAGE:
        fill(*r->AddMessage(&m, f), depth - 1);
        break;
    }
  }

  std::mt19937_64 rng_;
};

// Equal field by field; NaN equals NaN (the sign and payload of a NaN are not kept).
void require_equal(const pb::Message& expected, const pb::Message& actual) {
  pb::util::DefaultFieldComparator comparator;
  comparator.set_treat_nan_as_equal(true);
  pb::util::MessageDifferencer differencer;
  differencer.set_field_comparator(&comparator);
  std::string report;
  differencer.ReportDifferencesToString(&report);
  const bool equal = differencer.Compare(expected, actual);
  INFO("differences:\n" << report);
  REQUIRE(equal);
}

// Sets every unset field that has an explicit, non-deprecated default, outside oneofs, to that
// default: what a reader of the encoder's output sees.
void materialize_defaults(pb::Message& m) {
  const pb::Descriptor* d = m.GetDescriptor();
  const pb::Reflection* r = m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    if (f->is_repeated() || r->HasField(m, f) || !f->has_default_value() ||
        f->options().deprecated() || f->containing_oneof() != nullptr) {
      continue;
    }
    switch (f->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_INT32:
        r->SetInt32(&m, f, f->default_value_int32());
        break;
      case pb::FieldDescriptor::CPPTYPE_INT64:
        r->SetInt64(&m, f, f->default_value_int64());
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT32:
        r->SetUInt32(&m, f, f->default_value_uint32());
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT64:
        r->SetUInt64(&m, f, f->default_value_uint64());
        break;
      case pb::FieldDescriptor::CPPTYPE_DOUBLE:
        r->SetDouble(&m, f, f->default_value_double());
        break;
      case pb::FieldDescriptor::CPPTYPE_FLOAT:
        r->SetFloat(&m, f, f->default_value_float());
        break;
      case pb::FieldDescriptor::CPPTYPE_BOOL:
        r->SetBool(&m, f, f->default_value_bool());
        break;
      case pb::FieldDescriptor::CPPTYPE_ENUM:
        r->SetEnumValue(&m, f, f->default_value_enum()->number());
        break;
      case pb::FieldDescriptor::CPPTYPE_STRING:
        r->SetString(&m, f, f->default_value_string());
        break;
      case pb::FieldDescriptor::CPPTYPE_MESSAGE:
        break;
    }
  }
}

}  // namespace

TEST_CASE("round trip: random messages of every field type survive encode -> decode",
          "[json][roundtrip]") {
  Filler filler(20240611);
  json::EncodeOptions options;
  options.emit_defaults = false;
  AllTypes decoded;  // reused, as a program would
  for (int iteration = 0; iteration < 300; ++iteration) {
    AllTypes original;
    filler.fill(original, 2);
    const std::string text = json::encode(original, options);
    INFO("iteration " << iteration << ": " << text);
    const auto result = json::decode(text, decoded);
    INFO("error: " << (result ? std::string("none") : result.error().what()));
    REQUIRE(result.has_value());
    require_equal(original, decoded);
    // ...and the text is a fixed point.
    REQUIRE(json::encode(decoded, options) == text);
  }
}

TEST_CASE("round trip: written defaults read back as set fields", "[json][roundtrip]") {
  Filler filler(7);
  for (int iteration = 0; iteration < 100; ++iteration) {
    Defaults original;
    filler.fill(original, 1);
    const std::string text = json::encode(original);
    INFO("iteration " << iteration << ": " << text);
    Defaults decoded;
    REQUIRE(json::decode(text, decoded).has_value());
    Defaults expected = original;
    materialize_defaults(expected);
    require_equal(expected, decoded);
  }
}

TEST_CASE("round trip: required fields at every level", "[json][roundtrip]") {
  Filler filler(99);
  for (int iteration = 0; iteration < 100; ++iteration) {
    Required original;
    filler.fill(original, 3);
    Required decoded;
    REQUIRE(json::decode(json::encode(original), decoded).has_value());
    require_equal(original, decoded);
  }
}

TEST_CASE("round trip: proto3 messages", "[json][roundtrip]") {
  Filler filler(3);
  for (int iteration = 0; iteration < 50; ++iteration) {
    heatblast::jsontest3::OpenEnums original;
    filler.fill(original, 1);
    heatblast::jsontest3::OpenEnums decoded;
    REQUIRE(json::decode(json::encode(original), decoded).has_value());
    require_equal(original, decoded);
  }
}

TEST_CASE("round trip: dynamic messages of a generated type work like generated ones",
          "[json][roundtrip]") {
  Filler filler(11);
  pb::DynamicMessageFactory factory;
  const pb::Message* prototype = factory.GetPrototype(AllTypes::descriptor());
  for (int iteration = 0; iteration < 50; ++iteration) {
    AllTypes original;
    filler.fill(original, 2);
    const std::string text = json::encode(original);
    std::unique_ptr<pb::Message> dynamic(prototype->New());
    const auto result = json::decode(text, *dynamic);
    INFO(text);
    REQUIRE(result.has_value());
    require_equal(original, *dynamic);
    REQUIRE(json::encode(*dynamic) == text);
  }
}

TEST_CASE("round trip: concurrent first use of many types from several threads",
          "[json][roundtrip]") {
  // The per-type tables are built lazily; several threads racing to build them must all see
  // complete tables (run under TSan to see the synchronisation, too).
  std::vector<std::string> texts;
  Filler filler(5);
  for (int i = 0; i < 20; ++i) {
    AllTypes m;
    filler.fill(m, 2);
    texts.push_back(json::encode(m));
  }
  std::vector<int> failures(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        for (const std::string& text : texts) {
          AllTypes m;
          Required r;
          heatblast::jsontest3::OpenEnums o;
          if (!json::decode(text, m).has_value() || json::encode(m) != text) ++failures[t];
          if (!json::decode(R"({"a":1,"child":{"a":2}})", r).has_value()) ++failures[t];
          if (!json::decode(R"({"plain":3})", o).has_value() || o.plain() != 3) ++failures[t];
        }
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  for (int t = 0; t < 4; ++t)
    CHECK(failures[t] == 0);
}

TEST_CASE("robustness: mutated JSON decodes or fails cleanly, never crashes", "[json][roundtrip]") {
  // Byte flips, insertions and deletions of valid texts: every result must be a value or an
  // Error with a message, and whatever decodes must encode again (run under ASan/UBSan).
  Filler filler(1234);
  std::mt19937_64 rng(42);
  const char kBytes[] = "{}[]\":,0123456789-+.eE \\ntfalsenulINaN\x01\xC3\xFF";
  std::size_t decoded = 0;
  for (int base = 0; base < 20; ++base) {
    AllTypes original;
    filler.fill(original, 2);
    const std::string text = json::encode(original);
    for (int mutation = 0; mutation < 100; ++mutation) {
      std::string mutated = text;
      for (int edits = 1 + static_cast<int>(rng() % 3); edits > 0 && !mutated.empty(); --edits) {
        const std::size_t at = rng() % mutated.size();
        const char c = kBytes[rng() % (sizeof kBytes - 1)];
        switch (rng() % 3) {
          case 0:
            mutated[at] = c;
            break;
          case 1:
            mutated.insert(mutated.begin() + static_cast<std::ptrdiff_t>(at), c);
            break;
          default:
            mutated.erase(at, 1 + rng() % 8);
            break;
        }
      }
      AllTypes m;
      json::DecodeOptions options;
      options.check_required = (mutation % 2) == 0;
      const auto result = json::decode(mutated, m, options);
      if (result) {
        ++decoded;
        AllTypes again;
        json::DecodeOptions lenient;
        lenient.check_required = false;
        REQUIRE(json::decode(json::encode(m), again, lenient).has_value());
      } else {
        INFO(mutated);
        CHECK_THAT(result.error().message, Catch::StartsWith("JSON: "));
      }
    }
  }
  CHECK(decoded > 0);  // some mutations leave valid JSON: the success path is exercised too
}
