#include "machine.hpp"

#include <unistd.h>

namespace heatblast::apps {

std::optional<std::string> machine_hostname() {
  char name[256] = {};  // POSIX caps host names at 255 bytes; the last stays the terminator
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return std::nullopt;
  return std::string(name);
}

}  // namespace heatblast::apps
