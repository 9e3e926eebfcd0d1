// A user's program built against the installed heatblast package.
#include <cstdio>
#include <string>

#include <mesos/v1/scheduler/scheduler.pb.h>
#include <heatblast/codec.hpp>
#include <heatblast/event_stream.hpp>
#include <heatblast/recordio.hpp>

int main() {
  mesos::v1::scheduler::Event heartbeat;
  heartbeat.set_type(mesos::v1::scheduler::Event::HEARTBEAT);

  std::string stream;
  heatblast::recordio_append(
      stream, heatblast::MessageCodec(heatblast::ContentType::json).encode(heartbeat));

  heatblast::EventStreamDecoder decoder(heatblast::ContentType::json);
  int heartbeats = 0;
  auto fed = decoder.feed(stream, [&](const mesos::v1::scheduler::Event& e) {
    heartbeats += e.type() == mesos::v1::scheduler::Event::HEARTBEAT;
    return true;
  });
  if (!fed || heartbeats != 1) {
    std::printf("consumer failed: %s\n", fed ? "no heartbeat" : fed.error().what().c_str());
    return 1;
  }
  std::printf("consumer ok: %s", stream.c_str());
  return 0;
}
