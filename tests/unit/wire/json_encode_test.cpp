// json::encode on the test-only schemas: what a Mesos master writes (stout's jsonify of a
// protobuf), compared byte for byte.
#include <cstdint>
#include <limits>
#include <string>

#include <catch2/catch.hpp>

#include "heatblast/json.hpp"
#include "json_test.pb.h"
#include "json_test_proto3.pb.h"

namespace json = heatblast::json;
using namespace std::string_literals;
using heatblast::jsontest::AllTypes;
using heatblast::jsontest::Defaults;
using heatblast::jsontest3::OpenEnums;

namespace {

json::EncodeOptions no_defaults() {
  json::EncodeOptions options;
  options.emit_defaults = false;
  return options;
}

std::string encode_double(double value) {
  AllTypes m;
  m.set_f_double(value);
  const std::string text = json::encode(m);
  const std::string prefix = "{\"f_double\":";
  REQUIRE(text.substr(0, prefix.size()) == prefix);
  REQUIRE(text.back() == '}');
  return text.substr(prefix.size(), text.size() - prefix.size() - 1);
}

std::string encode_bytes(const std::string& value) {
  AllTypes m;
  m.set_f_bytes(value);
  return json::encode(m);
}

}  // namespace

TEST_CASE("encode: scalars are written as Mesos writes them", "[json][encode]") {
  AllTypes m;
  m.set_f_int32(-5);
  m.set_f_int64(std::numeric_limits<int64_t>::min());
  m.set_f_uint32(4294967295u);
  m.set_f_uint64(std::numeric_limits<uint64_t>::max());
  m.set_f_sint64(9007199254740993LL);
  m.set_f_fixed32(7);
  m.set_f_float(0.5f);
  m.set_f_double(5.0);
  m.set_f_bool(false);
  m.set_f_string("s");
  m.set_f_bytes("foob");
  m.set_f_enum(heatblast::jsontest::INFRARED);
  m.mutable_f_message()->set_id("x");
  CHECK(json::encode(m) ==
        R"({"f_int32":-5,"f_int64":-9223372036854775808,"f_uint32":4294967295,)"
        R"("f_uint64":18446744073709551615,"f_sint64":9007199254740993,"f_fixed32":7,)"
        R"("f_float":0.5,"f_double":5.0,"f_bool":false,"f_string":"s","f_bytes":"Zm9vYg==",)"
        R"("f_enum":"INFRARED","f_message":{"id":"x"}})");
}

TEST_CASE("encode: doubles in RapidJSON's shortest form, non-finite as bare tokens",
          "[json][encode]") {
  CHECK(encode_double(5.0) == "5.0");
  CHECK(encode_double(0.1) == "0.1");
  CHECK(encode_double(-0.0) == "-0.0");
  CHECK(encode_double(100.0) == "100.0");
  CHECK(encode_double(1707637746.202787) == "1707637746.202787");
  CHECK(encode_double(1e21) == "1e21");
  CHECK(encode_double(1.5e-7) == "1.5e-7");
  // Grisu2 is not always the shortest, but always reads back to the same double; Mesos writes
  // the same digits.
  CHECK(encode_double(0.30000000000000004) == "0.30000000000000007");
  CHECK(0.30000000000000007 == 0.30000000000000004);
  CHECK(encode_double(std::numeric_limits<double>::max()) == "1.7976931348623157e308");
  CHECK(encode_double(std::numeric_limits<double>::infinity()) == "Infinity");
  CHECK(encode_double(-std::numeric_limits<double>::infinity()) == "-Infinity");
  CHECK(encode_double(std::numeric_limits<double>::quiet_NaN()) == "NaN");

  // A float is widened to double first, as stout does.
  AllTypes m;
  m.set_f_float(0.1f);
  CHECK(json::encode(m) == R"({"f_float":0.10000000149011612})");
}

TEST_CASE("encode: fields in declaration order, not field-number order", "[json][encode]") {
  AllTypes m;
  m.set_a_first_number_last("a");  // field 60, declared last
  m.set_z_last_number_first("z");  // field 99, declared first
  m.set_f_string("s");             // field 14, declared earlier than both
  CHECK(json::encode(m) ==
        R"({"f_string":"s","z_last_number_first":"z","a_first_number_last":"a"})");
}

