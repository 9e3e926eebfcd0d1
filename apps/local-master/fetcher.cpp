#include "fetcher.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include <curl/curl.h>
#include <fmt/format.h>

extern char** environ;

namespace heatblast::local_master {
namespace {

namespace fs = std::filesystem;

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// Mesos trims leading whitespace from a URI before it looks at it.
std::string_view trim_leading(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\n' ||
                           text.front() == '\r')) {
    text.remove_prefix(1);
  }
  return text;
}

// Runs `argv` (looked up on PATH) to its end, stdin /dev/null, stdout into `stdout_path` when
// given, else discarded. posix_spawn: safe from a thread of a multi-threaded process, unlike a
// fork() that would then run arbitrary code. An error says what failed.
Result<void> run_tool(const std::vector<std::string>& argv, const std::string& stdout_path = {}) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  if (stdout_path.empty()) {
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  } else {
    posix_spawn_file_actions_addopen(&actions, 1, stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
  }
  // The tool's complaints are the useful part of an error: keep its stderr in a pipe.
  int err_pipe[2] = {-1, -1};
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    posix_spawn_file_actions_destroy(&actions);
    return fail(errc::io_error, fmt::format("pipe2: {}", std::strerror(errno)));
  }
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(err_pipe[1]);
  if (spawned != 0) {
    ::close(err_pipe[0]);
    return fail(errc::io_error,
                fmt::format("cannot run '{}': {}", argv.front(), std::strerror(spawned)));
  }
  // Bounded: a tool that writes more only has the rest dropped.
  std::string complaint;
  char buffer[1024];
  while (true) {
    const ssize_t n = ::read(err_pipe[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (complaint.size() < 2048) complaint.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(err_pipe[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR)
      return fail(errc::io_error, fmt::format("waitpid: {}", std::strerror(errno)));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  while (!complaint.empty() && (complaint.back() == '\n' || complaint.back() == '\r'))
    complaint.pop_back();
  if (const auto newline = complaint.rfind('\n'); newline != std::string::npos) {
    complaint = complaint.substr(newline + 1);  // the last line says the most
  }
  const std::string how = WIFEXITED(status)
                              ? fmt::format("exited with status {}", WEXITSTATUS(status))
                              : fmt::format("killed by signal {}", WTERMSIG(status));
  return fail(errc::io_error, fmt::format("'{}' {}{}", argv.front(), how,
                                          complaint.empty() ? "" : ": " + complaint));
}

// Every descriptor the fetcher writes a sandbox file through is close-on-exec: local-master
// spawns task supervisors from another thread meanwhile, and a process that inherited a
// descriptor open for writing on a file makes every exec of that file fail with ETXTBSY ("Text
// file busy") for as long as it lives. std::filesystem::copy_file does not set O_CLOEXEC.
Result<void> copy_file_cloexec(const std::string& from, const std::string& to) {
  auto failed = [&](std::string_view what, const std::string& path) {
    return fail(errc::io_error, fmt::format("cannot copy '{}' to '{}': {} '{}': {}", from, to, what,
                                            path, std::strerror(errno)));
  };
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return failed("open", from);
  struct stat info {};
  if (::fstat(in, &info) != 0) {
    auto error = failed("stat", from);
    ::close(in);
    return error;
  }
  const int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (out < 0) {
    auto error = failed("create", to);
    ::close(in);
    return error;
  }
  Result<void> result;
  off_t offset = 0;
  while (offset < info.st_size) {
    const ssize_t sent =
        ::sendfile(out, in, &offset, static_cast<std::size_t>(info.st_size - offset));
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) {
      result = sent < 0 ? failed("write", to)
                        : fail(errc::io_error,
                               fmt::format("cannot copy '{}': it shrank while read", from));
      break;
    }
  }
  // As copy_file: the copy gets the source's permissions (not narrowed by the umask).
  if (result && ::fchmod(out, info.st_mode & 07777) != 0) result = failed("chmod", to);
  ::close(in);
  if (::close(out) != 0 && result) result = failed("write", to);
  return result;
}

Result<void> copy_local(const std::string& from, const std::string& to,
                        const FetcherOptions& options) {
  std::error_code ec;
  const auto status = fs::status(from, ec);
  if (ec || !fs::exists(status)) {
    return fail(errc::io_error, fmt::format("cannot read '{}': {}", from,
                                            ec ? ec.message() : "No such file or directory"));
  }
  if (!fs::is_regular_file(status)) {
    return fail(errc::io_error, fmt::format("'{}' is not a regular file", from));
  }
  const auto size = fs::file_size(from, ec);
  if (!ec && size > options.max_bytes) {
    return fail(errc::io_error, fmt::format("'{}' holds {} bytes, more than the fetcher's limit "
                                            "of {}",
                                            from, size, options.max_bytes));
  }
  return copy_file_cloexec(from, to);
}

struct Download {
  std::FILE* file = nullptr;
  std::uint64_t received = 0;
  std::uint64_t limit = 0;
  bool too_large = false;
  bool write_failed = false;
  const std::atomic<bool>* cancelled = nullptr;
};

std::size_t on_data(char* data, std::size_t size, std::size_t count, void* user) {
  auto* download = static_cast<Download*>(user);
  const std::size_t bytes = size * count;
  if (download->received + bytes > download->limit) {
    download->too_large = true;
    return 0;  // curl then fails with CURLE_WRITE_ERROR
  }
  if (std::fwrite(data, 1, bytes, download->file) != bytes) {
    download->write_failed = true;
    return 0;
  }
  download->received += bytes;
  return bytes;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* download = static_cast<const Download*>(user);
  return download->cancelled->load() ? 1 : 0;  // non-zero aborts the transfer
}

struct CurlDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};

Result<void> download(const std::string& url, const std::string& to, const FetcherOptions& options,
                      const std::atomic<bool>& cancelled) {
  std::unique_ptr<CURL, CurlDeleter> handle(curl_easy_init());
  if (!handle) return fail(errc::io_error, "curl_easy_init failed");
  std::FILE* file = std::fopen(to.c_str(), "wbe");  // "e": O_CLOEXEC (see copy_file_cloexec)
  if (file == nullptr) {
    return fail(errc::io_error, fmt::format("cannot create '{}': {}", to, std::strerror(errno)));
  }
  Download state;
  state.file = file;
  state.limit = options.max_bytes;
  state.cancelled = &cancelled;
  char error_text[CURL_ERROR_SIZE] = {0};
  CURL* curl = handle.get();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  // Only the schemes planned for, also after a redirect.
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
#endif
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // another thread owns the signals
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, static_cast<long>(options.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options.stall_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options.max_bytes));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &state);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &state);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_text);
  const CURLcode code = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  const bool closed = std::fclose(file) == 0;

  if (code == CURLE_ABORTED_BY_CALLBACK || (code != CURLE_OK && cancelled.load())) {
    return fail(errc::cancelled, "cancelled while downloading");
  }
  if (state.too_large || code == CURLE_FILESIZE_EXCEEDED) {
    return fail(errc::io_error, fmt::format("the download is larger than the fetcher's limit of "
                                            "{} bytes",
                                            options.max_bytes));
  }
  if (state.write_failed || (code == CURLE_OK && !closed)) {
    return fail(errc::io_error, fmt::format("cannot write '{}': {}", to, std::strerror(errno)));
  }
  if (code != CURLE_OK) {
    return fail(errc::io_error,
                fmt::format("Error downloading resource: {}",
                            error_text[0] != 0 ? error_text : curl_easy_strerror(code)));
  }
  if (status != 200) {
    return fail(errc::io_error,
                fmt::format("Error downloading resource, received HTTP return code {}", status));
  }
  return {};
}

