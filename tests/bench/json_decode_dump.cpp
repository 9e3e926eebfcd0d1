// Prints what json::decode makes of each input, one line per input: the error, or a digest of
// the decoded message's deterministic serialization. Run by two builds (before and after a
// change to the decoder) over the same inputs, the outputs must be identical:
//   json_decode_dump FILE...  (a file in a fuzz corpus: its first byte is the selector)
//   json_decode_dump --recordio FILE...  (a framed event stream: every record)
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <mesos/v1/scheduler/scheduler.pb.h>

#include "heatblast/json.hpp"
#include "heatblast/recordio.hpp"

namespace {

// FNV-1a over the bytes: enough to tell two messages apart in a diff.
std::uint64_t digest(std::string_view bytes) {
  std::uint64_t h = 0xcbf29ce484222325u;
  for (char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3u;
  }
  return h;
}

std::string serialize(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  m.SerializeToCodedStream(&coded);
  coded.Trim();
  return out;
}

template <class M>
void dump(std::string_view text, const char* label) {
  M message;
  auto r = heatblast::json::decode(text, message);
  if (!r) {
    std::printf("  %s error %d %s\n", label, r.error().code.value(), r.error().message.c_str());
  } else {
    const std::string bytes = serialize(message);
    std::printf("  %s ok %zu %016llx\n", label, bytes.size(),
                static_cast<unsigned long long>(digest(bytes)));
  }
}

void dump_both(std::string_view text) {
  dump<mesos::v1::scheduler::Event>(text, "event");
  dump<mesos::v1::scheduler::Call>(text, "call");
}

}  // namespace

int main(int argc, char** argv) {
  bool recordio = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--recordio") == 0) {
      recordio = true;
      continue;
    }
    std::ifstream in(argv[i], std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::printf("%s\n", argv[i]);
    if (!recordio) {
      // Both the whole file and the file without the fuzz selector byte.
      dump_both(bytes);
      if (!bytes.empty()) dump_both(std::string_view(bytes).substr(1));
      continue;
    }
    heatblast::RecordIODecoder decoder({.max_record_size = bytes.size()});
    auto r = decoder.feed(bytes, [](std::string_view record) {
      dump<mesos::v1::scheduler::Event>(record, "event");
      return true;
    });
    if (!r) std::printf("  not a RecordIO stream\n");
  }
  return 0;
}
