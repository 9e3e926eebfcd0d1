// Helpers shared by the fuzz targets: a cursor over libFuzzer's input bytes that hands out
// small decisions (a selector, chunk sizes) and the rest as text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace heatblast::fuzz {

class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size)
      : text_(reinterpret_cast<const char*>(data), size) {}

  bool empty() const { return text_.empty(); }
  // One byte (0 when none is left).
  std::uint8_t byte() {
    if (text_.empty()) return 0;
    const auto b = static_cast<std::uint8_t>(text_.front());
    text_.remove_prefix(1);
    return b;
  }
  std::string_view rest() {
    std::string_view out = text_;
    text_ = {};
    return out;
  }
  std::string_view take(std::size_t n) {
    const std::size_t k = n < text_.size() ? n : text_.size();
    std::string_view out = text_.substr(0, k);
    text_.remove_prefix(k);
    return out;
  }

 private:
  std::string_view text_;
};

// The rest of the input as command-line arguments: split at '\n' (a corpus file is one
// argument per line, readable and editable by hand).
inline std::vector<std::string> split_args(std::string_view text) {
  std::vector<std::string> args;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      if (start < text.size()) args.emplace_back(text.substr(start));
      break;
    }
    args.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return args;
}

}  // namespace heatblast::fuzz
