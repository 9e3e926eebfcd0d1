// Decode and encode throughput of the wire layer on a generated Mesos event stream, each beside
// its baseline in the same run. Input: HEATBLAST_BENCH_DIR with events.{json,pb}.recordio.
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <google/protobuf/arena.h>
#include <google/protobuf/util/json_util.h>
#include <mesos/v1/scheduler/scheduler.pb.h>
#include <rapidjson/document.h>
#include <rapidjson/reader.h>

#include "heatblast/codec.hpp"
#include "heatblast/event_stream.hpp"
#include "heatblast/json.hpp"
#include "heatblast/recordio.hpp"

namespace {

using mesos::v1::scheduler::Event;

struct Stream {
  std::string bytes;                      // the framed stream as a master sent it
  std::vector<std::string_view> records;  // views into `bytes`
  std::size_t record_bytes = 0;
};

Stream load(const char* name) {
  const char* dir = std::getenv("HEATBLAST_BENCH_DIR");
  const std::string path = fmt::format("{}/{}", dir ? dir : ".", name);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s (set HEATBLAST_BENCH_DIR)\n", path.c_str());
    std::exit(2);
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  Stream s;
  s.bytes = ss.str();
  heatblast::RecordIODecoder decoder({.max_record_size = s.bytes.size()});
  auto r = decoder.feed(s.bytes, [&](std::string_view rec) {
    s.records.push_back(rec);
    s.record_bytes += rec.size();
    return true;
  });
  if (!r || !decoder.finish()) {
    std::fprintf(stderr, "%s is not a RecordIO stream\n", path.c_str());
    std::exit(2);
  }
  return s;
}

const Stream& json_stream() {
  static const Stream s = load("events.json.recordio");
  return s;
}
const Stream& pb_stream() {
  static const Stream s = load("events.pb.recordio");
  return s;
}

void report(benchmark::State& state, std::size_t bytes, std::size_t events) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * events));
  state.counters["events"] = static_cast<double>(events);
}

// --- RecordIO framing alone ------------------------------------------------------------------

void BM_Framing(benchmark::State& state, const Stream& (*stream)()) {
  const Stream& s = stream();
  constexpr std::size_t kChunk = 64 * 1024;  // what a socket read typically hands over
  for (auto _ : state) {
    heatblast::RecordIODecoder decoder;
    std::size_t n = 0;
    for (std::size_t at = 0; at < s.bytes.size(); at += kChunk) {
      auto r =
          decoder.feed(std::string_view(s.bytes).substr(at, kChunk), [&](std::string_view rec) {
            benchmark::DoNotOptimize(rec.data());
            ++n;
            return true;
          });
      if (!r) state.SkipWithError("framing failed");
    }
    benchmark::DoNotOptimize(n);
  }
  report(state, s.bytes.size(), s.records.size());
}
BENCHMARK_CAPTURE(BM_Framing, json_stream, &json_stream)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Framing, protobuf_stream, &pb_stream)->Unit(benchmark::kMillisecond);

// --- protobuf records -> Event ---------------------------------------------------------------

void BM_ProtobufDecode_Heatblast(benchmark::State& state) {
  const Stream& s = pb_stream();
  heatblast::MessageCodec codec(heatblast::ContentType::protobuf);
  Event event;
  for (auto _ : state) {
    for (auto rec : s.records) {
      if (!codec.decode(rec, event)) state.SkipWithError("decode failed");
      benchmark::DoNotOptimize(event.type());
    }
  }
  report(state, s.record_bytes, s.records.size());
}
BENCHMARK(BM_ProtobufDecode_Heatblast)->Unit(benchmark::kMillisecond);

void BM_ProtobufDecode_Baseline_ParseFromArray(benchmark::State& state) {
  const Stream& s = pb_stream();
  for (auto _ : state) {
    for (auto rec : s.records) {
      Event event;
      if (!event.ParseFromArray(rec.data(), static_cast<int>(rec.size()))) {
        state.SkipWithError("parse failed");
      }
      benchmark::DoNotOptimize(event.type());
    }
  }
  report(state, s.record_bytes, s.records.size());
}
BENCHMARK(BM_ProtobufDecode_Baseline_ParseFromArray)->Unit(benchmark::kMillisecond);

// The whole path a client runs: framing plus decoding, in 64 KiB chunks.
void BM_EventStream_Protobuf(benchmark::State& state) {
  const Stream& s = pb_stream();
  for (auto _ : state) {
    heatblast::EventStreamDecoder decoder(heatblast::ContentType::protobuf);
    for (std::size_t at = 0; at < s.bytes.size(); at += 64 * 1024) {
      auto r = decoder.feed(std::string_view(s.bytes).substr(at, 64 * 1024), [](const Event& e) {
        benchmark::DoNotOptimize(e.type());
        return true;
      });
      if (!r) state.SkipWithError("stream failed");
    }
  }
  report(state, s.bytes.size(), s.records.size());
}
BENCHMARK(BM_EventStream_Protobuf)->Unit(benchmark::kMillisecond);

