#include "events_tool.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>
#include <mesos/v1/scheduler/scheduler.pb.h>

#include "heatblast/event_stream.hpp"
#include "heatblast/json.hpp"
#include "heatblast/recordio.hpp"

namespace heatblast::apps {
namespace {

using mesos::v1::scheduler::Event;

constexpr std::size_t kChunk = 1 << 20;
constexpr std::size_t kFlushAt = 1 << 20;

std::optional<ContentType> content_type_flag(std::string_view v) {
  if (v == "json") return ContentType::json;
  if (v == "protobuf" || v == "pb") return ContentType::protobuf;
  return std::nullopt;
}

// A Mesos event in JSON starts with '{'; in protobuf it starts with a field tag, and '{' (0x7b)
// would be field 15 with the deprecated group wire type, which Event never uses.
ContentType detect(std::string_view first_record) {
  for (char c : first_record) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    return c == '{' ? ContentType::json : ContentType::protobuf;
  }
  return ContentType::protobuf;
}

// Length of the well-formed UTF-8 sequence (RFC 3629) at the start of `s`, 0 if there is none.
std::size_t utf8_sequence(std::string_view s) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const auto cont = [&](std::size_t i, unsigned lo = 0x80, unsigned hi = 0xBF) {
    return i < s.size() && byte(i) >= lo && byte(i) <= hi;
  };
  const unsigned lead = byte(0);
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return cont(1) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    const unsigned lo = lead == 0xE0 ? 0xA0 : 0x80;  // no overlong forms
    const unsigned hi = lead == 0xED ? 0x9F : 0xBF;  // no surrogates
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    const unsigned lo = lead == 0xF0 ? 0x90 : 0x80;
    const unsigned hi = lead == 0xF4 ? 0x8F : 0xBF;  // nothing above U+10FFFF
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

// Bytes of `s` that are not part of well-formed UTF-8.
std::uint64_t count_invalid_utf8(std::string_view s) {
  std::uint64_t bad = 0;
  for (std::size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    if (const auto n = utf8_sequence(s.substr(i))) {
      i += n;
    } else {
      ++bad;
      ++i;
    }
  }
  return bad;
}

// Replaces each byte of `text` from `from` on that is not part of well-formed UTF-8 with
// U+FFFD, and returns how many were replaced. Mesos (and the library) pass string bytes through
// as they came; a JSON text must be UTF-8 (RFC 8259), or jq and Python reject the line.
std::uint64_t replace_invalid_utf8(std::string& text, std::size_t from) {
  std::size_t i = from;
  while (i < text.size()) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {  // fast path: most of it is ASCII
      ++i;
      continue;
    }
    const auto n = utf8_sequence(std::string_view(text).substr(i));
    if (n == 0) break;
    i += n;
  }
  if (i == text.size()) return 0;  // the usual case: nothing copied
  std::string fixed(text, 0, i);
  std::uint64_t bad = 0;
  while (i < text.size()) {
    if (const auto n = utf8_sequence(std::string_view(text).substr(i))) {
      fixed.append(text, i, n);
      i += n;
    } else {
      fixed += "\xEF\xBF\xBD";
      ++bad;
      ++i;
    }
  }
  text = std::move(fixed);
  return bad;
}

// The same count for --summary, which writes no JSON: the bytes of every string field (not
// bytes fields, which JSON carries as base64) that are not well-formed UTF-8. Only string and
// message fields are visited, from a list kept per message type (a summary is the fast mode;
// Reflection::ListFields would sort every message's fields).
class InvalidUtf8Counter {
 public:
  std::uint64_t count(const google::protobuf::Message& message) {
    namespace pb = google::protobuf;
    const pb::Reflection* reflection = message.GetReflection();
    std::uint64_t bad = 0;
    for (const pb::FieldDescriptor* field : fields_of(message.GetDescriptor())) {
      const bool is_string = field->type() == pb::FieldDescriptor::TYPE_STRING;
      if (field->is_repeated()) {
        const int n = reflection->FieldSize(message, field);
        for (int i = 0; i < n; ++i) {
          bad += is_string ? count_invalid_utf8(reflection->GetRepeatedStringReference(
                                 message, field, i, &scratch_))
                           : count(reflection->GetRepeatedMessage(message, field, i));
        }
      } else if (reflection->HasField(message, field)) {
        bad += is_string
                   ? count_invalid_utf8(reflection->GetStringReference(message, field, &scratch_))
                   : count(reflection->GetMessage(message, field));
      }
    }
    return bad;
  }

 private:
  const std::vector<const google::protobuf::FieldDescriptor*>& fields_of(
      const google::protobuf::Descriptor* type) {
    namespace pb = google::protobuf;
    auto [it, added] = plans_.try_emplace(type);
    if (added) {
      for (int i = 0; i < type->field_count(); ++i) {
        const pb::FieldDescriptor* field = type->field(i);
        if (field->type() == pb::FieldDescriptor::TYPE_STRING ||
            field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE)
          it->second.push_back(field);
      }
    }
    return it->second;
  }

