// Loopback TCP ports for tests: one that is free now, and whether something listens on one.
#pragma once

#include <cstdint>

namespace heatblast::testing {

// A loopback port that was free a moment ago (bound to port 0, read back, released). Another
// process may take it before the test binds it: use it only where an ephemeral port (0) cannot
// be asked for, such as a program restarted on the same address.
std::uint16_t free_port();

// Whether a connection to 127.0.0.1:`port` is accepted now.
bool port_accepts(std::uint16_t port);

}  // namespace heatblast::testing