Result<void> extract(Archive kind, const std::string& path, const std::string& sandbox) {
  switch (kind) {
    case Archive::none:
      return {};
    case Archive::tar:
      // GNU tar finds the compression itself; it drops a leading '/' and refuses members that
      // climb out with '..'.
      return run_tool({"tar", "-C", sandbox, "--no-same-owner", "-xf", path});
    case Archive::zip:
      // unzip skips "../" components the same way.
      return run_tool({"unzip", "-o", "-qq", path, "-d", sandbox});
    case Archive::gzip: {
      const std::string name = fs::path(path.substr(0, path.size() - 3)).filename().string();
      return run_tool({"gzip", "-dc", path}, (fs::path(sandbox) / name).string());
    }
  }
  return {};
}

const char* archive_name(Archive kind) {
  switch (kind) {
    case Archive::tar:
      return "tar";
    case Archive::zip:
      return "zip";
    case Archive::gzip:
      return "gzip";
    case Archive::none:
      break;
  }
  return "none";
}

}  // namespace

Archive archive_kind(std::string_view name) {
  for (std::string_view suffix :
       {".tar", ".tgz", ".tar.gz", ".tbz2", ".tar.bz2", ".txz", ".tar.xz"}) {
    if (ends_with(name, suffix)) return Archive::tar;
  }
  if (ends_with(name, ".zip")) return Archive::zip;
  if (ends_with(name, ".gz")) return Archive::gzip;
  return Archive::none;
}

Result<std::string> uri_basename(std::string_view uri) {
  if (uri.find_first_of(std::string_view("\\'\0", 3)) != std::string_view::npos) {
    return fail(errc::invalid_argument, "Illegal characters in URI");
  }
  const auto scheme_end = uri.find("://");
  if (scheme_end != std::string_view::npos && scheme_end > 1) {
    const std::string_view rest = uri.substr(scheme_end + 3);
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos || slash + 1 >= rest.size()) {
      return fail(errc::invalid_argument, fmt::format("Malformed URI (missing path): {}", uri));
    }
    return std::string(rest.substr(rest.rfind('/') + 1));
  }
  // A plain path: its last component, a trailing '/' ignored (Mesos's Path::basename).
  std::string_view path = uri;
  while (path.size() > 1 && path.back() == '/')
    path.remove_suffix(1);
  const auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

