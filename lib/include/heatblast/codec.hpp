// The two content types of the Mesos v1 API, and one codec that reads and writes any protobuf
// message in either: `application/x-protobuf` (binary) or `application/json` (Mesos's mapping).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <google/protobuf/message.h>

#include "heatblast/error.hpp"

namespace heatblast {

enum class ContentType { protobuf, json };

// The media type exactly as the master expects it: "application/x-protobuf" or
// "application/json", with no parameters (a charset parameter makes a master answer 415).
std::string_view media_type(ContentType type) noexcept;

// The content type named by a Content-Type header value. Parameters after ';' and letter case
// are ignored here (we are lenient in what we read); anything else is std::nullopt.
std::optional<ContentType> parse_media_type(std::string_view value) noexcept;

// "protobuf" or "json", for flags and logs.
std::string_view to_string(ContentType type) noexcept;

// Reads and writes messages in one content type. Decoding into a message that is reused from
// call to call keeps its allocations (the fast path for event streams). Stateless apart from
// its options; safe to share between threads.
class MessageCodec {
 public:
  explicit MessageCodec(ContentType type) noexcept : type_(type) {}

  ContentType type() const noexcept { return type_; }

  // Replaces the contents of `out` with the decoded message. Errors: errc::protobuf_parse,
  // errc::missing_required, or the JSON errors of heatblast/json.hpp.
  Result<void> decode(std::string_view bytes, google::protobuf::Message& out) const;

  // Appends the encoding of `message` to `out`.
  void encode(const google::protobuf::Message& message, std::string& out) const;

  std::string encode(const google::protobuf::Message& message) const {
    std::string out;
    encode(message, out);
    return out;
  }

 private:
  ContentType type_;
};

}  // namespace heatblast
