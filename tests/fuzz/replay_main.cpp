// Replays fuzz inputs without libFuzzer, so that every build (gcc included) runs the corpus
// as a test: `fuzz_replay <target> <file or directory>...`. Each target's entry point is
// compiled under its own name (see CMakeLists.txt). A crash or abort fails the test, as it
// fails libFuzzer.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#define HEATBLAST_FUZZ_TARGET(name) \
  extern "C" int heatblast_fuzz_##name(const std::uint8_t* data, std::size_t size);
HEATBLAST_FUZZ_TARGETS
#undef HEATBLAST_FUZZ_TARGET

namespace {

using Entry = int (*)(const std::uint8_t*, std::size_t);

const std::map<std::string, Entry>& targets() {
#define HEATBLAST_FUZZ_TARGET(name) {#name, &heatblast_fuzz_##name},
  static const std::map<std::string, Entry> table{HEATBLAST_FUZZ_TARGETS};
#undef HEATBLAST_FUZZ_TARGET
  return table;
}

bool replay(Entry entry, const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read '%s'\n", file.c_str());
    return false;
  }
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  entry(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || !targets().contains(argv[1])) {
    std::fprintf(stderr, "usage: fuzz_replay <target> <file or directory>...\ntargets:");
    for (const auto& [name, entry] : targets())
      std::fprintf(stderr, " %s", name.c_str());
    std::fprintf(stderr, "\n");
    return 2;
  }
  const Entry entry = targets().at(argv[1]);
  std::size_t count = 0;
  for (int i = 2; i < argc; ++i) {
    const std::filesystem::path path(argv[i]);
    std::vector<std::filesystem::path> files;
    if (std::filesystem::is_directory(path)) {
      for (const auto& item : std::filesystem::recursive_directory_iterator(path)) {
        if (item.is_regular_file()) files.push_back(item.path());
      }
    } else {
      files.push_back(path);
    }
    for (const auto& file : files) {
      if (!replay(entry, file)) return 1;
      ++count;
    }
  }
  std::printf("%s: %zu input(s) replayed\n", argv[1], count);
  return count > 0 ? 0 : 1;
}
