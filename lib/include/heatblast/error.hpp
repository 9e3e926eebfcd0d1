// heatblast's error policy, for the whole library: every operation that can fail returns
// `heatblast::Result<T>` (a `tl::expected<T, heatblast::Error>`); no exception leaves the library.
#pragma once

#include <string>
#include <system_error>
#include <utility>

#include <tl/expected.hpp>

namespace heatblast {

// What went wrong, as a category a program can branch on. Registered as a std::error_code
// category named "heatblast"; the detailed text (offsets, field names) lives in Error::message.
enum class errc {
  ok = 0,
  // wire: RecordIO framing
  recordio_bad_length,  // a length prefix with a non-digit or too many digits
  recordio_too_large,   // a length prefix above the configured maximum record size
  recordio_truncated,   // the stream ended inside a length prefix or a record
  recordio_failed,      // the decoder already failed; it stays failed
  // wire: message codecs
  json_syntax,         // not well-formed JSON (or a structural error such as an array for a scalar)
  json_type_mismatch,  // a JSON value of the wrong type for the protobuf field
  json_bad_base64,     // a bytes field that is not standard base64
  json_bad_number,     // a number out of range for its field, or not a number at all
  json_too_deep,       // nesting deeper than the decoder's limit
  protobuf_parse,      // not a valid serialized protobuf message
  missing_required,    // a proto2 required field is absent after decoding
  unsupported_content_type,
  // resources
  insufficient_resources,  // an allocation that the offer cannot satisfy
  invalid_resource,        // a resource that is malformed (e.g. a range with begin > end)
  // generic
  invalid_argument,
  io_error,
  // http: transport outcomes (an HTTP status, even 4xx/5xx, is never an error at this layer)
  connection_refused,  // nothing listening, or the connection could not be made at all
  resolve_failed,      // the host name (or proxy name) did not resolve
  timeout,             // a connect, whole-request or low-speed timeout ran out
  transport_error,     // the connection broke: reset, closed mid-body, send/receive failure
  tls_error,           // TLS handshake, certificate or CA bundle failure
  protocol_error,      // the peer's reply is not valid HTTP
  body_too_large,      // a body above the configured maximum (client response or server request)
  address_in_use,      // a server could not bind: the address and port are taken
  write_buffer_full,   // a server stream's reader is too slow: unsent bytes passed the limit
  cancelled,           // ended on purpose by this side (e.g. a server stream aborted)
  // scheduler: the v1 scheduler client
  not_subscribed,       // a call made while the client is not subscribed (nothing was sent)
  call_rejected,        // the master answered a call with an error status (message has its text)
  subscription_failed,  // the master refused the subscription (an ERROR event, 401, 403, ...)
  framework_removed,    // the framework id was torn down: "Framework has been removed"
  stopped,              // the client was stopped before the call completed
  call_queue_full,      // a call refused: Options::max_queued_calls wait already (nothing sent)
  // ZooKeeper
  zookeeper_auth_failed,  // the ensemble refused the digest credentials of a zk:// URL
  zookeeper_error,        // a ZooKeeper operation failed (the message names it and the code)
};

}  // namespace heatblast

template <>
struct std::is_error_code_enum<heatblast::errc> : std::true_type {};

namespace heatblast {

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

// An error code plus a human-readable message that says where and why (for example
// "RecordIO: bad length prefix at byte 1234: unexpected 'x'").
struct Error {
  std::error_code code;
  std::string message;

  Error() = default;
  Error(errc e, std::string msg) : code(make_error_code(e)), message(std::move(msg)) {}
  Error(std::error_code ec, std::string msg) : code(ec), message(std::move(msg)) {}

  // The message when there is one, else the category's text for the code.
  std::string what() const { return message.empty() ? code.message() : message; }
};

template <class T>
using Result = tl::expected<T, Error>;

// Shorthand for returning a failure: `return fail(errc::json_syntax, "...")`.
inline tl::unexpected<Error> fail(errc e, std::string msg) {
  return tl::unexpected<Error>(Error(e, std::move(msg)));
}

}  // namespace heatblast
