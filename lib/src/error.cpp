#include "heatblast/error.hpp"

namespace heatblast {
namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "heatblast"; }

  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::ok: return "success";
      case errc::recordio_bad_length: return "bad RecordIO length prefix";
      case errc::recordio_too_large: return "RecordIO record larger than the maximum";
      case errc::recordio_truncated: return "RecordIO stream ended inside a record";
      case errc::recordio_failed: return "RecordIO decoder already failed";
      case errc::json_syntax: return "malformed JSON";
      case errc::json_type_mismatch: return "JSON value of the wrong type for its field";
      case errc::json_bad_base64: return "invalid base64 in a bytes field";
      case errc::json_bad_number: return "invalid or out-of-range number";
      case errc::json_too_deep: return "JSON nested too deeply";
      case errc::protobuf_parse: return "malformed protobuf message";
      case errc::missing_required: return "missing required field";
      case errc::unsupported_content_type: return "unsupported content type";
      case errc::insufficient_resources: return "insufficient resources";
      case errc::invalid_resource: return "invalid resource";
      case errc::invalid_argument: return "invalid argument";
      case errc::io_error: return "I/O error";
    }
    return "unknown heatblast error";
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const Category category;
  return category;
}

}  // namespace heatblast