// --- JSON records -> Event -------------------------------------------------------------------

void BM_JsonDecode_Heatblast(benchmark::State& state) {
  const Stream& s = json_stream();
  Event event;
  for (auto _ : state) {
    for (auto rec : s.records) {
      if (!heatblast::json::decode(rec, event)) state.SkipWithError("decode failed");
      benchmark::DoNotOptimize(event.type());
    }
  }
  report(state, s.record_bytes, s.records.size());
}
BENCHMARK(BM_JsonDecode_Heatblast)->Unit(benchmark::kMillisecond);

void BM_JsonDecode_Baseline_JsonStringToMessage(benchmark::State& state) {
  const Stream& s = json_stream();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  Event event;
  for (auto _ : state) {
    for (auto rec : s.records) {
      event.Clear();
      auto status = google::protobuf::util::JsonStringToMessage(
          google::protobuf::StringPiece(rec.data(), rec.size()), &event, options);
      if (!status.ok()) state.SkipWithError("JsonStringToMessage failed");
      benchmark::DoNotOptimize(event.type());
    }
  }
  report(state, s.record_bytes, s.records.size());
}
BENCHMARK(BM_JsonDecode_Baseline_JsonStringToMessage)->Unit(benchmark::kMillisecond);

// RapidJSON's own DOM parse: the ceiling a mapping onto protobuf can approach. The document's
// pool is emptied before each record: Document::Parse never frees it, so without the Clear() the
// pool grows by the whole stream every iteration and the figure measures page faults (it read
// ~50 MB/s that way, against ~490 MB/s with the Clear()).
void BM_JsonDecode_Baseline_RapidJsonDom(benchmark::State& state) {
  const Stream& s = json_stream();
  rapidjson::Document doc;
  for (auto _ : state) {
    for (auto rec : s.records) {
      doc.SetNull();
      doc.GetAllocator().Clear();
      doc.Parse(rec.data(), rec.size());
      if (doc.HasParseError()) state.SkipWithError("rapidjson parse failed");
      benchmark::DoNotOptimize(doc.IsObject());
    }
  }
  report(state, s.record_bytes, s.records.size());
}
BENCHMARK(BM_JsonDecode_Baseline_RapidJsonDom)->Unit(benchmark::kMillisecond);

// RapidJSON's SAX reader alone, the way json::decode drives it (a copy of the record parsed in
// place, numbers as text) with a handler that does nothing: the floor of any decoder built on it.
void BM_JsonDecode_Baseline_RapidJsonSaxNull(benchmark::State& state) {
  const Stream& s = json_stream();
  std::string copy;
  rapidjson::Reader reader;
  rapidjson::BaseReaderHandler<> handler;
  constexpr unsigned kFlags = rapidjson::kParseInsituFlag | rapidjson::kParseNumbersAsStringsFlag |
                              rapidjson::kParseNanAndInfFlag;
  for (auto _ : state) {
    for (auto rec : s.records) {
      copy.assign(rec);
      rapidjson::InsituStringStream stream(copy.data());
      if (!reader.Parse<kFlags>(stream, handler)) state.SkipWithError("rapidjson parse failed");
    }
  }
  report(state, s.record_bytes, s.records.size());
}
BENCHMARK(BM_JsonDecode_Baseline_RapidJsonSaxNull)->Unit(benchmark::kMillisecond);

// --- Event -> JSON ---------------------------------------------------------------------------

std::vector<Event> decoded_events() {
  const Stream& s = pb_stream();
  std::vector<Event> events(s.records.size());
  for (std::size_t i = 0; i < s.records.size(); ++i) {
    events[i].ParseFromArray(s.records[i].data(), static_cast<int>(s.records[i].size()));
  }
  return events;
}

void BM_JsonEncode_Heatblast(benchmark::State& state) {
  static const std::vector<Event> events = decoded_events();
  std::string out;
  std::size_t bytes = 0;
  for (auto _ : state) {
    bytes = 0;
    for (const auto& e : events) {
      out.clear();
      heatblast::json::encode(e, out);
      bytes += out.size();
    }
    benchmark::DoNotOptimize(out.data());
  }
  report(state, bytes, events.size());
}
BENCHMARK(BM_JsonEncode_Heatblast)->Unit(benchmark::kMillisecond);

void BM_JsonEncode_Baseline_MessageToJsonString(benchmark::State& state) {
  static const std::vector<Event> events = decoded_events();
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string out;
  std::size_t bytes = 0;
  for (auto _ : state) {
    bytes = 0;
    for (const auto& e : events) {
      out.clear();
      (void)google::protobuf::util::MessageToJsonString(e, &out, options);
      bytes += out.size();
    }
    benchmark::DoNotOptimize(out.data());
  }
  report(state, bytes, events.size());
}
BENCHMARK(BM_JsonEncode_Baseline_MessageToJsonString)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
