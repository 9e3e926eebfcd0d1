// json::decode on the test-only schema (json_test.proto): every rule of Mesos's JSON -> protobuf
// mapping (MESOS-PROTOCOL.md section 16), each with a case that fails if the rule is broken.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>

#include "heatblast/json.hpp"
#include "json_test.pb.h"

namespace json = heatblast::json;
using heatblast::errc;
using heatblast::jsontest::AllTypes;
using heatblast::jsontest::Color;
using heatblast::jsontest::Defaults;
using heatblast::jsontest::Node;
using heatblast::jsontest::Required;

namespace {

template <class M = AllTypes>
M decode_ok(std::string_view text, const json::DecodeOptions& options = {}) {
  M message;
  const auto result = json::decode(text, message, options);
  INFO("input: " << text);
  INFO("error: " << (result ? std::string("none") : result.error().what()));
  REQUIRE(result.has_value());
  return message;
}

template <class M = AllTypes>
heatblast::Error decode_error(std::string_view text, const json::DecodeOptions& options = {}) {
  M message;
  const auto result = json::decode(text, message, options);
  INFO("input: " << text);
  REQUIRE_FALSE(result.has_value());
  return result.error();
}

// The code and that the message contains `part`.
void check_error(const heatblast::Error& error, errc code, std::string_view part = {}) {
  INFO("error: " << error.what());
  CHECK(error.code == code);
  if (!part.empty()) CHECK(error.message.find(part) != std::string::npos);
}

std::string field(std::string_view name, std::string_view value) {
  return "{\"" + std::string(name) + "\":" + std::string(value) + "}";
}

}  // namespace

TEST_CASE("decode: int32 reads JSON numbers and numeric strings within range", "[json][decode]") {
  CHECK(decode_ok(field("f_int32", "0")).f_int32() == 0);
  CHECK(decode_ok(field("f_int32", "-17")).f_int32() == -17);
  CHECK(decode_ok(field("f_int32", "2147483647")).f_int32() == 2147483647);
  CHECK(decode_ok(field("f_int32", "-2147483648")).f_int32() ==
        std::numeric_limits<int32_t>::min());
  CHECK(decode_ok(field("f_int32", "\"123\"")).f_int32() == 123);
  CHECK(decode_ok(field("f_int32", "\"-5\"")).f_int32() == -5);
  // Integral values written with a fraction or exponent are still integers.
  CHECK(decode_ok(field("f_int32", "1e3")).f_int32() == 1000);
  CHECK(decode_ok(field("f_int32", "100.0")).f_int32() == 100);
  CHECK(decode_ok(field("f_int32", "\"2.5e1\"")).f_int32() == 25);
  CHECK(decode_ok(field("f_int32", "-0")).f_int32() == 0);
  CHECK(decode_ok(field("f_sint32", "-2147483648")).f_sint32() ==
        std::numeric_limits<int32_t>::min());
  CHECK(decode_ok(field("f_sfixed32", "-3")).f_sfixed32() == -3);
  CHECK(decode_ok(field("f_fixed32", "4294967295")).f_fixed32() == 4294967295u);
}

