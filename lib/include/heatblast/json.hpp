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

// Both functions work on any message type through its descriptor, may be called from any
// number of threads at once (on different messages), and never throw. The first call for a
// message type builds a lookup table for it and every type it contains, under a lock, and keeps
// it for the life of the process; so a descriptor passed in must live that long too (generated
// types do; a type from a DescriptorPool that is destroyed later must not be passed).

// Decoding follows the master's rules: keys are proto field names (snake_case); enums are
// value names; bytes are standard base64; numbers may be JSON numbers or strings holding a
// number (64-bit integers are read exactly, never through double); doubles accept
// "Infinity"/"-Infinity"/"NaN" as strings and as the bare tokens Mesos itself may emit;
// `null` means unset; a scalar for a repeated field is a one-element list; maps are objects.
// Unknown keys and unknown enum names are skipped, so that a newer master never breaks us.
//
// In detail:
// - Integer fields take any number whose value is an integer in range: "12", "1e3", "100.0"
//   and the same as strings ("-9223372036854775808"); "1.5", 2^31 for an int32 and -1 for an
//   unsigned field are errc::json_bad_number. Floating-point fields are rounded once, correctly,
//   to the field's own type; a value too large for it is errc::json_bad_number, one too small
//   reads as (signed) zero.
// - Bools take true/false and "true"/"false"; enums only names (a number is
//   errc::json_type_mismatch, as on the master). An unknown name leaves the field unset, drops
//   the element of a repeated field and the entry of a map; a required enum then is missing.
// - Map keys are the JSON object's keys, converted to the key type (bad: errc::json_bad_number);
//   values must have the value type's full shape (`"limits": {"cpus": {"value": 2}}`).
// - `null` clears a field (also one set by an earlier duplicate key), is no element in an
//   array, and no entry in a map. For a duplicate key the later value wins (a singular message
//   is merged); a repeated field given twice gets both lists.
// - An array for a non-repeated field, an array inside an array and a non-object for a message
//   are errc::json_type_mismatch; so is a root that is not an object. Strings are taken as they
//   are (UTF-8 is not validated).
// - Every failure's Error::message reads `JSON: at byte 123 ('offers[2].resources[0].scalar.
//   value'): expected a number, got a string`: the offset of the offending value (or of the
//   syntax error) and the field path to it.
struct DecodeOptions {
  // Objects and arrays nested deeper than this (counting the root object, and counting values
  // skipped under unknown keys) are an error (errc::json_too_deep), not a stack overflow.
  std::size_t max_depth = 64;
  // Check proto2 required fields after decoding (errc::missing_required, naming every missing
  // field by its path, e.g. 'subscribe.framework_info.user').
  bool check_required = true;
};

// Encoding writes what a Mesos master writes: compact JSON, proto field names in declaration
// order, enum names, bytes as padded standard base64, 64-bit integers as bare JSON integers,
// empty repeated fields omitted, and unset optional fields that declare an explicit default
// written with it (not when deprecated, and not for members of a oneof, which would select the
// member when read back).
//
// In detail:
// - Doubles are written with RapidJSON's Grisu2, the digits Mesos writes ("5.0", "0.1",
//   "1e21"): always read back as the same double, though not always the shortest such text.
//   Floats are widened to double first, as Mesos does. Non-finite values are the bare tokens
//   NaN, Infinity and -Infinity, which are not valid JSON but are what Mesos writes.
// - An enum number without a name (only an open proto3 enum can hold one) is left out: field,
//   element or map entry. Mesos's JSON has no way to write it (a number for an enum is an
//   error for the master and for decode()).
// - Maps are objects, keys as strings ("-5", "true"), in the map's iteration order.
// - Strings are written as they are, escaping only '"', '\\' and control characters.
//   Extensions are not written.
struct EncodeOptions {
  // Write unset fields that have an explicit, non-deprecated `[default = ...]` (Mesos does).
  bool emit_defaults = true;
};

// Decodes JSON text into `out`, which is cleared first (its allocations are reused, so decoding
// into the same message again and again is the fast way). `text` need not be NUL-terminated; it
// is copied once into a buffer kept per thread (released after texts above 4 MiB). On failure
// `out` holds whatever was decoded before the error.
Result<void> decode(std::string_view text, google::protobuf::Message& out,
                    const DecodeOptions& options = {});

// Appends the JSON text of `message` to `out`. Required fields are not checked: a message
// missing some is written as it is.
void encode(const google::protobuf::Message& message, std::string& out,
            const EncodeOptions& options = {});

// Appends `text` as a JSON string: quoted, with '"', '\\' and control characters escaped as
// the encoder escapes them; UTF-8 passes through unchanged. For hand-written JSON documents.
void append_quoted(std::string& out, std::string_view text);

inline std::string encode(const google::protobuf::Message& message,
                          const EncodeOptions& options = {}) {
  std::string out;
  encode(message, out, options);
  return out;
}

}  // namespace heatblast::json
