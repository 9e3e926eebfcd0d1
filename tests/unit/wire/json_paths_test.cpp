// json::decode has two ways to fill a message: the fast path (the wire format, then the
// generated parser) and the reflection decoder it falls back to. Every input either path takes
// must give the same message, and decode() the reflection decoder's result and error text:
// checked over the fuzz corpora of Mesos events and calls, mutations of them, and the test
// schema's every field shape.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <mesos/v1/scheduler/scheduler.pb.h>
#include <catch2/catch.hpp>

#include "heatblast/json.hpp"
#include "json_test.pb.h"
#include "wire/json_decode_paths.hpp"

namespace json = heatblast::json;

namespace {

std::string serialize(const google::protobuf::Message& m) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    m.SerializePartialToCodedStream(&coded);
  }
  return out;
}

struct Counts {
  std::size_t inputs = 0;
  std::size_t fast = 0;  // taken by the fast path
};

template <class M>
void check(std::string_view text, Counts& counts, const json::DecodeOptions& options = {}) {
  INFO("input: " << text);
  ++counts.inputs;
  M slow;
  const auto slow_result = json::detail::decode_reflection(text, slow, options);
  M fast;
  if (json::detail::decode_fast(text, fast, options)) {
    ++counts.fast;
    // The fast path never takes what the reflection decoder rejects (a missing required field
    // is checked after either path).
    if (!slow_result) CHECK(slow_result.error().code == heatblast::errc::missing_required);
    CHECK(serialize(fast) == serialize(slow));
  }
  M whole;
  const auto result = json::decode(text, whole, options);
  REQUIRE(result.has_value() == slow_result.has_value());
  if (!result) {
    CHECK(result.error().code == slow_result.error().code);
    CHECK(result.error().message == slow_result.error().message);
  }
  CHECK(serialize(whole) == serialize(slow));
}

std::vector<std::string> corpus(const char* target) {
  std::vector<std::string> inputs;
  const std::filesystem::path dir = std::filesystem::path(HEATBLAST_FUZZ_CORPUS_DIR) / target;
  for (const auto& item : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(item.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.empty()) continue;
    inputs.push_back(bytes.substr(1));  // the first byte selects the content type
  }
  REQUIRE(!inputs.empty());
  return inputs;
}

// Deterministic variations of `text`: cut short, a byte changed, a value replaced by one of
// another shape, a run repeated (duplicate keys, nested arrays).
std::vector<std::string> mutations(const std::string& text) {
  static const char* const values[] = {"null",
                                       "\"x\"",
                                       "1",
                                       "-1",
                                       "1e400",
                                       "\"1e3\"",
                                       "[]",
                                       "{}",
                                       "true",
                                       "\"NaN\"",
                                       "[null,{}]",
                                       "1.5",
                                       "\"AAA=\"",
                                       "\"!\"",
                                       "[[1]]",
                                       "\"-0\"",
                                       "{\"a\":null}",
                                       "18446744073709551616",
                                       "\"UNKNOWN_ENUM_NAME\"",
                                       "[\"x\",null]"};
  std::vector<std::string> out;
  std::uint64_t state = 0x2545F4914F6CDD1Du + text.size();
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  if (text.empty()) return out;
  for (int i = 0; i < 24; ++i) {
    const std::size_t at = next() % text.size();
    switch (i % 4) {
      case 0:
        out.push_back(text.substr(0, at));
        break;
      case 1: {
        std::string m = text;
        m[at] = static_cast<char>(next() % 256);
        out.push_back(std::move(m));
        break;
      }
      case 2: {
        const std::size_t colon = text.find(':', at);
        if (colon == std::string::npos) break;
        std::size_t end = colon + 1;
        while (end < text.size() && text[end] != ',' && text[end] != '}' && text[end] != ']') {
          ++end;
        }
        out.push_back(text.substr(0, colon + 1) + values[next() % std::size(values)] +
                      text.substr(end));
        break;
      }
      case 3:
        out.push_back(text.substr(0, at) + text.substr(at, next() % 40) + text.substr(at));
        break;
    }
  }
  return out;
}

}  // namespace