TEST_CASE("decode: integers out of range or not integral are json_bad_number", "[json][decode]") {
  check_error(decode_error(field("f_int32", "2147483648")), errc::json_bad_number, "out of range");
  check_error(decode_error(field("f_int32", "-2147483649")), errc::json_bad_number, "out of range");
  check_error(decode_error(field("f_int32", "1099511627776")), errc::json_bad_number);  // 2^40
  check_error(decode_error(field("f_uint32", "-1")), errc::json_bad_number, "out of range");
  check_error(decode_error(field("f_uint32", "4294967296")), errc::json_bad_number);
  check_error(decode_error(field("f_uint64", "-1")), errc::json_bad_number);
  check_error(decode_error(field("f_uint64", "18446744073709551616")), errc::json_bad_number);
  check_error(decode_error(field("f_int64", "9223372036854775808")), errc::json_bad_number);
  check_error(decode_error(field("f_int64", "-9223372036854775809")), errc::json_bad_number);
  check_error(decode_error(field("f_int64", "1.5")), errc::json_bad_number, "not an integer");
  check_error(decode_error(field("f_int32", "1e-1")), errc::json_bad_number, "not an integer");
  check_error(decode_error(field("f_int64", "1e20")), errc::json_bad_number, "out of range");
  check_error(decode_error(field("f_int64", "\"1e400\"")), errc::json_bad_number);
  check_error(decode_error(field("f_int32", "\"abc\"")), errc::json_bad_number, "not a number");
  check_error(decode_error(field("f_int32", "\"\"")), errc::json_bad_number);
  check_error(decode_error(field("f_int32", "\" 1\"")), errc::json_bad_number);
  check_error(decode_error(field("f_int32", "\"+1\"")), errc::json_bad_number);
  check_error(decode_error(field("f_int32", "\"0x10\"")), errc::json_bad_number);
}

TEST_CASE("decode: 64-bit integers are exact at their limits and above 2^53", "[json][decode]") {
  CHECK(decode_ok(field("f_int64", "9223372036854775807")).f_int64() ==
        std::numeric_limits<int64_t>::max());
  CHECK(decode_ok(field("f_int64", "-9223372036854775808")).f_int64() ==
        std::numeric_limits<int64_t>::min());
  CHECK(decode_ok(field("f_uint64", "18446744073709551615")).f_uint64() ==
        std::numeric_limits<uint64_t>::max());
  // 2^53 + 1: a double would read 2^53.
  CHECK(decode_ok(field("f_int64", "9007199254740993")).f_int64() == 9007199254740993LL);
  CHECK(decode_ok(field("f_sint64", "-9007199254740993")).f_sint64() == -9007199254740993LL);
  CHECK(decode_ok(field("f_fixed64", "18446744073709551615")).f_fixed64() ==
        std::numeric_limits<uint64_t>::max());
  CHECK(decode_ok(field("f_sfixed64", "-9223372036854775808")).f_sfixed64() ==
        std::numeric_limits<int64_t>::min());
  // ...and as strings, the proto3 style.
  CHECK(decode_ok(field("f_int64", "\"-9223372036854775808\"")).f_int64() ==
        std::numeric_limits<int64_t>::min());
  CHECK(decode_ok(field("f_uint64", "\"18446744073709551615\"")).f_uint64() ==
        std::numeric_limits<uint64_t>::max());
  CHECK(decode_ok(field("f_uint64", "\"9007199254740993\"")).f_uint64() == 9007199254740993ULL);
  // An exponent form is exact too, not routed through double.
  CHECK(decode_ok(field("f_int64", "9007199254740993e0")).f_int64() == 9007199254740993LL);
  CHECK(decode_ok(field("f_uint64", "1844674407370955161.5e1")).f_uint64() ==
        18446744073709551615ULL);
}