TEST_CASE("encode: only set fields are written and empty repeated fields are omitted",
          "[json][encode]") {
  AllTypes m;
  CHECK(json::encode(m) == "{}");
  m.add_r_int32(1);
  m.add_r_message();
  m.mutable_m_string_string()->insert({"k", "v"});
  m.clear_r_int32();
  m.clear_r_message();
  m.clear_m_string_string();
  CHECK(json::encode(m) == "{}");
  m.mutable_f_message();  // set, though empty (and missing its required id: encode writes it)
  CHECK(json::encode(m) == R"({"f_message":{}})");
  m.set_f_int32(0);  // proto2: set to zero is set
  CHECK(json::encode(m) == R"({"f_int32":0,"f_message":{}})");
}

TEST_CASE("encode: repeated fields are arrays", "[json][encode]") {
  AllTypes m;
  m.add_r_int64(std::numeric_limits<int64_t>::max());
  m.add_r_int64(-1);
  m.add_r_double(1.0);
  m.add_r_double(std::numeric_limits<double>::infinity());
  m.add_r_bool(true);
  m.add_r_string("a");
  m.add_r_string("");
  m.add_r_bytes("");
  m.add_r_bytes(std::string(1, '\0'));
  m.add_r_enum(heatblast::jsontest::RED);
  m.add_r_enum(heatblast::jsontest::ULTRAVIOLET);
  m.add_r_message()->set_id("a");
  m.add_r_message()->set_n(2);
  CHECK(json::encode(m) ==
        R"({"r_int64":[9223372036854775807,-1],"r_double":[1.0,Infinity],"r_bool":[true],)"
        R"("r_string":["a",""],"r_bytes":["","AA=="],"r_enum":["RED","ULTRAVIOLET"],)"
        R"("r_message":[{"id":"a"},{"n":2}]})");
}

TEST_CASE("encode: maps are objects keyed by the map key", "[json][encode]") {
  AllTypes m;
  (*m.mutable_m_string_string())["a\"b"] = "1";
  (*m.mutable_m_string_leaf())["k"].set_id("x");
  (*m.mutable_m_string_leaf())["unset value"];
  (*m.mutable_m_int32_double())[-5] = 1.5;
  (*m.mutable_m_int64_string())[std::numeric_limits<int64_t>::min()] = "min";
  (*m.mutable_m_uint32_enum())[3] = heatblast::jsontest::BLUE;
  (*m.mutable_m_uint64_bytes())[std::numeric_limits<uint64_t>::max()] = "\x01\x02";
  (*m.mutable_m_bool_int64())[true] = 9007199254740993LL;
  (*m.mutable_m_sint32_float())[-1] = 0.25f;
  const std::string text = json::encode(m, no_defaults());
  CHECK_THAT(text, Catch::Contains(R"("m_string_string":{"a\"b":"1"})"));
  CHECK_THAT(text, Catch::Contains(R"("k":{"id":"x"})"));
  CHECK_THAT(text, Catch::Contains(R"("unset value":{})"));
  CHECK_THAT(text, Catch::Contains(R"("m_int32_double":{"-5":1.5})"));
  CHECK_THAT(text, Catch::Contains(R"("m_int64_string":{"-9223372036854775808":"min"})"));
  CHECK_THAT(text, Catch::Contains(R"("m_uint32_enum":{"3":"BLUE"})"));
  CHECK_THAT(text, Catch::Contains(R"("m_uint64_bytes":{"18446744073709551615":"AQI="})"));
  CHECK_THAT(text, Catch::Contains(R"("m_bool_int64":{"true":9007199254740993})"));
  CHECK_THAT(text, Catch::Contains(R"("m_sint32_float":{"-1":0.25})"));
}

TEST_CASE("encode: unset fields with explicit non-deprecated defaults are written",
          "[json][encode]") {
  Defaults d;
  CHECK(json::encode(d) ==
        R"({"d_int32":-7,"d_int64":9007199254740993,"d_uint32":4294967295,)"
        R"("d_uint64":18446744073709551615,"d_double":5.0,"d_float":0.5,"d_bool":true,)"
        R"("d_string":"a \"quoted\" default","d_bytes":"AQID","d_enum":"GREEN","d_inf":Infinity})");
  // Not with emit_defaults off.
  CHECK(json::encode(d, no_defaults()) == "{}");

  // Set values replace defaults; a deprecated field with a default is written only when set;
  // a field without an explicit default never is.
  d.set_d_int32(1);
  // (through reflection: the generated setter of a deprecated field warns)
  d.GetReflection()->SetString(&d, Defaults::descriptor()->FindFieldByName("d_deprecated"), "x");
  d.set_no_default(0);
  const std::string text = json::encode(d);
  CHECK_THAT(text, Catch::StartsWith(R"({"d_int32":1,)"));
  CHECK_THAT(text, Catch::EndsWith(R"("d_inf":Infinity,"d_deprecated":"x","no_default":0})"));
  CHECK(json::encode(d, no_defaults()) == R"({"d_int32":1,"d_deprecated":"x","no_default":0})");
}

