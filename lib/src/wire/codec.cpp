#include "heatblast/codec.hpp"

#include <algorithm>
#include <cctype>
#include <limits>

#include <fmt/format.h>

#include "heatblast/json.hpp"

namespace heatblast {
namespace {

constexpr std::string_view kProtobuf = "application/x-protobuf";
constexpr std::string_view kJson = "application/json";

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view media_type(ContentType type) noexcept {
  return type == ContentType::protobuf ? kProtobuf : kJson;
}

std::optional<ContentType> parse_media_type(std::string_view value) noexcept {
  value = trim(value.substr(0, value.find(';')));
  if (iequals(value, kProtobuf)) return ContentType::protobuf;
  if (iequals(value, kJson)) return ContentType::json;
  return std::nullopt;
}

std::string_view to_string(ContentType type) noexcept {
  return type == ContentType::protobuf ? "protobuf" : "json";
}

Result<void> MessageCodec::decode(std::string_view bytes, google::protobuf::Message& out) const {
  if (type_ == ContentType::json) return json::decode(bytes, out);

  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return fail(errc::protobuf_parse, "protobuf: message larger than 2 GiB");
  }
  // ParseFromArray clears `out` first; its repeated fields keep their allocated elements, which
  // is what makes decoding into one reused message fast. It also checks required fields.
  if (!out.ParsePartialFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return fail(errc::protobuf_parse, fmt::format("protobuf: not a valid '{}' ({} bytes)",
                                                  out.GetTypeName(), bytes.size()));
  }
  if (!out.IsInitialized()) {
    return fail(errc::missing_required,
                fmt::format("protobuf: '{}' is missing required fields: {}", out.GetTypeName(),
                            out.InitializationErrorString()));
  }
  return {};
}

void MessageCodec::encode(const google::protobuf::Message& message, std::string& out) const {
  if (type_ == ContentType::json) {
    json::encode(message, out);
    return;
  }
  message.AppendPartialToString(&out);
}

}  // namespace heatblast
