// The programs' flag parsers, the first byte choosing the program; the rest is the argument
// list, one argument per line: etl-scheduler, local-master (the flags, then what they resolve
// to), samza-scheduler, load-tester and load-worker.
#include "etl-scheduler/flags.hpp"
#include "fuzz_input.hpp"
#include "load-tester/flags.hpp"
#include "load-tester/worker.hpp"
#include "local-master/flags.hpp"
#include "samza-scheduler/flags.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace heatblast;
  fuzz::Input input(data, size);
  const std::uint8_t which = input.byte() % 5;
  const auto args = fuzz::split_args(input.rest());
  switch (which) {
    case 0:
      (void)etl::parse_flags(args, etl::FlagDefaults{"fuzz"});
      break;
    case 1: {
      auto flags = local_master::parse_flags(args);
      // Resolving reads the machine (host name, disk size) but starts nothing.
      if (flags && !flags->help && !flags->version) (void)local_master::options_from(*flags);
      break;
    }
    case 2:
      (void)samza::parse_flags(args, "fuzz");
      break;
    case 3:
      (void)load::parse_flags(args);
      break;
    case 4:
      (void)load::parse_worker_flags(args);
      break;
  }
  return 0;
}
