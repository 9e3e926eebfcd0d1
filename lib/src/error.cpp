#include "heatblast/error.hpp"

namespace heatblast {
namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "heatblast"; }

  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::ok:
        return "success";
      case errc::recordio_bad_length:
        return "bad RecordIO length prefix";
      case errc::recordio_too_large:
        return "RecordIO record larger than the maximum";
      case errc::recordio_truncated:
        return "RecordIO stream ended inside a record";
      case errc::recordio_failed:
        return "RecordIO decoder already failed";
      case errc::json_syntax:
        return "malformed JSON";
      case errc::json_type_mismatch:
        return "JSON value of the wrong type for its field";
      case errc::json_bad_base64:
        return "invalid base64 in a bytes field";
      case errc::json_bad_number:
        return "invalid or out-of-range number";
      case errc::json_too_deep:
        return "JSON nested too deeply";
      case errc::protobuf_parse:
        return "malformed protobuf message";
      case errc::missing_required:
        return "missing required field";
      case errc::unsupported_content_type:
        return "unsupported content type";
      case errc::insufficient_resources:
        return "insufficient resources";
      case errc::invalid_resource:
        return "invalid resource";
      case errc::invalid_argument:
        return "invalid argument";
      case errc::io_error:
        return "I/O error";
      case errc::connection_refused:
        return "connection refused";
      case errc::resolve_failed:
        return "could not resolve host";
      case errc::timeout:
        return "timed out";
      case errc::transport_error:
        return "connection failed during the exchange";
      case errc::tls_error:
        return "TLS failure";
      case errc::protocol_error:
        return "malformed HTTP from the peer";
      case errc::body_too_large:
        return "body larger than the maximum";
      case errc::address_in_use:
        return "address already in use";
      case errc::write_buffer_full:
        return "write buffer full: reader too slow";
      case errc::not_subscribed:
        return "not subscribed to a master";
      case errc::call_rejected:
        return "the master rejected the call";
      case errc::subscription_failed:
        return "the master refused the subscription";
      case errc::framework_removed:
        return "the framework has been removed";
      case errc::stopped:
        return "the client was stopped";
      case errc::call_queue_full:
        return "too many calls waiting to be sent";
      case errc::zookeeper_auth_failed:
        return "ZooKeeper refused the credentials";
      case errc::zookeeper_error:
        return "ZooKeeper operation failed";
      case errc::cancelled:
        return "cancelled";
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
