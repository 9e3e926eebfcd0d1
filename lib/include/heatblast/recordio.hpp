// RecordIO, the framing of the Mesos event stream: each record is its byte length in
// decimal, a '\n', then exactly that many bytes (no trailing newline).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "heatblast/error.hpp"
#include "heatblast/function_ref.hpp"

namespace heatblast {

// Appends one framed record to `out`.
void recordio_append(std::string& out, std::string_view record);

// Receives each record; return false to stop the current feed().
using RecordSink = FunctionRef<bool(std::string_view record)>;

// An incremental RecordIO decoder: a push parser with no I/O. Bytes may arrive split at any
// point and one chunk may hold many records. Records that lie whole inside a chunk are handed
// out without a copy; only a record split across chunks is buffered, and never beyond
// `max_record_size`, which is checked before anything is allocated.
//
// As Mesos's own decoder does, it accepts leading zeros in a length ("007") and a zero length
// (an empty record), and it skips empty lines before a length. Any other byte in a length, a
// length with more significant digits than a uint64 has, or a length above the maximum is an
// error that names the byte offset; once failed, the decoder stays failed.
//
// Not thread-safe; use one decoder per stream.
class RecordIODecoder {
 public:
  struct Options {
    // The longest record accepted. Mesos's largest events (OFFERS from a big cluster) are a few
    // MiB; the default leaves ample room while bounding memory on a corrupt stream.
    std::size_t max_record_size = 64 * 1024 * 1024;
  };

  RecordIODecoder() : RecordIODecoder(Options{}) {}
  explicit RecordIODecoder(Options options) : options_(options) {}

  // Consumes `bytes`, calling `sink(record)` for each complete record in stream order. The view
  // passed to the sink is valid only during that call. Returns the number of records delivered,
  // or an error (errc::recordio_bad_length, recordio_too_large, recordio_failed). When the sink
  // returns false, feed() returns right after that record without consuming the rest of
  // `bytes`; offset() tells how far it got, and the rest may be fed again to go on.
  Result<std::size_t> feed(std::string_view bytes, RecordSink sink);

  // Declares the end of the stream: an error (errc::recordio_truncated) if it ends inside a
  // length or a record, with the offset where that record began.
  Result<void> finish();

  // Bytes consumed so far, i.e. the stream offset of the next byte to be fed.
  std::uint64_t offset() const noexcept { return offset_; }

  // Stream offset of the first byte of the record last handed to the sink (its length prefix).
  std::uint64_t record_offset() const noexcept { return record_start_; }

  bool failed() const noexcept { return state_ == State::kFailed; }

  // True between records (nothing partial is pending).
  bool at_boundary() const noexcept { return state_ == State::kLength && !in_length_; }

  // Clears all state, including a failure, to decode a new stream.
  void reset();

 private:
  enum class State { kLength, kRecord, kFailed };

  tl::unexpected<Error> set_failed(errc code, std::string message);

  Options options_;
  State state_ = State::kLength;
  bool in_length_ = false;  // at least one digit of the current length was seen
  unsigned significant_digits_ = 0;
  std::uint64_t length_ = 0;  // the current length prefix, as parsed so far
  std::uint64_t offset_ = 0;
  std::uint64_t record_start_ = 0;
  std::string partial_;  // bytes of a record split across feeds
  std::string error_;    // the first failure, repeated by later calls
};

}  // namespace heatblast