Result<FetchPlan> plan_fetch(const mesos::v1::CommandInfo::URI& uri,
                             const FetcherOptions& options) {
  const std::string_view value = trim_leading(uri.value());
  if (value.empty()) return fail(errc::invalid_argument, "empty URI");
  auto name = uri_basename(value);
  if (!name) return tl::unexpected(name.error());

  FetchPlan plan;
  const bool has_scheme = value.find("://") != std::string_view::npos;
  if (starts_with(value, "http://") || starts_with(value, "https://")) {
    plan.source = FetchPlan::Source::http;
    plan.location = std::string(value);
  } else if (!has_scheme || starts_with(value, "file://")) {
    std::string_view path = value;
    if (starts_with(path, "file://localhost")) {
      path.remove_prefix(std::string_view("file://localhost").size());
    } else if (starts_with(path, "file://")) {
      path.remove_prefix(std::string_view("file://").size());
    }
    if (has_scheme && !starts_with(path, "/")) {
      return fail(errc::invalid_argument, "File URI only supports absolute paths");
    }
    plan.source = FetchPlan::Source::local;
    if (starts_with(path, "/")) {
      plan.location = std::string(path);
    } else if (!options.frameworks_home.empty()) {
      plan.location = (fs::path(options.frameworks_home) / path).string();
    } else {
      return fail(errc::invalid_argument,
                  "A relative path was passed for the resource but no frameworks home is set "
                  "(local-master's --frameworks-home); use an absolute path");
    }
  } else {
    const auto scheme = value.substr(0, value.find("://"));
    return fail(errc::invalid_argument,
                fmt::format("the '{}' scheme is not supported by local-master's fetcher "
                            "(http, https, file and paths are)",
                            scheme));
  }

  if (uri.has_output_file()) {
    const fs::path output(uri.output_file());
    if (uri.output_file().empty() || output.is_absolute()) {
      return fail(errc::invalid_argument,
                  fmt::format("output_file '{}' must be a relative path in the sandbox",
                              uri.output_file()));
    }
    for (const auto& part : output) {
      if (part == "..") {
        return fail(errc::invalid_argument,
                    fmt::format("output_file '{}' climbs out of the sandbox", uri.output_file()));
      }
    }
    plan.output = output.lexically_normal().string();
  } else {
    if (name->empty() || *name == "." || *name == "..") {
      return fail(errc::invalid_argument,
                  "the URI names no file (its path ends in '/'); set output_file");
    }
    plan.output = *name;
  }

  plan.executable = uri.executable();
  // Mesos decides from the file's name in the sandbox, so output_file counts, not the URI.
  if (!plan.executable && uri.extract()) plan.extract = archive_kind(plan.output);
  return plan;
}

Result<void> fetch_uris(const mesos::v1::CommandInfo& command, const std::string& sandbox,
                        const FetcherOptions& options, const std::atomic<bool>& cancelled,
                        const std::function<void(std::string_view)>& log) {
  const auto say = [&log](std::string_view line) {
    if (log) log(line);
  };
  for (const auto& uri : command.uris()) {
    const auto failed = [&uri](const Error& error) {
      return tl::unexpected<Error>(
          Error(error.code, fmt::format("'{}': {}", uri.value(), error.what())));
    };
    if (cancelled.load()) return failed(Error(errc::cancelled, "cancelled"));
    auto plan = plan_fetch(uri, options);
    if (!plan) return failed(plan.error());
    const fs::path destination = fs::path(sandbox) / plan->output;
    std::error_code ec;
    if (destination.has_parent_path()) fs::create_directories(destination.parent_path(), ec);
    if (ec) {
      return failed(Error(
          errc::io_error,
          fmt::format("cannot create '{}': {}", destination.parent_path().string(), ec.message())));
    }
    say(fmt::format("Fetching URI '{}' into '{}'", uri.value(), destination.string()));
    auto fetched = plan->source == FetchPlan::Source::http
                       ? download(plan->location, destination.string(), options, cancelled)
                       : copy_local(plan->location, destination.string(), options);
    if (!fetched) {
      fs::remove(destination, ec);  // no partial file is left to look like a good one
      return failed(fetched.error());
    }
    if (plan->executable) {
      if (::chmod(destination.c_str(), 0755) != 0) {
        return failed(Error(
            errc::io_error,
            fmt::format("cannot chmod '{}': {}", destination.string(), std::strerror(errno))));
      }
    } else if (plan->extract != Archive::none) {
      if (auto extracted = extract(plan->extract, destination.string(), sandbox); !extracted) {
        return failed(Error(extracted.error().code,
                            fmt::format("Failed to extract '{}': {}", destination.string(),
                                        extracted.error().what())));
      }
      say(fmt::format("Extracted '{}' ({}) into '{}'", destination.string(),
                      archive_name(plan->extract), sandbox));
    }
  }
  return {};
}

}  // namespace heatblast::local_master