  std::unordered_map<const google::protobuf::Descriptor*,
                     std::vector<const google::protobuf::FieldDescriptor*>>
      plans_;
  std::string scratch_;
};

struct Summary {
  std::uint64_t events = 0;
  std::uint64_t invalid_utf8 = 0;
  InvalidUtf8Counter utf8_counter;
  std::map<std::string, std::uint64_t> by_type;
  std::uint64_t offers = 0;
  std::uint64_t offer_resources = 0;
  std::uint64_t inverse_offers = 0;
  std::uint64_t updates = 0;
  std::map<std::string, std::uint64_t> updates_by_state;
  std::uint64_t updates_with_uuid = 0;
  std::uint64_t rescinds = 0;
  std::uint64_t errors = 0;

  void add(const Event& event) {
    ++events;
    invalid_utf8 += utf8_counter.count(event);
    ++by_type[Event::Type_Name(event.type()).empty() ? fmt::format("{}", int(event.type()))
                                                     : Event::Type_Name(event.type())];
    switch (event.type()) {
      case Event::OFFERS:
        offers += static_cast<std::uint64_t>(event.offers().offers_size());
        for (const auto& offer : event.offers().offers()) {
          offer_resources += static_cast<std::uint64_t>(offer.resources_size());
        }
        break;
      case Event::INVERSE_OFFERS:
        inverse_offers += static_cast<std::uint64_t>(event.inverse_offers().inverse_offers_size());
        break;
      case Event::UPDATE:
        ++updates;
        ++updates_by_state[mesos::v1::TaskState_Name(event.update().status().state())];
        if (event.update().status().has_uuid()) ++updates_with_uuid;
        break;
      case Event::RESCIND:
        ++rescinds;
        break;
      case Event::ERROR:
        ++errors;
        break;
      default:
        break;
    }
  }

  std::string render(ContentType format, std::uint64_t bytes) const {
    std::string out;
    auto line = [&](std::string_view name, auto value) {
      fmt::format_to(std::back_inserter(out), "{:<22}{}\n", name, value);
    };
    line("format", to_string(format));
    line("bytes", bytes);
    line("events", events);
    for (const auto& [type, n] : by_type)
      line(fmt::format("  {}", type), n);
    line("offers", offers);
    line("offer resources", offer_resources);
    if (inverse_offers) line("inverse offers", inverse_offers);
    line("updates", updates);
    for (const auto& [state, n] : updates_by_state)
      line(fmt::format("  {}", state), n);
    line("updates with uuid", updates_with_uuid);
    line("rescinds", rescinds);
    if (errors) line("errors", errors);
    line("invalid utf-8 bytes", invalid_utf8);
    return out;
  }
};

class Output {
 public:
  explicit Output(std::FILE* f) : f_(f) { buf_.reserve(kFlushAt + 4096); }
  std::string& buffer() { return buf_; }
  bool maybe_flush() { return buf_.size() >= kFlushAt ? flush() : true; }
  bool flush() {
    if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size()) return false;
    buf_.clear();
    return std::fflush(f_) == 0;
  }

 private:
  std::FILE* f_;
  std::string buf_;
};

}  // namespace

std::string events_tool_usage() {
  return "usage: mesos-events [options] [FILE]\n"
         "Reads a Mesos v1 scheduler event stream (RecordIO, as a SUBSCRIBE response body)\n"
         "from FILE or standard input and prints one JSON line per event.\n"
         "\n"
         "Strings in events are meant to be UTF-8 but a master passes any bytes through. In\n"
         "the JSON output (lines, and --to json) each byte that is not part of valid UTF-8 is\n"
         "replaced by U+FFFD, so that every line is valid JSON; --summary counts these bytes\n"
         "('invalid utf-8 bytes') and a note on standard error gives the total. --to protobuf\n"
         "keeps the bytes as they are.\n"
         "\n"
         "  --format json|protobuf   content type of the records (default: detect)\n"
         "  --summary                print counts per event type, offers and updates instead\n"
         "  --to json|protobuf       re-encode the stream as RecordIO in that content type\n"
         "  --max-record-size BYTES  reject records longer than this (default 67108864)\n"
         "  -h, --help               show this help\n"
         "\n"
         "Exit status: 0 when the whole stream decoded, 1 on bad input (the message names the\n"
         "byte offset), 2 on a usage error.\n";
}

