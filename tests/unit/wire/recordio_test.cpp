#include "heatblast/recordio.hpp"

#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

using heatblast::errc;
using heatblast::RecordIODecoder;

namespace {

std::string frame(const std::vector<std::string>& records) {
  std::string out;
  for (const auto& r : records)
    heatblast::recordio_append(out, r);
  return out;
}

// Feeds `stream` in pieces cut at `cuts` (sorted offsets) and collects the records.
std::vector<std::string> decode_in_pieces(const std::string& stream,
                                          const std::vector<std::size_t>& cuts,
                                          RecordIODecoder& decoder) {
  std::vector<std::string> got;
  std::size_t start = 0;
  auto feed = [&](std::size_t end) {
    auto r = decoder.feed(std::string_view(stream).substr(start, end - start),
                          [&](std::string_view rec) {
                            got.emplace_back(rec);
                            return true;
                          });
    REQUIRE(r.has_value());
    start = end;
  };
  for (auto cut : cuts)
    feed(cut);
  feed(stream.size());
  REQUIRE(decoder.finish().has_value());
  return got;
}

std::vector<std::string> sample_records() {
  std::string binary("\0\n7\r\n\xff", 6);
  return {"{\"type\":\"HEARTBEAT\"}",
          "",
          "x",
          std::string(300, 'a'),
          "caf\xc3\xa9 na\xc3\xafve",  // lengths count bytes, not characters
          binary,
          "12\n34"};
}

}  // namespace

TEST_CASE("recordio: encoder writes length, newline, bytes and nothing else", "[recordio]") {
  std::string out;
  heatblast::recordio_append(out, "hello");
  heatblast::recordio_append(out, "caf\xc3\xa9");
  CHECK(out == "5\nhello5\ncaf\xc3\xa9");
}

TEST_CASE("recordio: every split point of a stream gives the same records", "[recordio]") {
  const auto records = sample_records();
  const std::string stream = frame(records);
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    CAPTURE(cut);
    RecordIODecoder decoder;
    CHECK(decode_in_pieces(stream, {cut}, decoder) == records);
    CHECK(decoder.offset() == stream.size());
  }
}

TEST_CASE("recordio: every pair of split points gives the same records", "[recordio]") {
  const std::vector<std::string> records = {"abc", "", "0123456789", "z"};
  const std::string stream = frame(records);
  for (std::size_t a = 0; a <= stream.size(); ++a) {
    for (std::size_t b = a; b <= stream.size(); ++b) {
      CAPTURE(a, b);
      RecordIODecoder decoder;
      CHECK(decode_in_pieces(stream, {a, b}, decoder) == records);
    }
  }
}

TEST_CASE("recordio: byte-at-a-time and random chunkings", "[recordio]") {
  std::mt19937 rng(20261121);
  std::vector<std::string> records;
  for (int i = 0; i < 200; ++i) {
    std::string r(std::uniform_int_distribution<int>(0, 700)(rng), '\0');
    for (auto& c : r)
      c = static_cast<char>(rng());
    records.push_back(std::move(r));
  }
  const std::string stream = frame(records);

  std::vector<std::size_t> every_byte;
  for (std::size_t i = 1; i < stream.size(); ++i)
    every_byte.push_back(i);
  RecordIODecoder one_by_one;
  CHECK(decode_in_pieces(stream, every_byte, one_by_one) == records);

  for (int round = 0; round < 50; ++round) {
    std::vector<std::size_t> cuts;
    std::size_t at = 0;
    while (true) {
      at += std::uniform_int_distribution<std::size_t>(1, 2000)(rng);
      if (at >= stream.size()) break;
      cuts.push_back(at);
    }
    RecordIODecoder decoder;
    CAPTURE(round);
    CHECK(decode_in_pieces(stream, cuts, decoder) == records);
  }
}

TEST_CASE("recordio: leading zeros, zero length and blank lines are accepted", "[recordio]") {
  RecordIODecoder decoder;
  std::vector<std::string> got;
  auto r = decoder.feed("\n\n003\nabc0\n\n0000000000000000000000000000002\nhi",
                        [&](std::string_view rec) {
                          got.emplace_back(rec);
                          return true;
                        });
  REQUIRE(r.has_value());
  CHECK(*r == 3);
  CHECK(got == std::vector<std::string>{"abc", "", "hi"});
  CHECK(decoder.finish().has_value());
}