TEST_CASE("decode: doubles and floats from numbers, strings and non-finite spellings",
          "[json][decode]") {
  CHECK(decode_ok(field("f_double", "1.5")).f_double() == 1.5);
  CHECK(decode_ok(field("f_double", "0.1")).f_double() == 0.1);
  CHECK(decode_ok(field("f_double", "0.30000000000000004")).f_double() == 0.30000000000000004);
  CHECK(decode_ok(field("f_double", "-2")).f_double() == -2.0);
  CHECK(decode_ok(field("f_double", "1e308")).f_double() == 1e308);
  CHECK(decode_ok(field("f_double", "4.9406564584124654e-324")).f_double() ==
        std::numeric_limits<double>::denorm_min());
  CHECK(decode_ok(field("f_double", "\"2.25\"")).f_double() == 2.25);
  CHECK(std::signbit(decode_ok(field("f_double", "-0.0")).f_double()));
  // 2^53 + 1 rounds to nearest (even), correctly.
  CHECK(decode_ok(field("f_double", "9007199254740993")).f_double() == 9007199254740992.0);

  const double inf = std::numeric_limits<double>::infinity();
  CHECK(decode_ok(field("f_double", "\"Infinity\"")).f_double() == inf);
  CHECK(decode_ok(field("f_double", "\"-Infinity\"")).f_double() == -inf);
  CHECK(std::isnan(decode_ok(field("f_double", "\"NaN\"")).f_double()));
  // The bare tokens a Mesos master writes (not valid JSON, but it writes them).
  CHECK(decode_ok(field("f_double", "Infinity")).f_double() == inf);
  CHECK(decode_ok(field("f_double", "-Infinity")).f_double() == -inf);
  CHECK(std::isnan(decode_ok(field("f_double", "NaN")).f_double()));
  CHECK(decode_ok(field("r_double", "[1,Infinity,NaN,-Infinity]")).r_double_size() == 4);

  CHECK(decode_ok(field("f_float", "0.1")).f_float() == 0.1f);
  CHECK(decode_ok(field("f_float", "0.10000000149011612")).f_float() == 0.1f);
  CHECK(decode_ok(field("f_float", "3.4028235e38")).f_float() == std::numeric_limits<float>::max());
  CHECK(decode_ok(field("f_float", "\"Infinity\"")).f_float() ==
        std::numeric_limits<float>::infinity());
  CHECK(std::isnan(decode_ok(field("f_float", "NaN")).f_float()));

  check_error(decode_error(field("f_double", "\"inf\"")), errc::json_bad_number);
  check_error(decode_error(field("f_double", "\"nan\"")), errc::json_bad_number);
  check_error(decode_error(field("f_double", "\"1.5x\"")), errc::json_bad_number);
  check_error(decode_error(field("f_double", "\"\"")), errc::json_bad_number);
  check_error(decode_error(field("f_double", "\"1e999\"")), errc::json_bad_number, "out of range");
  check_error(decode_error(field("f_float", "1e39")), errc::json_bad_number, "out of range");
  check_error(decode_error(field("f_double", "\"-1.5e309\"")), errc::json_bad_number);
  // Too small to be anything but zero is zero, keeping the sign.
  CHECK(decode_ok(field("f_double", "1e-400")).f_double() == 0.0);
  CHECK(std::signbit(decode_ok(field("f_double", "\"-0.0001e-400\"")).f_double()));
  CHECK(decode_ok(field("f_float", "1e-46")).f_float() == 0.0f);
  CHECK(decode_ok(field("f_float", "1.4e-45")).f_float() ==
        std::numeric_limits<float>::denorm_min());
  check_error(decode_error(field("f_double", "true")), errc::json_type_mismatch,
              "expected a number");
}

TEST_CASE("decode: bools from true/false and their strings only", "[json][decode]") {
  CHECK(decode_ok(field("f_bool", "true")).f_bool());
  CHECK(decode_ok(field("f_bool", "false")).has_f_bool());
  CHECK_FALSE(decode_ok(field("f_bool", "false")).f_bool());
  CHECK(decode_ok(field("f_bool", "\"true\"")).f_bool());
  CHECK_FALSE(decode_ok(field("f_bool", "\"false\"")).f_bool());
  CHECK(decode_ok(field("r_bool", "[true,\"false\",false]")).r_bool_size() == 3);
  check_error(decode_error(field("f_bool", "\"yes\"")), errc::json_type_mismatch);
  check_error(decode_error(field("f_bool", "\"True\"")), errc::json_type_mismatch);
  check_error(decode_error(field("f_bool", "1")), errc::json_type_mismatch, "true or false");
}

