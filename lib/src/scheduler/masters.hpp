// Where masters are: parsing the configured list and the Location of a 307 redirect.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "heatblast/error.hpp"

namespace heatblast::scheduler {

struct MasterEndpoint {
  std::string scheme = "http";
  std::string host;  // a name, an IPv4 address, or an IPv6 address without brackets
  std::uint16_t port = 5050;
  std::string
      prefix;  // path before /api/v1/scheduler, e.g. "/mesos" behind a gateway; no slash at end

  // "host:port" ("[v6]:port" for IPv6).
  std::string authority() const;
  // The scheduler endpoint, e.g. "http://10.0.0.1:5050/api/v1/scheduler".
  std::string scheduler_url() const;

  friend bool operator==(const MasterEndpoint&, const MasterEndpoint&) = default;
};

// "host", "host:port", "[v6]:port", "http://host:port", "https://host/prefix".
Result<MasterEndpoint> parse_master(std::string_view text);

// Entries separated by commas, blanks around them ignored; at least one.
Result<std::vector<MasterEndpoint>> parse_master_list(std::string_view text);

// The leader named by a 307's Location. Mesos sends it protocol-relative
// ("//host:port/api/v1/scheduler"), which keeps the scheme of `current`. An absolute URL must
// have that same scheme: one that changes it (https to http would expose the credentials) is
// errc::protocol_error, with a message that says why. The path is not used: we always talk to
// <prefix>/api/v1/scheduler.
Result<MasterEndpoint> parse_redirect(std::string_view location, const MasterEndpoint& current);

}  // namespace heatblast::scheduler
