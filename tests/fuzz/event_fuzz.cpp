// Mesos Event bytes from the stream, in both content types (the first byte chooses): decoded
// into an Event; what decodes must encode, and decode again to the same message.
#include <cstdlib>

#include <mesos/v1/scheduler/scheduler.pb.h>

#include "fuzz_input.hpp"
#include "heatblast/codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  heatblast::fuzz::Input input(data, size);
  const auto type =
      input.byte() % 2 == 0 ? heatblast::ContentType::json : heatblast::ContentType::protobuf;
  const heatblast::MessageCodec codec(type);
  mesos::v1::scheduler::Event event;
  if (!codec.decode(input.rest(), event)) return 0;
  const std::string encoded = codec.encode(event);
  mesos::v1::scheduler::Event again;
  if (!codec.decode(encoded, again)) std::abort();  // what we wrote, we must read
  return 0;
}
