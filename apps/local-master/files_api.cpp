#include "files_api.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <optional>

#include <fmt/format.h>

#include "heatblast/json.hpp"

namespace heatblast::local_master {
namespace {

namespace fs = std::filesystem;

FilesAnswer error(int status, std::string message) {
  return FilesAnswer{status, std::move(message), false};
}

std::optional<std::string> real_path(const std::string& path) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) return std::nullopt;
  return std::string(resolved);
}

bool is_within(const std::string& path, const std::string& root) {
  return path == root || (path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
                          path[root.size()] == '/');
}

// The file `requested` names, resolved, when it lies inside one of `sandboxes` before and
// after symlinks are followed; otherwise the answer to give.
struct Resolved {
  std::string path;  // with symlinks resolved
  std::optional<FilesAnswer> refusal;
};

Resolved resolve(const std::vector<std::string>& sandboxes,
                 const std::map<std::string, std::string>& query) {
  auto it = query.find("path");
  if (it == query.end() || it->second.empty()) {
    return {{}, error(400, "Expecting 'path=value' in query.\n")};
  }
  const fs::path requested(it->second);
  if (!requested.is_absolute()) {
    return {{}, error(400, fmt::format("Path '{}' is not absolute.\n", it->second))};
  }
  for (const auto& part : requested) {
    if (part == "..") {
      return {{}, error(400, fmt::format("Path '{}' must not contain '..'.\n", it->second))};
    }
  }
  const std::string normal = requested.lexically_normal().string();
  std::string trimmed = normal;
  while (trimmed.size() > 1 && trimmed.back() == '/')
    trimmed.pop_back();
  for (const auto& sandbox : sandboxes) {
    const std::string root = fs::path(sandbox).lexically_normal().string();
    if (!is_within(trimmed, root)) continue;
    auto real_root = real_path(root);
    auto real = real_path(trimmed);
    if (!real_root || !real) break;
    // A symlink inside the sandbox must not lead out of it.
    if (!is_within(*real, *real_root)) break;
    return {*real, std::nullopt};
  }
  return {{}, error(404, "")};
}

std::string mode_text(mode_t mode) {
  std::string text = S_ISDIR(mode) ? "d" : S_ISLNK(mode) ? "l" : "-";
  const std::array<std::pair<mode_t, char>, 9> bits = {{{S_IRUSR, 'r'},
                                                        {S_IWUSR, 'w'},
                                                        {S_IXUSR, 'x'},
                                                        {S_IRGRP, 'r'},
                                                        {S_IWGRP, 'w'},
                                                        {S_IXGRP, 'x'},
                                                        {S_IROTH, 'r'},
                                                        {S_IWOTH, 'w'},
                                                        {S_IXOTH, 'x'}}};
  for (const auto& [bit, letter] : bits)
    text += (mode & bit) != 0 ? letter : '-';
  return text;
}

std::string user_name(uid_t uid) {
  struct passwd entry {};
  struct passwd* found = nullptr;
  std::array<char, 1024> buffer{};
  if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr) {
    return found->pw_name;
  }
  return std::to_string(uid);
}

std::string group_name(gid_t gid) {
  struct group entry {};
  struct group* found = nullptr;
  std::array<char, 1024> buffer{};
  if (::getgrgid_r(gid, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr) {
    return found->gr_name;
  }
  return std::to_string(gid);
}

std::string file_info_json(const std::string& path, const struct stat& info) {
  std::string out = "{\"gid\":";
  json::append_quoted(out, group_name(info.st_gid));
  out +=
      fmt::format(",\"mode\":\"{}\",\"mtime\":{},\"nlink\":{},\"path\":", mode_text(info.st_mode),
                  static_cast<long long>(info.st_mtime), static_cast<long long>(info.st_nlink));
  json::append_quoted(out, path);
  out += fmt::format(",\"size\":{},\"uid\":", static_cast<long long>(info.st_size));
  json::append_quoted(out, user_name(info.st_uid));
  return out + "}";
}

// `bytes` as the content of a JSON string: valid UTF-8 as it is, any other byte as \u00XX, so
// that what a task wrote never makes the document invalid.
void append_bytes_quoted(std::string& out, std::string_view bytes) {
  std::string valid;
  std::size_t i = 0;
  out += '"';
  auto flush = [&] {
    if (valid.empty()) return;
    std::string piece;
    json::append_quoted(piece, valid);
    out.append(piece, 1, piece.size() - 2);
    valid.clear();
  };
  while (i < bytes.size()) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    std::size_t length = c < 0x80           ? 1
                         : (c >> 5) == 0x6  ? 2
                         : (c >> 4) == 0xe  ? 3
                         : (c >> 3) == 0x1e ? 4
                                            : 0;
    bool ok = length > 0 && i + length <= bytes.size();
    for (std::size_t k = 1; ok && k < length; ++k)
      ok = (static_cast<unsigned char>(bytes[i + k]) >> 6) == 0x2;
    if (ok) {
      valid.append(bytes.substr(i, length));
      i += length;
    } else {
      flush();
      out += fmt::format("\\u{:04x}", c);
      ++i;
    }
  }
  flush();
  out += '"';
}