TEST_CASE("encode: deprecated defaults and oneof defaults are not invented", "[json][encode]") {
  const std::string text = json::encode(Defaults());
  CHECK_THAT(text, !Catch::Contains("d_deprecated"));
  CHECK_THAT(text, !Catch::Contains("no_default"));
  CHECK_THAT(text, !Catch::Contains("o_with_default"));
  Defaults d;
  d.set_o_other("o");
  CHECK_THAT(json::encode(d), Catch::EndsWith(R"("d_inf":Infinity,"o_other":"o"})"));
  d.set_o_with_default(3);
  CHECK_THAT(json::encode(d), Catch::EndsWith(R"("d_inf":Infinity,"o_with_default":3})"));
}

TEST_CASE("encode: strings are escaped and UTF-8 passes through", "[json][encode]") {
  AllTypes m;
  m.set_f_string("q\"b\\s/n\nt\tr\rb\bf\fc\x01\x1f\x7f \xC3\xA9\xF0\x9F\x98\x80 \0z"s);
  CHECK(json::encode(m) ==
        "{\"f_string\":\"q\\\"b\\\\s/n\\nt\\tr\\rb\\bf\\fc\\u0001\\u001F\x7f "
        "\xC3\xA9\xF0\x9F\x98\x80 \\u0000z\"}");
  m.set_f_string("plain");
  CHECK(json::encode(m) == R"({"f_string":"plain"})");
}

TEST_CASE("encode: bytes are padded standard base64", "[json][encode]") {
  CHECK(encode_bytes("") == R"({"f_bytes":""})");
  CHECK(encode_bytes("f") == R"({"f_bytes":"Zg=="})");
  CHECK(encode_bytes("fo") == R"({"f_bytes":"Zm8="})");
  CHECK(encode_bytes("foo") == R"({"f_bytes":"Zm9v"})");
  CHECK(encode_bytes("foobar") == R"({"f_bytes":"Zm9vYmFy"})");
  CHECK(encode_bytes("\xFB\xFF") == R"({"f_bytes":"+/8="})");
  CHECK(encode_bytes(std::string(3, '\0')) == R"({"f_bytes":"AAAA"})");
  // A length that is not small, to cover the output sizing.
  const std::string text = encode_bytes(std::string(1000, '\xAB'));
  CHECK(text.size() == std::string(R"({"f_bytes":""})").size() + 1336);
}

TEST_CASE("encode: appends to the output", "[json][encode]") {
  AllTypes m;
  m.set_f_int32(1);
  std::string out = "prefix ";
  json::encode(m, out);
  json::encode(m, out);
  CHECK(out == R"(prefix {"f_int32":1}{"f_int32":1})");
}

TEST_CASE("encode: enum values without a name are left out", "[json][encode]") {
  OpenEnums m;
  m.set_single(static_cast<heatblast::jsontest3::Open>(5));
  m.add_list(heatblast::jsontest3::OPEN_ONE);
  m.add_list(static_cast<heatblast::jsontest3::Open>(7));
  (*m.mutable_by_name())["named"] = heatblast::jsontest3::OPEN_ONE;
  (*m.mutable_by_name())["unnamed"] = static_cast<heatblast::jsontest3::Open>(9);
  CHECK(json::encode(m) == R"({"list":["OPEN_ONE"],"by_name":{"named":"OPEN_ONE"}})");
  m.clear_list();
  m.add_list(static_cast<heatblast::jsontest3::Open>(7));
  m.clear_by_name();
  CHECK(json::encode(m) == "{}");  // a list of nothing but unnamed values is omitted
}

TEST_CASE("encode: proto3 fields without presence are written when not zero", "[json][encode]") {
  OpenEnums m;
  m.set_plain(0);
  m.set_single(heatblast::jsontest3::OPEN_ZERO);
  CHECK(json::encode(m) == "{}");
  m.set_with_presence(0);
  m.set_plain(-3);
  CHECK(json::encode(m) == R"({"plain":-3,"with_presence":0})");
}
