// samza-scheduler's logger: one line per event, "2026-01-02T03:04:05Z INFO message", to a sink
// (standard error by default). Used on the program's executor only.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace heatblast::samza {

enum class Level { debug, info, warning, error };

class Logger {
 public:
  using Sink = std::function<void(std::string_view line)>;
  // Empty `sink`: standard error. Debug lines only with `debug`.
  explicit Logger(bool debug = false, Sink sink = {});

  void log(Level level, std::string_view message);
  void debug(std::string_view message) { log(Level::debug, message); }
  void info(std::string_view message) { log(Level::info, message); }
  void warning(std::string_view message) { log(Level::warning, message); }
  void error(std::string_view message) { log(Level::error, message); }

 private:
  bool debug_;
  Sink sink_;
};

}  // namespace heatblast::samza
