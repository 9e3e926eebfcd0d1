#include "ids.hpp"

#include <array>

namespace heatblast::local_master {

std::string IdGenerator::uuid_bytes() {
  std::string bytes(16, '\0');
  for (int half = 0; half < 2; ++half) {
    std::uint64_t value = engine_();
    for (int i = 0; i < 8; ++i) {
      bytes[static_cast<std::size_t>(half * 8 + i)] = static_cast<char>(value & 0xff);
      value >>= 8;
    }
  }
  // RFC 4122: version 4 (random) and the variant bits 10xx.
  bytes[6] = static_cast<char>((static_cast<unsigned char>(bytes[6]) & 0x0f) | 0x40);
  bytes[8] = static_cast<char>((static_cast<unsigned char>(bytes[8]) & 0x3f) | 0x80);
  return bytes;
}

std::string IdGenerator::uuid_string() {
  return uuid_bytes_to_string(uuid_bytes());
}

std::string uuid_bytes_to_string(const std::string& bytes) {
  static constexpr std::array<char, 16> kHex = {'0', '1', '2', '3', '4', '5', '6', '7',
                                                '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
  std::string text;
  text.reserve(36);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (bytes.size() == 16 && (i == 4 || i == 6 || i == 8 || i == 10)) text.push_back('-');
    const auto byte = static_cast<unsigned char>(bytes[i]);
    text.push_back(kHex[byte >> 4]);
    text.push_back(kHex[byte & 0x0f]);
  }
  return text;
}

}  // namespace heatblast::local_master
