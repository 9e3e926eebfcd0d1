#include <algorithm>

#include <fmt/format.h>

#include "load_tester.hpp"

namespace heatblast::load {
namespace {

std::string ms(std::uint64_t micros) {
  return fmt::format("{:.3f}", static_cast<double>(micros) / 1000);
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\')
      out += fmt::format("\\{}", c);
    else if (static_cast<unsigned char>(c) < 0x20)
      out += fmt::format("\\u{:04x}", c);
    else
      out.push_back(c);
  }
  return out + "\"";
}

// Up to 20 rows between the smallest and the largest latency, each a range of buckets.
std::string ascii_histogram(const Histogram& h) {
  std::size_t first = Histogram::kBuckets;
  std::size_t last = 0;
  for (std::size_t i = 0; i < Histogram::kBuckets; ++i) {
    if (h.buckets()[i] == 0) continue;
    first = std::min(first, i);
    last = i;
  }
  if (first == Histogram::kBuckets) return {};
  const std::size_t per_row = (last - first) / 20 + 1;
  std::vector<std::pair<std::size_t, std::uint64_t>> rows;
  std::uint64_t most = 1;
  for (std::size_t i = first; i <= last; i += per_row) {
    std::uint64_t n = 0;
    for (std::size_t j = i; j < std::min(i + per_row, last + 1); ++j)
      n += h.buckets()[j];
    rows.emplace_back(i, n);
    most = std::max(most, n);
  }
  std::string out = "latency histogram (ms):\n";
  for (const auto& [index, n] : rows) {
    const auto high = Histogram::bucket_high(std::min(index + per_row - 1, last));
    out += fmt::format("  <= {:>10}  {:>8}  {}\n", ms(high), n,
                       std::string(static_cast<std::size_t>(n * 50 / most), '#'));
  }
  return out;
}

}  // namespace

std::string format_report(ReportFormat format, const Figures& t,
                          const std::map<std::string, TaskResult>& tasks, double seconds,
                          std::size_t failed_tasks, std::uint64_t requeued_queries,
                          std::uint64_t in_doubt_queries) {
  const double throughput = seconds > 0 ? static_cast<double>(t.queries) / seconds : 0;
  const auto& h = t.latency;
  if (format == ReportFormat::json) {
    std::string out = fmt::format(
        "{{\"queries\":{},\"errors\":{},\"seconds\":{:.3f},\"throughput\":{:.1f},"
        "\"latency_ms\":{{\"p50\":{},\"p90\":{},\"p99\":{},\"p99.9\":{},\"max\":{}}},"
        "\"failed_tasks\":{},\"requeued_queries\":{},\"in_doubt_queries\":{},\"tasks\":[",
        t.queries, t.errors, seconds, throughput, ms(h.percentile(0.5)), ms(h.percentile(0.9)),
        ms(h.percentile(0.99)), ms(h.percentile(0.999)), ms(h.max()), failed_tasks,
        requeued_queries, in_doubt_queries);
    bool first = true;
    for (const auto& [name, task] : tasks) {
      out += fmt::format(
          "{}{{\"name\":{},\"id\":{},\"agent\":{},\"state\":{},\"queries\":{},\"errors\":{},"
          "\"granted\":{},\"in_doubt\":{},\"seconds\":{:.3f}}}",
          first ? "" : ",", json_string(name), json_string(task.task_id), json_string(task.agent),
          json_string(task.outcome ? mesos::v1::TaskState_Name(*task.outcome) : ""),
          task.figures.queries, task.figures.errors, task.granted, task.in_doubt,
          static_cast<double>(task.figures.duration_us) / 1e6);
      first = false;
    }
    return out + "]}\n";
  }
  std::string out = fmt::format(
      "queries: {} sent, {} failed\nthroughput: {:.1f} queries/s over {:.2f} s\n"
      "latency (ms): p50 {}  p90 {}  p99 {}  p99.9 {}  max {}\n",
      t.queries, t.errors, throughput, seconds, ms(h.percentile(0.5)), ms(h.percentile(0.9)),
      ms(h.percentile(0.99)), ms(h.percentile(0.999)), ms(h.max()));
  if (failed_tasks > 0 || in_doubt_queries > 0) {
    out += fmt::format(
        "tasks failed or lost: {}; queries re-queued: {}; in doubt: {} (granted to a lost worker "
        "and not reported: sent at most once, perhaps not at all)\n",
        failed_tasks, requeued_queries, in_doubt_queries);
  }
  out += fmt::format("{:<10} {:<44} {:<16} {:<14} {:>8} {:>7} {:>8}\n", "task", "id", "agent",
                     "state", "queries", "errors", "seconds");
  for (const auto& [name, task] : tasks) {
    out += fmt::format("{:<10} {:<44} {:<16} {:<14} {:>8} {:>7} {:>8.2f}\n", name, task.task_id,
                       task.agent, task.outcome ? mesos::v1::TaskState_Name(*task.outcome) : "-",
                       task.figures.queries, task.figures.errors,
                       static_cast<double>(task.figures.duration_us) / 1e6);
  }
  return out + ascii_histogram(h);
}

}  // namespace heatblast::load
