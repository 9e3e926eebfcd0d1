// The small text parsers, the first byte choosing which: Mesos resources text
// ("cpus:2;mem:1024;ports:[31000-32000]"), local-master's --attributes, a -listen address, the
// scheduler's comma-separated master list, and a URL query string. What parses as resources
// prints back to text that parses to the same resources.
#include <cstdlib>

#include "common/host_port.hpp"
#include "fuzz_input.hpp"
#include "heatblast/resources.hpp"
#include "heatblast/scheduler.hpp"
#include "local-master/attributes.hpp"
#include "local-master/mesos_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace heatblast;
  fuzz::Input input(data, size);
  const std::uint8_t which = input.byte() % 5;
  const std::string_view text = input.rest();
  switch (which) {
    case 0: {
      auto resources = parse_resources(text);
      if (resources) {
        auto again = parse_resources(to_string(*resources));
        if (!again || !(*again == *resources)) std::abort();
      }
      break;
    }
    case 1:
      (void)local_master::parse_attributes(text);
      break;
    case 2:
      (void)apps::parse_listen(text);
      break;
    case 3:
      (void)scheduler::parse_masters(text);
      break;
    case 4:
      (void)local_master::parse_query(text);
      break;
  }
  return 0;
}
