// The two ways json::decode fills a message, callable one at a time so that a test can check
// that they agree: the fast path (wire format, then the generated parser) and the reflection
// decoder that runs whenever the fast path gives up.
#pragma once

#include <string_view>

#include <google/protobuf/message.h>

#include "heatblast/error.hpp"
#include "heatblast/json.hpp"

namespace heatblast::json::detail {

// The fast path alone: true when it decoded `text` into `out` (required fields not checked),
// false when it gave up (on every error, and on input it leaves to the reflection decoder).
bool decode_fast(std::string_view text, google::protobuf::Message& out,
                 const DecodeOptions& options);

// The reflection decoder alone: what json::decode returns when the fast path gives up.
Result<void> decode_reflection(std::string_view text, google::protobuf::Message& out,
                               const DecodeOptions& options);

}  // namespace heatblast::json::detail
