// TempDir: a fresh directory under the system temp dir for one test, removed with everything in
// it when the test ends, however it ends (a failed REQUIRE included).
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace heatblast::testing {

class TempDir {
 public:
  // `prefix` names the directory (<tmp>/<prefix>-XXXXXX) so that a leftover is easy to trace.
  explicit TempDir(std::string_view prefix = "heatblast-test") {
    std::string pattern =
        (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp '" + pattern + "' failed");
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }
  // A path inside the directory: dir / "state.db".
  std::string operator/(std::string_view name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace heatblast::testing