Result<EventsToolOptions> parse_events_tool_args(const std::vector<std::string>& args, bool& help) {
  EventsToolOptions options;
  bool have_input = false;
  help = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    std::string_view value;
    bool inline_value = false;
    if (arg.starts_with("--") && arg.find('=') != std::string_view::npos) {
      value = arg.substr(arg.find('=') + 1);
      arg = arg.substr(0, arg.find('='));
      inline_value = true;
    }
    auto take_value = [&]() -> Result<std::string_view> {
      if (inline_value) return value;
      if (i + 1 >= args.size()) {
        return fail(errc::invalid_argument, fmt::format("option '{}' needs a value", arg));
      }
      return std::string_view(args[++i]);
    };
    if (arg == "-h" || arg == "--help") {
      help = true;
      return options;
    } else if (arg == "--summary") {
      options.summary = true;
    } else if (arg == "--format" || arg == "--to") {
      auto v = take_value();
      if (!v) return tl::unexpected(v.error());
      auto type = content_type_flag(*v);
      if (!type) {
        return fail(errc::invalid_argument,
                    fmt::format("option '{}': '{}' is not one of json, protobuf", arg, *v));
      }
      (arg == "--format" ? options.format : options.reencode_to) = type;
    } else if (arg == "--max-record-size") {
      auto v = take_value();
      if (!v) return tl::unexpected(v.error());
      std::size_t n = 0;
      auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
      if (ec != std::errc() || end != v->data() + v->size() || n == 0) {
        return fail(errc::invalid_argument,
                    fmt::format("option '--max-record-size': '{}' is not a positive number", *v));
      }
      options.max_record_size = n;
    } else if (arg.starts_with("-") && arg != "-") {
      return fail(errc::invalid_argument, fmt::format("unknown option '{}'", arg));
    } else {
      if (have_input) return fail(errc::invalid_argument, "more than one input file given");
      options.input = std::string(arg);
      have_input = true;
    }
  }
  if (options.summary && options.reencode_to) {
    return fail(errc::invalid_argument, "'--summary' and '--to' cannot be used together");
  }
  return options;
}

int run_events_tool(const EventsToolOptions& options, std::FILE* out, std::FILE* err) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> owned(nullptr, &std::fclose);
  std::FILE* in = stdin;
  if (options.input != "-") {
    owned.reset(std::fopen(options.input.c_str(), "rb"));
    if (!owned) {
      std::fprintf(err, "mesos-events: cannot open '%s': %s\n", options.input.c_str(),
                   std::strerror(errno));
      return 1;
    }
    in = owned.get();
  }

  const RecordIODecoder::Options framing{.max_record_size = options.max_record_size};
  std::optional<EventStreamDecoder> decoder;
  if (options.format) decoder.emplace(*options.format, framing);
  // Until the content type is known, bytes are kept here and scanned for the first record.
  std::string prefix;
  RecordIODecoder probe(framing);

  Summary summary;
  Output output(out);
  std::optional<MessageCodec> reencoder;
  if (options.reencode_to) reencoder.emplace(*options.reencode_to);
  std::string record;
  bool write_failed = false;
  std::uint64_t replaced = 0;  // invalid UTF-8 bytes replaced in JSON output

  auto on_event = [&](const Event& event) {
    if (options.summary) {
      summary.add(event);
    } else if (reencoder) {
      record.clear();
      reencoder->encode(event, record);
      if (*options.reencode_to == ContentType::json) replaced += replace_invalid_utf8(record, 0);
      recordio_append(output.buffer(), record);
    } else {
      const std::size_t start = output.buffer().size();
      json::encode(event, output.buffer());
      replaced += replace_invalid_utf8(output.buffer(), start);
      output.buffer().push_back('\n');
    }
    write_failed = !output.maybe_flush();
    return !write_failed;
  };

  auto report = [&](const Error& e) {
    output.flush();
    std::fprintf(err, "mesos-events: %s\n", e.what().c_str());
    return 1;
  };

  std::string chunk(kChunk, '\0');
  while (true) {
    const std::size_t n = std::fread(chunk.data(), 1, chunk.size(), in);
    if (n == 0) {
      if (std::ferror(in)) return report(Error(errc::io_error, "read error on the input"));
      break;
    }
    std::string_view bytes(chunk.data(), n);
    if (!decoder) {
      prefix.append(bytes);
      std::optional<ContentType> found;
      auto probed = probe.feed(bytes, [&](std::string_view first) {
        found = detect(first);
        return false;
      });
      if (!probed) return report(probed.error());
      if (!found) continue;
      decoder.emplace(*found, framing);
      bytes = prefix;
    }
    auto fed = decoder->feed(bytes, on_event);
    if (!fed) return report(fed.error());
    if (write_failed) return report(Error(errc::io_error, "write error on the output"));
    prefix.clear();
  }
  if (!decoder) {
    // No complete record at all: an empty input is a valid empty stream; anything else is cut.
    if (auto done = probe.finish(); !done) return report(done.error());
    decoder.emplace(options.format.value_or(ContentType::json), framing);
  } else if (auto done = decoder->finish(); !done) {
    return report(done.error());
  }

  if (options.summary) {
    output.buffer() += summary.render(decoder->content_type(), decoder->offset());
  }
  if (!output.flush()) return report(Error(errc::io_error, "write error on the output"));
  if (replaced > 0) {
    std::fprintf(err, "mesos-events: %llu byte(s) of invalid UTF-8 in strings replaced by U+FFFD\n",
                 static_cast<unsigned long long>(replaced));
  }
  return 0;
}

}  // namespace heatblast::apps