TEST_CASE("decode: strings are unescaped and UTF-8 passes through", "[json][decode]") {
  CHECK(decode_ok(field("f_string", R"("a\"b\\c\/d\n\t\u0001")")).f_string() ==
        "a\"b\\c/d\n\t\x01");
  CHECK(decode_ok(field("f_string", R"("\u00e9\ud83d\ude00")")).f_string() ==
        "\xC3\xA9\xF0\x9F\x98\x80");
  CHECK(decode_ok(field("f_string", "\"\xC3\xA9t\xC3\xA9 \xE2\x82\xAC\"")).f_string() ==
        "\xC3\xA9t\xC3\xA9 \xE2\x82\xAC");
  CHECK(decode_ok(field("f_string", "\"\"")).has_f_string());
  // An embedded NUL, escaped, is kept.
  CHECK(decode_ok(field("f_string", R"("a\u0000b")")).f_string() == std::string("a\0b", 3));
  check_error(decode_error(field("f_string", "12")), errc::json_type_mismatch, "expected a string");
  check_error(decode_error(field("f_string", "{}")), errc::json_type_mismatch);
}

TEST_CASE("decode: bytes are standard base64, padding optional, whitespace skipped",
          "[json][decode]") {
  CHECK(decode_ok(field("f_bytes", "\"Zm9vYg==\"")).f_bytes() == "foob");
  CHECK(decode_ok(field("f_bytes", "\"Zm9vYg\"")).f_bytes() == "foob");
  CHECK(decode_ok(field("f_bytes", "\"Zm9vYmE=\"")).f_bytes() == "fooba");
  CHECK(decode_ok(field("f_bytes", "\"Zm9vYmE\"")).f_bytes() == "fooba");
  CHECK(decode_ok(field("f_bytes", "\"Zm9v\\nYmFy\"")).f_bytes() == "foobar");
  CHECK(decode_ok(field("f_bytes", "\" Zm9v YmFy \"")).f_bytes() == "foobar");
  CHECK(decode_ok(field("f_bytes", "\"//79\"")).f_bytes() == "\xFF\xFE\xFD");
  CHECK(decode_ok(field("f_bytes", "\"\"")).has_f_bytes());
  CHECK(decode_ok(field("r_bytes", "[\"AA==\",\"AQI=\"]")).r_bytes(1) == "\x01\x02");

  check_error(decode_error(field("f_bytes", "\"Zm9v!\"")), errc::json_bad_base64);
  check_error(decode_error(field("f_bytes", "\"Zm-_\"")), errc::json_bad_base64);  // URL alphabet
  check_error(decode_error(field("f_bytes", "\"Z\"")), errc::json_bad_base64);
  check_error(decode_error(field("f_bytes", "\"Zg=\"")), errc::json_bad_base64);
  check_error(decode_error(field("f_bytes", "\"Zg==Zg==\"")), errc::json_bad_base64);
  check_error(decode_error(field("f_bytes", "1")), errc::json_type_mismatch);
}

TEST_CASE("decode: enums are names and unknown names are skipped, never an error",
          "[json][decode]") {
  CHECK(decode_ok(field("f_enum", "\"BLUE\"")).f_enum() == heatblast::jsontest::BLUE);
  CHECK(decode_ok(field("f_enum", "\"INFRARED\"")).f_enum() == heatblast::jsontest::INFRARED);
  CHECK(decode_ok(field("f_enum", "\"ULTRAVIOLET\"")).f_enum() == heatblast::jsontest::ULTRAVIOLET);

  const AllTypes unknown = decode_ok(R"({"f_enum":"PURPLE","f_int32":3})");
  CHECK_FALSE(unknown.has_f_enum());
  CHECK(unknown.f_int32() == 3);

  const AllTypes list = decode_ok(field("r_enum", R"(["RED","PURPLE","BLUE","red"])"));
  REQUIRE(list.r_enum_size() == 2);
  CHECK(list.r_enum(0) == heatblast::jsontest::RED);
  CHECK(list.r_enum(1) == heatblast::jsontest::BLUE);

  // A number is not a name (the master rejects it too).
  check_error(decode_error(field("f_enum", "1")), errc::json_type_mismatch, "enum name");
}

TEST_CASE("decode: unknown keys are skipped with their whole value", "[json][decode]") {
  const AllTypes m = decode_ok(R"({
    "unknown_scalar": 1, "unknown_string": "x", "unknown_null": null, "unknown_bool": true,
    "unknown_object": {"a": {"b": [1, {"c": [[], {}]}]}, "f_int32": 99},
    "unknown_array": [{"f_int32": 98}, [1, 2, [3]], "s", null],
    "f_int32": 7,
    "fInt64": 5,
    "f_message": {"id": "x", "newer_field": {"deep": [true]}, "n": 2}
  })");
  CHECK(m.f_int32() == 7);
  CHECK_FALSE(m.has_f_int64());  // camelCase keys are not field names
  CHECK(m.f_message().id() == "x");
  CHECK(m.f_message().n() == 2);
}

