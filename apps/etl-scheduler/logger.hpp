// etl-scheduler's one logger: text lines the way Go's `log` package writes them
// ("2016/11/14 21:51:17 Subscribed: FrameworkID: ..."), or with -json one JSON object per line
// ({"time":"2016-11-14T21:51:17.302Z","level":"info","msg":"...", plus the line's fields}).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace heatblast::etl {

enum class Level { debug, info, warning, error };

std::string_view to_string(Level level) noexcept;

// One key/value of a log line; in text mode only the message is written (it says the same).
struct Field {
  std::string_view key;
  std::variant<std::string_view, std::int64_t, double, bool> value;
};

struct LoggerOptions {
  bool json = false;
  bool debug = false;  // write Level::debug lines
};

// Not thread-safe: used on the program's executor only (and by main before it runs).
class Logger {
 public:
  // Receives each line, without the newline.
  using Sink = std::function<void(std::string_view line)>;
  using Clock = std::function<std::chrono::system_clock::time_point()>;

  // Empty `sink`: standard error (where Go's log writes). Empty `clock`: the system clock.
  explicit Logger(LoggerOptions options, Sink sink = {}, Clock clock = {});

  void log(Level level, std::string_view message, std::initializer_list<Field> fields = {});
  void debug(std::string_view message, std::initializer_list<Field> fields = {}) {
    log(Level::debug, message, fields);
  }
  void info(std::string_view message, std::initializer_list<Field> fields = {}) {
    log(Level::info, message, fields);
  }
  void warning(std::string_view message, std::initializer_list<Field> fields = {}) {
    log(Level::warning, message, fields);
  }
  void error(std::string_view message, std::initializer_list<Field> fields = {}) {
    log(Level::error, message, fields);
  }

  bool debug_enabled() const noexcept { return options_.debug; }

 private:
  LoggerOptions options_;
  Sink sink_;
  Clock clock_;
};

// `text` as a JSON string literal, quotes included (control characters escaped; bytes that are
// not valid UTF-8 are written as U+FFFD so that every line stays valid JSON).
std::string json_quote(std::string_view text);

}  // namespace heatblast::etl
