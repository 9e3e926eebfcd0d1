// Facts about the machine a program runs on, as the programs report them.
#pragma once

#include <optional>
#include <string>

namespace heatblast::apps {

// The machine's host name (gethostname), or nullopt when it has none or cannot be read; each
// program picks its own fallback.
std::optional<std::string> machine_hostname();

}  // namespace heatblast::apps