TEST_CASE("decode: null means unset", "[json][decode]") {
  const AllTypes m = decode_ok(
      R"({"f_int32":null,"f_string":null,"f_message":null,"r_int32":null,"f_enum":null})");
  CHECK_FALSE(m.has_f_int32());
  CHECK_FALSE(m.has_f_string());
  CHECK_FALSE(m.has_f_message());
  CHECK(m.r_int32_size() == 0);
  CHECK_FALSE(m.has_f_enum());
  // A later null undoes an earlier duplicate key; a null element is no element.
  CHECK_FALSE(decode_ok(R"({"f_int32":5,"f_int32":null})").has_f_int32());
  CHECK(decode_ok(field("r_int32", "[1,null,2]")).r_int32_size() == 2);
}

TEST_CASE("decode: a scalar or object for a repeated field is a one-element list",
          "[json][decode]") {
  const AllTypes m = decode_ok(
      R"({"r_int32":5,"r_string":"a","r_message":{"id":"x"},"r_enum":"GREEN","r_double":"NaN",
          "r_uint64":18446744073709551615})");
  REQUIRE(m.r_int32_size() == 1);
  CHECK(m.r_int32(0) == 5);
  REQUIRE(m.r_string_size() == 1);
  CHECK(m.r_string(0) == "a");
  REQUIRE(m.r_message_size() == 1);
  CHECK(m.r_message(0).id() == "x");
  REQUIRE(m.r_enum_size() == 1);
  CHECK(m.r_enum(0) == heatblast::jsontest::GREEN);
  REQUIRE(m.r_double_size() == 1);
  CHECK(std::isnan(m.r_double(0)));
  CHECK(m.r_uint64(0) == std::numeric_limits<uint64_t>::max());
}

TEST_CASE("decode: repeated fields keep order and every element type", "[json][decode]") {
  const AllTypes m = decode_ok(
      R"({"r_int64":[-9223372036854775808,"9223372036854775807",0],
          "r_message":[{"id":"a"},{"id":"b","n":-1}],"r_float":[0.5,"1.5"],
          "r_fixed64":[1,2],"r_sint32":[-1,-2],"r_string":[]})");
  REQUIRE(m.r_int64_size() == 3);
  CHECK(m.r_int64(0) == std::numeric_limits<int64_t>::min());
  CHECK(m.r_int64(1) == std::numeric_limits<int64_t>::max());
  REQUIRE(m.r_message_size() == 2);
  CHECK(m.r_message(1).n() == -1);
  CHECK(m.r_float(1) == 1.5f);
  CHECK(m.r_fixed64(1) == 2u);
  CHECK(m.r_sint32(1) == -2);
  CHECK(m.r_string_size() == 0);
}

TEST_CASE("decode: an array for a non-repeated field is json_type_mismatch", "[json][decode]") {
  check_error(decode_error(field("f_int32", "[1]")), errc::json_type_mismatch, "got an array");
  check_error(decode_error(field("f_message", "[{\"id\":\"x\"}]")), errc::json_type_mismatch);
  check_error(decode_error(field("f_string", "[]")), errc::json_type_mismatch);
  check_error(decode_error(field("r_int32", "[[1]]")), errc::json_type_mismatch, "inside an array");
  check_error(decode_error(field("m_string_string", "[]")), errc::json_type_mismatch);
  check_error(decode_error(field("f_message", "\"x\"")), errc::json_type_mismatch,
              "expected an object");
  check_error(decode_error(field("r_message", "[1]")), errc::json_type_mismatch);
}