TEST_CASE("recordio: a non-digit in a length is an error naming its offset", "[recordio]") {
  RecordIODecoder decoder;
  int seen = 0;
  auto sink = [&](std::string_view) {
    ++seen;
    return true;
  };
  auto r = decoder.feed("3\nabc1x\nq", sink);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == errc::recordio_bad_length);
  CHECK_THAT(r.error().message, Catch::Contains("byte 6") && Catch::Contains("'x'"));
  CHECK(seen == 1);
  CHECK(decoder.failed());

  SECTION("and the decoder stays failed") {
    auto again = decoder.feed("1\na", sink);
    REQUIRE_FALSE(again.has_value());
    CHECK(again.error().code == errc::recordio_failed);
    CHECK(seen == 1);
    CHECK_FALSE(decoder.finish().has_value());
  }
  SECTION("until reset") {
    decoder.reset();
    CHECK(decoder.feed("1\na", sink).has_value());
    CHECK(seen == 2);
  }
}

TEST_CASE("recordio: JSON where a length should be is rejected at once", "[recordio]") {
  RecordIODecoder decoder;
  auto r = decoder.feed("{\"type\":\"HEARTBEAT\"}", [](std::string_view) { return true; });
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == errc::recordio_bad_length);
  CHECK_THAT(r.error().message, Catch::Contains("byte 0"));
}

TEST_CASE("recordio: a length above the maximum fails before its newline arrives", "[recordio]") {
  RecordIODecoder decoder(RecordIODecoder::Options{.max_record_size = 1000});
  CHECK(decoder.feed("1000\n", [](std::string_view) { return true; }).has_value());
  decoder.reset();
  // No newline: the decoder cannot have waited for the whole record to allocate it.
  auto r = decoder.feed("1001", [](std::string_view) { return true; });
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == errc::recordio_too_large);
  CHECK_THAT(r.error().message, Catch::Contains("maximum of 1000"));
}

TEST_CASE("recordio: more digits than a uint64 holds is an error", "[recordio]") {
  RecordIODecoder decoder(RecordIODecoder::Options{.max_record_size = SIZE_MAX});
  auto r = decoder.feed("184467440737095516160\n", [](std::string_view) { return true; });
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == errc::recordio_bad_length);
  CHECK_THAT(r.error().message, Catch::Contains("too many digits"));

  RecordIODecoder overflow(RecordIODecoder::Options{.max_record_size = SIZE_MAX});
  auto o = overflow.feed("18446744073709551616\n", [](std::string_view) { return true; });
  REQUIRE_FALSE(o.has_value());
  CHECK(o.error().code == errc::recordio_bad_length);
}

TEST_CASE("recordio: a stream that ends inside a record or a length is truncated", "[recordio]") {
  auto ignore = [](std::string_view) { return true; };
  RecordIODecoder in_record;
  REQUIRE(in_record.feed("2\nab5\nabc", ignore).has_value());
  auto r = in_record.finish();
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == errc::recordio_truncated);
  CHECK_THAT(r.error().message, Catch::Contains("byte 4") && Catch::Contains("3 of 5"));

  RecordIODecoder in_length;
  REQUIRE(in_length.feed("2\nab12", ignore).has_value());
  auto l = in_length.finish();
  REQUIRE_FALSE(l.has_value());
  CHECK(l.error().code == errc::recordio_truncated);

  RecordIODecoder clean;
  REQUIRE(clean.feed("2\nab\n", ignore).has_value());
  CHECK(clean.at_boundary());
  CHECK(clean.finish().has_value());
}

TEST_CASE("recordio: a sink that returns false stops the feed after its record", "[recordio]") {
  RecordIODecoder decoder;
  const std::string stream = frame({"one", "two", "three"});
  std::vector<std::string> got;
  auto r = decoder.feed(stream, [&](std::string_view rec) {
    got.emplace_back(rec);
    return got.size() < 2;
  });
  REQUIRE(r.has_value());
  CHECK(*r == 2);
  CHECK(got == std::vector<std::string>{"one", "two"});
  CHECK(decoder.offset() == std::string("3\none3\ntwo").size());
  // The rest can be fed again.
  auto rest =
      decoder.feed(std::string_view(stream).substr(decoder.offset()), [&](std::string_view rec) {
        got.emplace_back(rec);
        return true;
      });
  REQUIRE(rest.has_value());
  CHECK(got.back() == "three");
}

TEST_CASE("recordio: record_offset names the start of each record's length", "[recordio]") {
  RecordIODecoder decoder;
  std::vector<std::uint64_t> offsets;
  REQUIRE(decoder
              .feed("\n1\na10\n0123456789",
                    [&](std::string_view) {
                      offsets.push_back(decoder.record_offset());
                      return true;
                    })
              .has_value());
  CHECK(offsets == std::vector<std::uint64_t>{1, 4});
}
