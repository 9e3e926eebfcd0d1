#include "heatblast/event_stream.hpp"

#include <fmt/format.h>

namespace heatblast {

Result<std::size_t> EventStreamDecoder::feed(std::string_view bytes, EventSink sink) {
  if (failed_) {
    return fail(errc::recordio_failed,
                fmt::format("event stream already failed: {}", error_.what()));
  }
  std::size_t delivered = 0;
  auto framed = framing_.feed(bytes, [&](std::string_view record) {
    if (auto decoded = codec_.decode(record, event_); !decoded) {
      failed_ = true;
      error_ = Error(decoded.error().code,
                     fmt::format("bad event record #{} at byte {} ({} bytes, {}): {}", events_ + 1,
                                 framing_.record_offset(), record.size(), to_string(codec_.type()),
                                 decoded.error().what()));
      return false;
    }
    ++events_;
    ++delivered;
    return sink(event_);
  });
  if (!framed) return tl::unexpected(framed.error());
  if (failed_) return tl::unexpected(error_);
  return delivered;
}

}  // namespace heatblast