TEST_CASE("decode: maps are objects keyed by the map key, values in full shape", "[json][decode]") {
  const AllTypes m = decode_ok(R"({
    "m_string_string": {"a": "1", "b": "2", "": "empty"},
    "m_string_leaf": {"k": {"id": "x", "n": 3}},
    "m_int32_double": {"-5": 1.5, "7": "Infinity"},
    "m_int64_string": {"9223372036854775807": "max", "-9223372036854775808": "min"},
    "m_uint32_enum": {"1": "RED", "2": "NO_SUCH_COLOR", "3": "BLUE"},
    "m_uint64_bytes": {"18446744073709551615": "AQI="},
    "m_bool_int64": {"true": 9007199254740993, "false": "-1"},
    "m_sint32_float": {"-1": 0.25}
  })");
  CHECK(m.m_string_string().size() == 3);
  CHECK(m.m_string_string().at("b") == "2");
  CHECK(m.m_string_string().at("") == "empty");
  CHECK(m.m_string_leaf().at("k").n() == 3);
  CHECK(m.m_int32_double().at(-5) == 1.5);
  CHECK(std::isinf(m.m_int32_double().at(7)));
  CHECK(m.m_int64_string().at(std::numeric_limits<int64_t>::max()) == "max");
  CHECK(m.m_int64_string().at(std::numeric_limits<int64_t>::min()) == "min");
  // An entry whose enum value has no known name is dropped, like any unknown enum name.
  CHECK(m.m_uint32_enum().size() == 2);
  CHECK(m.m_uint32_enum().count(2) == 0);
  CHECK(m.m_uint32_enum().at(3) == heatblast::jsontest::BLUE);
  CHECK(m.m_uint64_bytes().at(std::numeric_limits<uint64_t>::max()) == "\x01\x02");
  CHECK(m.m_bool_int64().at(true) == 9007199254740993LL);
  CHECK(m.m_bool_int64().at(false) == -1);
  CHECK(m.m_sint32_float().at(-1) == 0.25f);

  // null removes the entry; a later duplicate key wins.
  const AllTypes d = decode_ok(R"({"m_string_string":{"a":"1","b":null,"a":"2"}})");
  CHECK(d.m_string_string().size() == 1);
  CHECK(d.m_string_string().at("a") == "2");
}

TEST_CASE("decode: bad map keys and map values are errors", "[json][decode]") {
  check_error(decode_error(field("m_int32_double", R"({"x":1})")), errc::json_bad_number,
              "map key 'x'");
  check_error(decode_error(field("m_int32_double", R"({"2147483648":1})")), errc::json_bad_number);
  check_error(decode_error(field("m_bool_int64", R"({"yes":1})")), errc::json_bad_number);
  check_error(decode_error(field("m_uint64_bytes", R"({"-1":""})")), errc::json_bad_number);
  // Values must have the value type's shape: a bare number is not a Leaf.
  const auto error = decode_error(field("m_string_leaf", R"({"k":5})"));
  check_error(error, errc::json_type_mismatch, "m_string_leaf[\"k\"]");
  check_error(decode_error(field("m_string_leaf", R"({"k":{"n":"x"}})")), errc::json_bad_number,
              "m_string_leaf[\"k\"].n");
}

TEST_CASE("decode: oneof members replace each other, the last one wins", "[json][decode]") {
  const AllTypes m = decode_ok(R"({"o_string":"s","o_leaf":{"id":"x"}})");
  CHECK(m.choice_case() == AllTypes::kOLeaf);
  CHECK(decode_ok(R"({"o_leaf":{"id":"x"},"o_string":"s"})").choice_case() == AllTypes::kOString);
}

