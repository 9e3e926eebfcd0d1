#include "call_validation.hpp"

#include <cctype>
#include <set>

#include <fmt/format.h>

#include "time.hpp"

namespace heatblast::local_master {
namespace {

using mesos::v1::scheduler::Call;

tl::unexpected<Error> invalid(std::string message) {
  return fail(errc::invalid_argument, std::move(message));
}

Result<void> expect(bool present, std::string_view field) {
  if (present) return {};
  return invalid(fmt::format("Expecting '{}' to be present", field));
}

// The deprecated `FrameworkInfo.role` is still what a framework without MULTI_ROLE subscribes
// with; the deprecation warnings stay confined to these two.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
const std::string& legacy_role(const mesos::v1::FrameworkInfo& info) {
  return info.role();
}
bool has_legacy_role(const mesos::v1::FrameworkInfo& info) {
  return info.has_role();
}
#pragma GCC diagnostic pop

Result<void> validate_uuid(const std::string& bytes) {
  if (bytes.size() != 16) return invalid("Not a valid UUID");
  return {};
}

}  // namespace

Result<void> validate_call(const Call& call) {
  if (!call.IsInitialized()) {
    return invalid("Not initialized: " + call.InitializationErrorString());
  }
  if (!call.has_type()) return invalid("Expecting 'type' to be present");

  if (call.type() == Call::SUBSCRIBE) {
    if (!call.has_subscribe()) return invalid("Expecting 'subscribe' to be present");
    const auto& info = call.subscribe().framework_info();
    const bool same = info.has_id() == call.has_framework_id() &&
                      (!info.has_id() || info.id().value() == call.framework_id().value());
    if (!same) return invalid("'framework_id' differs from 'subscribe.framework_info.id'");
    return {};
  }

  if (!call.has_framework_id()) return invalid("Expecting 'framework_id' to be present");

  switch (call.type()) {
    case Call::SUBSCRIBE:
    case Call::UNKNOWN:
    case Call::TEARDOWN:
    case Call::REVIVE:
    case Call::SUPPRESS:
      return {};
    case Call::ACCEPT:
      return expect(call.has_accept(), "accept");
    case Call::DECLINE:
      return expect(call.has_decline(), "decline");
    case Call::ACCEPT_INVERSE_OFFERS:
      return expect(call.has_accept_inverse_offers(), "accept_inverse_offers");
    case Call::DECLINE_INVERSE_OFFERS:
      return expect(call.has_decline_inverse_offers(), "decline_inverse_offers");
    case Call::KILL:
      return expect(call.has_kill(), "kill");
    case Call::SHUTDOWN:
      return expect(call.has_shutdown(), "shutdown");
    case Call::ACKNOWLEDGE: {
      auto present = expect(call.has_acknowledge(), "acknowledge");
      if (!present) return present;
      return validate_uuid(call.acknowledge().uuid());
    }
    case Call::ACKNOWLEDGE_OPERATION_STATUS: {
      auto present =
          expect(call.has_acknowledge_operation_status(), "acknowledge_operation_status");
      if (!present) return present;
      return validate_uuid(call.acknowledge_operation_status().uuid());
    }
    case Call::RECONCILE:
      return expect(call.has_reconcile(), "reconcile");
    case Call::RECONCILE_OPERATIONS:
      return expect(call.has_reconcile_operations(), "reconcile_operations");
    case Call::MESSAGE:
      return expect(call.has_message(), "message");
    case Call::REQUEST:
      return expect(call.has_request(), "request");
    case Call::UPDATE_FRAMEWORK: {
      auto present = expect(call.has_update_framework(), "update_framework");
      if (!present) return present;
      const auto& info = call.update_framework().framework_info();
      if (!info.has_id() || info.id().value() != call.framework_id().value()) {
        return invalid("'framework_id' differs from 'update_framework.framework_info.id'");
      }
      return {};
    }
  }
  return {};
}

Result<void> validate_id(std::string_view what, const std::string& value) {
  if (value.empty()) return invalid(fmt::format("{} must not be empty", what));
  if (value.size() > 255) {
    return invalid(fmt::format("{} '{}' is longer than 255 characters", what, value));
  }
  if (value == "." || value == "..") {
    return invalid(fmt::format("{} '{}' must not be '.' or '..'", what, value));
  }
  for (char c : value) {
    if (std::iscntrl(static_cast<unsigned char>(c)) || c == '/' || c == '\\') {
      return invalid(fmt::format("{} '{}' contains invalid characters", what, value));
    }
  }
  return {};
}

Result<void> validate_role(const std::string& role) {
  auto bad = [&role](std::string_view why) {
    return invalid(fmt::format("Role '{}' is invalid: {}", role, why));
  };
  if (role.empty()) return bad("empty role name");
  if (role == "*") return {};
  if (role == "." || role == "..") return bad("'.' and '..' are reserved");
  if (role.front() == '-') return bad("must not start with '-'");
  for (char c : role) {
    if (std::isspace(static_cast<unsigned char>(c)) ||
        std::iscntrl(static_cast<unsigned char>(c))) {
      return bad("must not contain whitespace or control characters");
    }
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t end = role.find('/', start);
    const std::string component =
        role.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (component.empty()) return bad("a '/' separated component is empty");
    if (component == "." || component == "..") return bad("'.' and '..' are reserved");
    if (component == "*") return bad("'*' is only valid as a whole role name");
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return {};
}

bool has_capability(const mesos::v1::FrameworkInfo& info,
                    mesos::v1::FrameworkInfo::Capability::Type capability) {
  for (const auto& entry : info.capabilities()) {
    if (entry.type() == capability) return true;
  }
  return false;
}

std::vector<std::string> framework_roles(const mesos::v1::FrameworkInfo& info) {
  if (has_capability(info, mesos::v1::FrameworkInfo::Capability::MULTI_ROLE)) {
    return {info.roles().begin(), info.roles().end()};
  }
  return {legacy_role(info)};
}

Result<void> validate_framework_info(
    const mesos::v1::FrameworkInfo& info,
    const google::protobuf::RepeatedPtrField<std::string>& suppressed_roles) {
  if (info.has_id()) {
    auto id = validate_id("FrameworkID", info.id().value());
    if (!id) return id;
  }
  const bool multi_role = has_capability(info, mesos::v1::FrameworkInfo::Capability::MULTI_ROLE);
  if (multi_role && has_legacy_role(info)) {
    return invalid("'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable");
  }
  if (!multi_role && !info.roles().empty()) {
    return invalid(
        "'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE capable");
  }
  std::set<std::string> seen;
  for (const auto& role : framework_roles(info)) {
    auto valid = validate_role(role);
    if (!valid) return valid;
    if (!seen.insert(role).second) {
      return invalid(fmt::format("'FrameworkInfo.roles' contains duplicate role '{}'", role));
    }
  }
  if (!duration_from_seconds(info.failover_timeout())) {
    return invalid(fmt::format("Illegal value for failover_timeout {}: not a valid duration",
                               info.failover_timeout()));
  }
  for (const auto& role : suppressed_roles) {
    if (!seen.contains(role)) {
      return invalid(fmt::format(
          "Suppressed role '{}' is not contained in the list of roles of the framework", role));
    }
  }
  return {};
}

}  // namespace heatblast::local_master
