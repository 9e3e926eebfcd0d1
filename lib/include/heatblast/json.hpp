// Mesos's JSON mapping of protobuf messages (what a master reads and writes on
// `application/json`), for any message type, driven by the protobuf descriptors.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <google/protobuf/message.h>

#include "heatblast/error.hpp"

namespace heatblast::json {

// Decoding follows the master's rules: keys are proto field names (snake_case); enums are
// value names; bytes are standard base64; numbers may be JSON numbers or strings holding a
// number (64-bit integers are read exactly, never through double); doubles accept
// "Infinity"/"-Infinity"/"NaN" as strings and as the bare tokens Mesos itself may emit;
// `null` means unset; a scalar for a repeated field is a one-element list; maps are objects.
// Unknown keys and unknown enum names are skipped, so that a newer master never breaks us.
struct DecodeOptions {
  // Nesting deeper than this is an error (errc::json_too_deep), not a stack overflow.
  std::size_t max_depth = 64;
  // Check proto2 required fields after decoding (errc::missing_required).
  bool check_required = true;
};

// Encoding writes what a Mesos master writes: compact JSON, proto field names, enum names,
// bytes as padded standard base64, 64-bit integers as bare JSON integers, empty repeated
// fields omitted, and unset optional fields that declare an explicit default written with it.
struct EncodeOptions {
  // Write unset fields that have an explicit, non-deprecated `[default = ...]` (Mesos does).
  bool emit_defaults = true;
};

// Decodes JSON text into `out`, which is cleared first. On failure `out` holds whatever was
// decoded before the error and the Error names the byte offset and the field path.
Result<void> decode(std::string_view text, google::protobuf::Message& out,
                    const DecodeOptions& options = {});

// Appends the JSON text of `message` to `out`.
void encode(const google::protobuf::Message& message, std::string& out,
            const EncodeOptions& options = {});

inline std::string encode(const google::protobuf::Message& message,
                          const EncodeOptions& options = {}) {
  std::string out;
  encode(message, out, options);
  return out;
}

}  // namespace heatblast::json