TEST_CASE("decode: nesting deeper than max_depth is json_too_deep", "[json][decode]") {
  auto nested = [](int levels) {
    std::string text;
    for (int i = 0; i < levels - 1; ++i)
      text += "{\"child\":";
    text += "{\"name\":\"leaf\"}";
    text.append(static_cast<std::size_t>(levels - 1), '}');
    return text;
  };
  json::DecodeOptions options;
  options.max_depth = 10;
  CHECK(decode_ok<Node>(nested(10), options).child().child().has_child());
  check_error(decode_error<Node>(nested(11), options), errc::json_too_deep, "deeper than 10");
  // Arrays count as levels, and so do skipped values (no recursion bomb under unknown keys).
  options.max_depth = 3;
  CHECK(decode_ok<Node>(R"({"children":[{"name":"a"}]})", options).children_size() == 1);
  check_error(decode_error<Node>(R"({"children":[{"child":{}}]})", options), errc::json_too_deep);
  check_error(decode_error<Node>(R"({"x":[[[[]]]]})", options), errc::json_too_deep);
  CHECK(decode_ok<Node>(R"({"x":[[]]})", options).ByteSizeLong() == 0);
  // The default limit stops a deep bomb.
  std::string bomb(100000, '[');
  check_error(decode_error<Node>("{\"x\":" + bomb), errc::json_too_deep);
}

TEST_CASE("decode: missing required fields are errc::missing_required naming them",
          "[json][decode]") {
  const auto top = decode_error<Required>("{}");
  check_error(top, errc::missing_required, "'a'");
  const auto nested = decode_error<Required>(R"({"a":1,"child":{"child":{}},"list":[{"a":1},{}]})");
  check_error(nested, errc::missing_required, "child.child.a");
  check_error(nested, errc::missing_required, "list[1].a");
  check_error(decode_error<Required>(R"({"a":1,"leaves":{"k":{}}})"), errc::missing_required);
  check_error(decode_error(field("f_message", "{}")), errc::missing_required, "f_message.id");
  CHECK(decode_ok<Required>(R"({"a":1,"child":{"a":2}})").child().a() == 2);

  json::DecodeOptions lenient;
  lenient.check_required = false;
  CHECK_FALSE(decode_ok<Required>(R"({"child":{}})", lenient).has_a());
}

TEST_CASE("decode: malformed JSON is json_syntax with the byte offset", "[json][decode]") {
  check_error(decode_error(R"({"f_int32": })"), errc::json_syntax, "at byte 12");
  check_error(decode_error(R"({"f_int32":1,})"), errc::json_syntax, "at byte 13");
  check_error(decode_error(R"({"f_int32" 1})"), errc::json_syntax, "at byte 11");
  check_error(decode_error(R"({"f_string":"abc)"), errc::json_syntax);
  check_error(decode_error("{} x"), errc::json_syntax, "at byte 3");
  check_error(decode_error(""), errc::json_syntax, "at byte 0");
  check_error(decode_error("   "), errc::json_syntax);
  check_error(decode_error(R"({'f_int32':1})"), errc::json_syntax, "at byte 1");
  check_error(decode_error(R"({"f_string":"\x"})"), errc::json_syntax);
  check_error(decode_error(R"({"f_int32":01})"), errc::json_syntax);
  check_error(decode_error(R"({"f_bool":tru})"), errc::json_syntax);
  // A NUL byte is not the end of the text.
  check_error(decode_error(std::string_view("{}\0{}", 5)), errc::json_syntax, "NUL");
  check_error(decode_error(std::string_view("{\"f_string\":\"a\0b\"}", 18)), errc::json_syntax);
  // The text is not required to be NUL-terminated: only `text.size()` bytes are read.
  const std::string padded = R"({"f_int32":12}99)";
  AllTypes m;
  REQUIRE(json::decode(std::string_view(padded).substr(0, 14), m).has_value());
  CHECK(m.f_int32() == 12);
}

TEST_CASE("decode: truncated JSON is an error at every cut", "[json][decode]") {
  const std::string text =
      R"({"f_int32":-12,"f_string":"a\"b","r_message":[{"id":"x","n":1}],)"
      R"("m_string_leaf":{"k":{"id":"y"}},"f_double":Infinity,"f_bool":true,"f_message":null})";
  REQUIRE(decode_ok(text).f_int32() == -12);
  for (std::size_t cut = 0; cut < text.size(); ++cut) {
    AllTypes m;
    json::DecodeOptions options;
    options.check_required = false;  // a cut may land after a complete prefix of fields
    const auto result = json::decode(std::string_view(text).substr(0, cut), m, options);
    INFO("cut at " << cut << ": " << text.substr(0, cut));
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == heatblast::make_error_code(errc::json_syntax));
  }
}