TEST_CASE("decode paths: Mesos events from the fuzz corpus and mutations of them agree") {
  Counts counts;
  for (const std::string& text : corpus("event")) {
    check<mesos::v1::scheduler::Event>(text, counts);
    for (const std::string& m : mutations(text))
      check<mesos::v1::scheduler::Event>(m, counts);
  }
  // Most corpus files are valid events: the fast path must take them.
  CHECK(counts.fast * 10 > counts.inputs);
}

TEST_CASE("decode paths: Mesos calls from the fuzz corpus and mutations of them agree") {
  Counts counts;
  for (const std::string& text : corpus("master_call")) {
    check<mesos::v1::scheduler::Call>(text, counts);
    for (const std::string& m : mutations(text))
      check<mesos::v1::scheduler::Call>(m, counts);
  }
  CHECK(counts.fast * 10 > counts.inputs);
}

TEST_CASE("decode paths: every field shape of the test schema agrees, with and without a limit") {
  const std::string inputs[] = {
      R"({"f_int32":-5,"f_int64":"-9223372036854775808","f_uint32":4294967295,)"
      R"("f_uint64":"18446744073709551615","f_sint32":-2147483648,"f_sint64":-3,)"
      R"("f_fixed32":7,"f_fixed64":"1e3","f_sfixed32":-7,"f_sfixed64":-8,"f_float":1.5,)"
      R"("f_double":"-Infinity","f_bool":"true","f_string":"a\u00e9\"b","f_bytes":"AAEC",)"
      R"("f_enum":"RED","f_message":{"id":"x","n":2}})",
      R"({"r_int32":[1,-1,"2"],"r_int64":[-1],"r_uint32":[3],"r_uint64":[4],"r_sint32":[-1,1],)"
      R"("r_sint64":[-2],"r_fixed32":[5],"r_fixed64":[6],"r_sfixed32":[-7],"r_sfixed64":[-8],)"
      R"("r_float":[0.1],"r_double":[NaN],"r_bool":[true,false],"r_string":["a",null,"b"],)"
      R"("r_bytes":["AA=="],"r_enum":["RED","NO_SUCH_COLOR"],"r_message":[{"id":"a"},{}]})",
      R"({"r_int32":5,"r_message":{"id":"one"},"r_string":"solo"})",
      R"({"f_int32":1,"f_int32":2,"f_message":{"id":"a"},"f_message":{"n":3}})",
      R"({"f_int32":1,"f_int32":null})",
      R"({"f_enum":"RED","f_enum":"NO_SUCH_COLOR"})",
      R"({"m_string_string":{"a":"b"},"m_int32_double":{"-1":2.5}})",
      R"({"m_uint32_enum":{"1":"RED","2":"NO_SUCH_COLOR"},"m_bool_int64":{"true":1}})",
      R"({"o_string":"x","nested":{"o_string":"y","nested":{"f_int32":1}}})",
      R"({"z_last_number_first":"z","a_first_number_last":"a","unknown":{"deep":[[{}]]}})",
      R"({"nested":{"nested":{"nested":{"nested":{"nested":{"f_int32":1}}}}}})",
      R"({"f_int32":1.5})",
      R"({"f_uint32":-1})",
      R"({"f_message":{"n":1}})",
      R"({"f_bytes":"!!"})",
      R"({"r_int32":[[1]]})",
      R"([])",
      std::string("{\"f_string\":\"a\"}\0x", 18),
      R"({"o_string":"x","o_leaf":{"id":"q"},"o_string":"y","o_leaf":{"n":1}})",
  };
  Counts counts;
  for (const std::string& text : inputs) {
    for (std::size_t depth : {std::size_t{64}, std::size_t{3}, std::size_t{1}, std::size_t{0}}) {
      json::DecodeOptions options;
      options.max_depth = depth;
      check<heatblast::jsontest::AllTypes>(text, counts, options);
      options.check_required = false;
      check<heatblast::jsontest::AllTypes>(text, counts, options);
    }
    for (const std::string& m : mutations(text))
      check<heatblast::jsontest::AllTypes>(m, counts);
  }
  CHECK(counts.fast > 0);
}
