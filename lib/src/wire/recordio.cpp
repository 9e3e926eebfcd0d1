#include "heatblast/recordio.hpp"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

namespace heatblast {
namespace {

// A uint64 has at most 20 decimal digits; leading zeros do not count, as Mesos accepts them.
constexpr unsigned kMaxSignificantDigits = 20;

std::string describe_byte(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return fmt::format("'{}'", c);
  return fmt::format("0x{:02x}", u);
}

}  // namespace

void recordio_append(std::string& out, std::string_view record) {
  fmt::format_to(std::back_inserter(out), "{}\n", record.size());
  out.append(record);
}

tl::unexpected<Error> RecordIODecoder::set_failed(errc code, std::string message) {
  state_ = State::kFailed;
  partial_.clear();
  partial_.shrink_to_fit();
  error_ = message;
  return fail(code, std::move(message));
}

void RecordIODecoder::reset() {
  state_ = State::kLength;
  in_length_ = false;
  significant_digits_ = 0;
  length_ = 0;
  offset_ = 0;
  record_start_ = 0;
  partial_.clear();
  error_.clear();
}

Result<std::size_t> RecordIODecoder::feed(std::string_view bytes, RecordSink sink) {
  if (state_ == State::kFailed) {
    return fail(errc::recordio_failed, fmt::format("RecordIO: decoder already failed: {}", error_));
  }
  std::size_t delivered = 0;
  std::size_t i = 0;
  const std::size_t n = bytes.size();
  while (i < n) {
    if (state_ == State::kLength) {
      const char c = bytes[i];
      if (c == '\n') {
        ++i;
        ++offset_;
        if (!in_length_) continue;  // an empty line before a length
        in_length_ = false;
        if (length_ == 0) {
          ++delivered;
          if (!sink(std::string_view{})) return delivered;
          continue;
        }
        state_ = State::kRecord;
        continue;
      }
      if (c < '0' || c > '9') {
        return set_failed(errc::recordio_bad_length,
                          fmt::format("RecordIO: bad length prefix at byte {}: unexpected {}",
                                      offset_, describe_byte(c)));
      }
      if (!in_length_) {
        in_length_ = true;
        record_start_ = offset_;
        length_ = 0;
        significant_digits_ = 0;
      }
      const auto digit = static_cast<std::uint64_t>(c - '0');
      if (length_ != 0 || digit != 0) {
        if (++significant_digits_ > kMaxSignificantDigits ||
            length_ > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
          return set_failed(
              errc::recordio_bad_length,
              fmt::format("RecordIO: length prefix at byte {} has too many digits", record_start_));
        }
        length_ = length_ * 10 + digit;
        // Checked digit by digit, so a huge claimed length fails before its newline arrives.
        if (length_ > options_.max_record_size) {
          return set_failed(
              errc::recordio_too_large,
              fmt::format("RecordIO: record at byte {} claims more than the maximum of {} bytes",
                          record_start_, options_.max_record_size));
        }
      }
      ++i;
      ++offset_;
      continue;
    }

    // State::kRecord
    const std::size_t need = static_cast<std::size_t>(length_) - partial_.size();
    const std::size_t avail = n - i;
    if (partial_.empty() && avail >= need) {
      const std::string_view record = bytes.substr(i, need);
      i += need;
      offset_ += need;
      state_ = State::kLength;
      ++delivered;
      if (!sink(record)) return delivered;
      continue;
    }
    // Grow with the bytes that actually arrived, not with the claimed length: a stream that
    // claims a large record and then stalls holds only what it sent.
    const std::size_t take = std::min(need, avail);
    partial_.append(bytes.data() + i, take);
    i += take;
    offset_ += take;
    if (partial_.size() == length_) {
      state_ = State::kLength;
      ++delivered;
      const bool go_on = sink(partial_);
      partial_.clear();
      if (!go_on) return delivered;
    }
  }
  return delivered;
}

Result<void> RecordIODecoder::finish() {
  if (state_ == State::kFailed) {
    return fail(errc::recordio_failed, fmt::format("RecordIO: decoder already failed: {}", error_));
  }
  if (state_ == State::kRecord) {
    return set_failed(errc::recordio_truncated,
                      fmt::format("RecordIO: stream ended inside the record at byte {} ({} of {} "
                                  "bytes received)",
                                  record_start_, partial_.size(), length_));
  }
  if (in_length_) {
    return set_failed(
        errc::recordio_truncated,
        fmt::format("RecordIO: stream ended inside the length prefix at byte {}", record_start_));
  }
  return {};
}

}  // namespace heatblast