TEST_CASE("decode: the root must be an object", "[json][decode]") {
  check_error(decode_error("[]"), errc::json_type_mismatch);
  check_error(decode_error("1"), errc::json_type_mismatch);
  check_error(decode_error("\"x\""), errc::json_type_mismatch);
  check_error(decode_error("null"), errc::json_type_mismatch);
  check_error(decode_error("true"), errc::json_type_mismatch);
}

TEST_CASE("decode: errors name the field path and the offset of the value", "[json][decode]") {
  const auto error = decode_error(R"({"r_message":[{"id":"a"},{"id":"b","n":"x"}]})");
  CHECK(error.code == errc::json_bad_number);
  CHECK(error.message == "JSON: at byte 39 ('r_message[1].n'): 'x' is not a number");

  const auto nested = decode_error(R"({"nested":{"nested":{"r_int32":[1,2,true]}}})");
  CHECK(nested.message ==
        "JSON: at byte 36 ('nested.nested.r_int32[2]'): expected a number, got true");

  // Each kind of value points at its own first byte.
  CHECK_THAT(decode_error(R"({"f_string":null,"f_int32":false})").message,
             Catch::StartsWith("JSON: at byte 27 ('f_int32')"));
  CHECK_THAT(decode_error(R"({"f_int32":{"a":1}})").message,
             Catch::StartsWith("JSON: at byte 11 ('f_int32')"));
  CHECK_THAT(decode_error(R"({"f_int32": [1]})").message,
             Catch::StartsWith("JSON: at byte 12 ('f_int32')"));
  CHECK_THAT(decode_error(R"({"f_int32":"1\n2"})").message,
             Catch::StartsWith("JSON: at byte 11 ('f_int32')"));
  CHECK_THAT(decode_error(R"({"m_int32_double":{"1":2,"k":3}})").message,
             Catch::StartsWith("JSON: at byte 25"));

  const auto syntax = decode_error(R"({"nested":{"f_int32":1,,}})");
  CHECK(syntax.code == errc::json_syntax);
  CHECK(syntax.message.find("at byte 23 ('nested.f_int32')") != std::string::npos);
}

TEST_CASE("decode: the output is cleared first and can be reused", "[json][decode]") {
  AllTypes m;
  m.set_f_int32(1);
  m.add_r_string("old");
  m.mutable_f_message()->set_id("old");
  REQUIRE(json::decode(R"({"f_string":"new"})", m).has_value());
  CHECK_FALSE(m.has_f_int32());
  CHECK(m.r_string_size() == 0);
  CHECK_FALSE(m.has_f_message());
  CHECK(m.f_string() == "new");

  // Decoding into the same message over and over gives what a fresh message gets.
  const std::string text =
      R"({"r_message":[{"id":"a"},{"id":"b"}],"m_string_leaf":{"k":{"id":"c"}},"f_string":"s"})";
  const AllTypes fresh = decode_ok(text);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(json::decode(text, m).has_value());
    CHECK(m.SerializeAsString() == fresh.SerializeAsString());
    REQUIRE(json::decode(R"({"r_message":[{"id":"z"}]})", m).has_value());
    CHECK(m.r_message_size() == 1);
  }
}

TEST_CASE("decode: the default values of unset fields are untouched", "[json][decode]") {
  const Defaults d = decode_ok<Defaults>(R"({"d_int32":1})");
  CHECK(d.d_int32() == 1);
  CHECK_FALSE(d.has_d_string());
  CHECK(d.d_string() == "a \"quoted\" default");
  CHECK(d.d_enum() == heatblast::jsontest::GREEN);
}
