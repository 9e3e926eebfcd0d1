#include "logger.hpp"

#include <chrono>
#include <cstdio>

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace heatblast::samza {

Logger::Logger(bool debug, Sink sink) : debug_(debug), sink_(std::move(sink)) {}

void Logger::log(Level level, std::string_view message) {
  if (level == Level::debug && !debug_) return;
  static constexpr std::string_view kNames[] = {"DEBUG", "INFO", "WARNING", "ERROR"};
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  const std::string line =
      fmt::format("{:%Y-%m-%dT%H:%M:%S}Z {} {}", now, kNames[static_cast<int>(level)], message);
  if (sink_) {
    sink_(line);
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
}

}  // namespace heatblast::samza
