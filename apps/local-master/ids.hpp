// Random identifiers: stream ids, container ids, status-update uuids, the master's own id.
#pragma once

#include <cstdint>
#include <random>
#include <string>

namespace heatblast::local_master {

// A version-4 UUID generator over a seeded PRNG, so that a test can make ids reproducible.
// Not for security: ids only need to be unique. Not thread-safe (one per master).
class IdGenerator {
 public:
  explicit IdGenerator(std::uint64_t seed) : engine_(seed) {}

  // 16 raw bytes, as TaskStatus.uuid and Call.Acknowledge.uuid carry them.
  std::string uuid_bytes();
  // The canonical text form, 36 characters: "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".
  std::string uuid_string();

 private:
  std::mt19937_64 engine_;
};

// The text form of 16 raw UUID bytes (any other size gives the bytes in hex).
std::string uuid_bytes_to_string(const std::string& bytes);

}  // namespace heatblast::local_master
