// The Mesos fetcher, for local-master: puts a task's CommandInfo.uris into its sandbox before
// its command runs, as a Mesos agent does with `mesos-fetcher` (no cache, no HDFS, no S3).
//
// Per URI, in order (the rules of Mesos's src/launcher/fetcher.cpp):
//   - the file is named `output_file` (a path under the sandbox; its directories are created)
//     or else the last '/'-separated part of the URI, query string included, as Mesos does;
//   - http:// and https:// are downloaded (HTTP 200 only; redirects followed); file:// URIs,
//     file://localhost URIs and absolute paths are copied; a relative path resolves against
//     `frameworks_home`, and is an error without one; any other scheme is an error;
//   - `executable`: chmod 0755, never extracted;
//   - else `extract` (true by default): a name ending in .tar .tgz .tar.gz .tbz2 .tar.bz2 .txz
//     .tar.xz or .zip is extracted into the sandbox (the archive stays too); a bare .gz is
//     gunzipped beside itself, without the suffix; anything else is left as it is.
// Archives are unpacked by the Debian `tar`, `unzip` and `gzip` programs (see fetcher.cpp).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <mesos/v1/mesos.pb.h>

#include "heatblast/error.hpp"

namespace heatblast::local_master {

struct FetcherOptions {
  // Largest file one URI may produce (downloaded or copied); bigger ones fail the fetch.
  std::uint64_t max_bytes = std::uint64_t{1} << 30;
  // A download that takes longer than this fails.
  std::chrono::seconds timeout{600};
  // A download that receives nothing for this long fails (Mesos's --fetcher_stall_timeout).
  std::chrono::seconds stall_timeout{60};
  // Where relative paths in URIs resolve (Mesos's --frameworks_home); empty: they are errors.
  std::string frameworks_home;
};

// What an archive is unpacked with.
enum class Archive { none, tar, zip, gzip };

// The archive kind a file name asks for, by its suffix (none: not an archive).
Archive archive_kind(std::string_view name);

// Mesos's file name for a URI: the part after its last '/'. Errors (errc::invalid_argument):
// characters Mesos refuses (backslash, quote, NUL), or "scheme://host" with no path.
Result<std::string> uri_basename(std::string_view uri);

// What fetching one URI will do, decided before any I/O. Pure.
struct FetchPlan {
  enum class Source { local, http };
  Source source = Source::local;
  std::string location;  // the local path to copy, or the URL to download
  std::string output;    // where it goes, relative to the sandbox
  bool executable = false;
  Archive extract = Archive::none;  // what to unpack after it arrived
};

// Errors (errc::invalid_argument): an empty or malformed URI, an unsupported scheme, a file://
// URI with a relative path, a relative path without `frameworks_home`, an `output_file` that is
// absolute or climbs out of the sandbox ('..').
Result<FetchPlan> plan_fetch(const mesos::v1::CommandInfo::URI& uri, const FetcherOptions& options);

// Fetches every URI of `command` into `sandbox` (which must exist), in order, stopping at the
// first failure. Blocks (downloads, copies, child processes): run it off the master's thread.
// `cancelled` is read while downloading and between URIs. `log` gets one line per step (the
// runner appends them to the sandbox's `stderr`, where Mesos puts the fetcher's log); it is
// called on the calling thread. Errors: "'<uri>': <why>" (errc::io_error, errc::cancelled or
// the planning errors above).
Result<void> fetch_uris(const mesos::v1::CommandInfo& command, const std::string& sandbox,
                        const FetcherOptions& options, const std::atomic<bool>& cancelled,
                        const std::function<void(std::string_view)>& log);

}  // namespace heatblast::local_master