// A non-negative integer, or nullopt.
std::optional<std::uint64_t> parse_size(const std::string& text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

// An open file descriptor, closed at the end of its scope.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

FilesAnswer files_browse(const std::vector<std::string>& sandboxes,
                         const std::map<std::string, std::string>& query) {
  Resolved resolved = resolve(sandboxes, query);
  if (resolved.refusal) return *resolved.refusal;
  std::string requested = query.at("path");
  while (requested.size() > 1 && requested.back() == '/')
    requested.pop_back();
  std::vector<std::pair<std::string, struct stat>> entries;
  std::error_code ec;
  // A file lists nothing, as in Mesos.
  for (const auto& entry : fs::directory_iterator(resolved.path, ec)) {
    struct stat info {};
    if (::lstat(entry.path().c_str(), &info) != 0) continue;
    entries.emplace_back(requested + "/" + entry.path().filename().string(), info);
  }
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string body = "[";
  for (const auto& [path, info] : entries) {
    if (body.size() > 1) body += ',';
    body += file_info_json(path, info);
  }
  return FilesAnswer{200, body + "]", true};
}

FilesAnswer files_read(const std::vector<std::string>& sandboxes,
                       const std::map<std::string, std::string>& query) {
  std::optional<std::uint64_t> offset;
  std::optional<std::uint64_t> length;
  if (auto it = query.find("offset"); it != query.end()) {
    offset = parse_size(it->second);
    if (!offset) return error(400, fmt::format("Failed to parse offset '{}'.\n", it->second));
  }
  if (auto it = query.find("length"); it != query.end()) {
    length = parse_size(it->second);
    if (!length) return error(400, fmt::format("Failed to parse length '{}'.\n", it->second));
  }
  Resolved resolved = resolve(sandboxes, query);
  if (resolved.refusal) return *resolved.refusal;

  // O_NONBLOCK: a FIFO a task left in its sandbox must not block the master.
  Fd file{::open(resolved.path.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC)};
  struct stat info {};
  if (file.fd < 0 || ::fstat(file.fd, &info) != 0) return error(404, "");
  if (S_ISDIR(info.st_mode)) return error(400, "Cannot read a directory.\n");
  if (!S_ISREG(info.st_mode)) return error(400, "Cannot read anything but a regular file.\n");
  const auto size = static_cast<std::uint64_t>(info.st_size);

  if (!offset) return FilesAnswer{200, fmt::format("{{\"data\":\"\",\"offset\":{}}}", size), true};
  std::uint64_t wanted = length.value_or(size > *offset ? size - *offset : 0);
  wanted = std::min<std::uint64_t>({wanted, kMaxFileRead, size > *offset ? size - *offset : 0});
  std::string data(wanted, '\0');
  std::size_t got = 0;
  while (got < wanted) {
    const ssize_t n =
        ::pread(file.fd, data.data() + got, wanted - got, static_cast<off_t>(*offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  data.resize(got);
  std::string body = "{\"data\":";
  append_bytes_quoted(body, data);
  return FilesAnswer{200, body + fmt::format(",\"offset\":{}}}", *offset), true};
}

}  // namespace heatblast::local_master
