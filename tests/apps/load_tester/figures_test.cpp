#include "figures.hpp"

#include <random>

#include <catch2/catch.hpp>

namespace load = heatblast::load;

TEST_CASE("split_queries: tasks of N, the last gets the remainder") {
  using V = std::vector<std::uint64_t>;
  CHECK(load::split_queries(1000, 100) == V(10, 100));
  CHECK(load::split_queries(1000, 300) == V{300, 300, 300, 100});
  CHECK(load::split_queries(5, 10) == V{5});
  CHECK(load::split_queries(0, 10).empty());
  CHECK(load::split_queries(10, 0).empty());
}

TEST_CASE("histogram buckets are contiguous and at most 1/32 wide") {
  for (std::size_t i = 0; i + 1 < load::Histogram::kBuckets; ++i) {
    REQUIRE(load::Histogram::bucket_high(i) + 1 == load::Histogram::bucket_low(i + 1));
    REQUIRE(load::Histogram::bucket_of(load::Histogram::bucket_low(i)) == i);
    REQUIRE(load::Histogram::bucket_of(load::Histogram::bucket_high(i)) == i);
    if (i >= 64) {
      const auto width = load::Histogram::bucket_high(i) - load::Histogram::bucket_low(i) + 1;
      REQUIRE(width * 32 <= load::Histogram::bucket_low(i));
    }
  }
  CHECK(load::Histogram::bucket_of(~std::uint64_t{0}) == load::Histogram::kBuckets - 1);
}

TEST_CASE("histogram percentiles are within a bucket of the exact value") {
  load::Histogram h;
  for (std::uint64_t v = 1; v <= 10000; ++v)
    h.record(v);
  CHECK(h.count() == 10000);
  CHECK(h.max() == 10000);
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const double exact = q * 10000;
    const auto got = static_cast<double>(h.percentile(q));
    CHECK(got >= exact);
    CHECK(got <= exact * (1 + 1.0 / 32) + 1);
  }
  CHECK(h.percentile(1.0) == 10000);
  CHECK(load::Histogram().percentile(0.5) == 0);
}

TEST_CASE("merged figures: percentiles of the merged histogram, not an average") {
  // Task a: 900 fast queries; task b: 100 slow ones. The run's p50 is fast and its p99 slow;
  // averaging each task's p50 would give a p50 halfway between.
  load::Figures a;
  load::Figures b;
  for (int i = 0; i < 900; ++i)
    a.latency.record(100);
  for (int i = 0; i < 100; ++i)
    b.latency.record(50000);
  a.queries = 900;
  a.errors = 3;
  a.duration_us = 2'000'000;
  b.queries = 100;
  b.errors = 7;
  b.duration_us = 3'000'000;
  load::Figures run;
  run.merge(a);
  run.merge(b);
  CHECK(run.queries == 1000);
  CHECK(run.errors == 10);
  CHECK(run.duration_us == 3'000'000);
  CHECK(run.latency.count() == 1000);
  CHECK(run.latency.percentile(0.5) <= 103);
  CHECK(run.latency.percentile(0.5) >= 100);
  CHECK(run.latency.percentile(0.9) <= 103);
  CHECK(run.latency.percentile(0.99) >= 50000);
  CHECK(run.latency.max() == 50000);
}

TEST_CASE("figures survive encode and decode, bad input is refused") {
  load::Figures f;
  std::mt19937_64 random(7);
  for (int i = 0; i < 5000; ++i)
    f.latency.record(random() % 2'000'000);
  f.queries = 5000;
  f.errors = 12;
  f.duration_us = 123456;
  auto back = load::decode(load::encode(f));
  REQUIRE(back);
  CHECK(back->queries == 5000);
  CHECK(back->errors == 12);
  CHECK(back->duration_us == 123456);
  CHECK(back->latency.buckets() == f.latency.buckets());
  CHECK(back->latency.count() == 5000);
  CHECK(back->latency.percentile(0.99) == f.latency.percentile(0.99));

  CHECK_FALSE(load::decode(""));
  CHECK_FALSE(load::decode("queries x\n"));
  CHECK_FALSE(load::decode("queries 1\nerrors 2\n"));
  CHECK_FALSE(load::decode("queries 1\nbuckets 99999:1\n"));
  CHECK_FALSE(load::decode("queries 1\nbuckets 3\n"));
  CHECK_FALSE(load::decode("queries 1\nfoo 3\n"));
  CHECK_FALSE(load::decode("queries 99999999999999999999999\n"));
  CHECK(load::decode("queries 1\nbuckets \n"));
}
