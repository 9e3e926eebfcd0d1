// EventStreamDecoder: turns the bytes of a SUBSCRIBE response body into typed scheduler events,
// in three layers (bytes -> RecordIO records -> mesos::v1::scheduler::Event).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <mesos/v1/scheduler/scheduler.pb.h>

#include "heatblast/codec.hpp"
#include "heatblast/error.hpp"
#include "heatblast/function_ref.hpp"
#include "heatblast/recordio.hpp"

namespace heatblast {

// Receives each event; the reference is valid only during the call (the message is reused for
// the next record). Return false to stop the current feed().
using EventSink = FunctionRef<bool(const mesos::v1::scheduler::Event& event)>;

// A push decoder with no I/O, for one stream. A record that is not a valid Event in the
// stream's content type is an error (the stream is then broken: a client reconnects), kept apart
// from a clean end of stream (finish() succeeds) and a truncated one (finish() fails). The
// error's message names the byte offset of the bad record. Once failed, it stays failed.
// Events of types this build does not know decode as type UNKNOWN and are delivered; skipping
// them is the caller's choice. Not thread-safe.
class EventStreamDecoder {
 public:
  explicit EventStreamDecoder(ContentType type, RecordIODecoder::Options framing = {})
      : codec_(type), framing_(framing) {}

  ContentType content_type() const noexcept { return codec_.type(); }

  // Returns the number of events delivered by this call.
  Result<std::size_t> feed(std::string_view bytes, EventSink sink);
  Result<void> finish() { return framing_.finish(); }

  std::uint64_t offset() const noexcept { return framing_.offset(); }
  std::uint64_t events() const noexcept { return events_; }
  // True when no partial record is pending (an end of stream here is clean).
  bool at_boundary() const noexcept { return framing_.at_boundary(); }
  bool failed() const noexcept { return failed_ || framing_.failed(); }

 private:
  MessageCodec codec_;
  RecordIODecoder framing_;
  mesos::v1::scheduler::Event event_;
  std::uint64_t events_ = 0;
  bool failed_ = false;
  Error error_;
};

}  // namespace heatblast
