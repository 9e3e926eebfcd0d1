#include "logger.hpp"

#include <cmath>
#include <cstdio>
#include <ctime>

#include <fmt/format.h>

namespace heatblast::etl {
namespace {

// Length of the valid UTF-8 sequence at `s[i]`, or 0.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  std::size_t n = 0;
  std::uint32_t min = 0;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  std::uint32_t code = c & (0x7F >> n);
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    code = (code << 6) | (byte(i + k) & 0x3F);
  }
  if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return n;
}

std::string text_time(std::chrono::system_clock::time_point now) {
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm local{};
  ::localtime_r(&t, &local);
  char out[32];
  std::strftime(out, sizeof out, "%Y/%m/%d %H:%M:%S", &local);
  return out;
}

std::string json_time(std::chrono::system_clock::time_point now) {
  const auto since = now.time_since_epoch();
  const auto seconds = std::chrono::floor<std::chrono::seconds>(since);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since - seconds);
  const std::time_t t = static_cast<std::time_t>(seconds.count());
  std::tm utc{};
  ::gmtime_r(&t, &utc);
  char out[32];
  std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%S", &utc);
  return fmt::format("{}.{:03}Z", out, millis.count());
}

}  // namespace

std::string_view to_string(Level level) noexcept {
  switch (level) {
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warning:
      return "warning";
    case Level::error:
      return "error";
  }
  return "info";
}

std::string json_quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('"');
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) {
      const std::size_t n = utf8_length(text, i);
      if (n == 0) {
        out += "\xEF\xBF\xBD";  // U+FFFD
        ++i;
      } else {
        out.append(text.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (u < 0x20 || u == 0x7F) {
          out += fmt::format("\\u{:04x}", u);
        } else {
          out.push_back(c);
        }
    }
    ++i;
  }
  out.push_back('"');
  return out;
}

Logger::Logger(LoggerOptions options, Sink sink, Clock clock)
    : options_(options), sink_(std::move(sink)), clock_(std::move(clock)) {
  if (!sink_) {
    sink_ = [](std::string_view line) {
      std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
    };
  }
  if (!clock_) clock_ = [] { return std::chrono::system_clock::now(); };
}

void Logger::log(Level level, std::string_view message, std::initializer_list<Field> fields) {
  if (level == Level::debug && !options_.debug) return;
  const auto now = clock_();
  if (!options_.json) {
    // Go's log.Println layout; a level only where it is not plain information.
    std::string line = text_time(now);
    line.push_back(' ');
    if (level != Level::info) {
      line += to_string(level);
      line += ": ";
    }
    line += message;
    sink_(line);
    return;
  }
  std::string line = fmt::format("{{\"time\":\"{}\",\"level\":\"{}\",\"msg\":{}", json_time(now),
                                 to_string(level), json_quote(message));
  for (const Field& field : fields) {
    line += ',';
    line += json_quote(field.key);
    line += ':';
    std::visit(
        [&](const auto& value) {
          using T = std::decay_t<decltype(value)>;
          if constexpr (std::is_same_v<T, std::string_view>) {
            line += json_quote(value);
          } else if constexpr (std::is_same_v<T, bool>) {
            line += value ? "true" : "false";
          } else if constexpr (std::is_same_v<T, double>) {
            line += std::isfinite(value) ? fmt::format("{}", value) : "null";
          } else {
            line += fmt::format("{}", value);
          }
        },
        field.value);
  }
  line += '}';
  sink_(line);
}

}  // namespace heatblast::etl
