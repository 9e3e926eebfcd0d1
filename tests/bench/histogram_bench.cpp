// What load-worker adds to each query to measure it: Histogram::record (the target: under
// 50 ns), and record with the two steady_clock reads around a query. Latencies are drawn from
// a spread like a real run's (tens of microseconds to seconds) so that every bucket path runs.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <random>
#include <vector>

#include "figures.hpp"

namespace {

std::vector<std::uint64_t> latencies() {
  std::mt19937_64 random(42);
  // Log-normal around 500 us: most values in the hundreds of microseconds, a tail to seconds.
  std::lognormal_distribution<double> spread(6.2, 1.5);
  std::vector<std::uint64_t> values(1 << 16);
  for (auto& v : values)
    v = static_cast<std::uint64_t>(spread(random));
  return values;
}

void BM_HistogramRecord(benchmark::State& state) {
  const auto values = latencies();
  heatblast::load::Histogram histogram;
  std::size_t i = 0;
  for (auto _ : state) {
    histogram.record(values[i++ & (values.size() - 1)]);
  }
  benchmark::DoNotOptimize(histogram.count());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramRecord);

// The whole measurement of one query as load-worker makes it: a clock read before and after,
// the microseconds between them recorded, the query counted.
void BM_MeasureQuery(benchmark::State& state) {
  using Clock = std::chrono::steady_clock;
  heatblast::load::Figures figures;
  for (auto _ : state) {
    const auto before = Clock::now();
    const auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - before).count();
    figures.latency.record(static_cast<std::uint64_t>(micros));
    ++figures.queries;
  }
  benchmark::DoNotOptimize(figures.queries);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MeasureQuery);

}  // namespace

BENCHMARK_MAIN();
