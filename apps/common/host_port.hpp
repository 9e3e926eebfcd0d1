// The "ADDRESS:PORT" text that every program's listen flag takes, parsed once for all of them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "heatblast/error.hpp"

namespace heatblast::apps {

// An IP literal (or host name) and a port, ready for a server's bind.
struct ListenAddress {
  std::string address;
  std::uint16_t port = 0;
};

// "ADDR:PORT", ":PORT" or "[IPv6]:PORT". An empty address means every IPv4 address
// ("0.0.0.0", as Go's ":8080" does); "localhost" becomes "127.0.0.1" (a server binds an IP);
// the brackets of an IPv6 literal are dropped. The port is a decimal number from 0 to 65535.
// Errors: errc::invalid_argument, "'TEXT' is not ADDR:PORT: <why>".
Result<ListenAddress> parse_listen(std::string_view text);

// Whether a server bound to `address` (an IP literal from parse_listen) is reachable only
// from this machine: 127.0.0.0/8 or ::1. "0.0.0.0", "::" and every other address are not.
bool is_loopback(std::string_view address);

}  // namespace heatblast::apps
