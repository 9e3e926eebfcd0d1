// RecordIO decoder fed in random chunkings: the first bytes choose the chunk sizes, the rest
// is the stream. Whatever the chunking, the records (or the error) must be the same as when
// the stream is fed whole.
#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz_input.hpp"
#include "heatblast/recordio.hpp"

namespace {

struct Outcome {
  std::vector<std::string> records;
  bool failed = false;
};

Outcome decode(std::string_view stream, const std::vector<std::size_t>& chunks,
               std::size_t max_record) {
  heatblast::RecordIODecoder decoder({.max_record_size = max_record});
  Outcome out;
  std::size_t at = 0;
  std::size_t next = 0;
  while (at < stream.size()) {
    std::size_t n = chunks.empty() ? stream.size() : chunks[next++ % chunks.size()];
    if (n > stream.size() - at) n = stream.size() - at;
    auto fed = decoder.feed(stream.substr(at, n), [&](std::string_view record) {
      out.records.emplace_back(record);
      return true;
    });
    if (!fed) {
      out.failed = true;
      return out;
    }
    at += n;
  }
  if (!decoder.finish()) out.failed = true;
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  heatblast::fuzz::Input input(data, size);
  const std::size_t max_record = 1 + input.byte() * 4;  // small: the size limit is reached too
  std::vector<std::size_t> chunks;
  for (std::size_t count = input.byte() % 8; count > 0; --count)
    chunks.push_back(1 + input.byte() % 16);
  const std::string_view stream = input.rest();
  const Outcome whole = decode(stream, {}, max_record);
  const Outcome chunked = decode(stream, chunks, max_record);
  if (whole.failed != chunked.failed || whole.records != chunked.records) std::abort();
  return 0;
}
