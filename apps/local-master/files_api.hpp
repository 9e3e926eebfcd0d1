// The agent's sandbox file API as a Mesos agent serves it (GET /files/browse?path= and
// /files/read?path=&offset=&length=), which the Mesos web UI and CLI use to show a task's
// output. Only paths inside a task's sandbox are served: the path is checked lexically (no
// "..") and again after symlinks are resolved, so a client cannot leave the sandboxes, and a
// task cannot link out of its own. Reads are bounded (64 KiB at most per request).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace heatblast::local_master {

// One answer of the file API: 200 with JSON, or an error status with a plain-text reason.
struct FilesAnswer {
  int status = 200;
  std::string body;
  bool json = true;  // false: text/plain
};

// The most /files/read returns at once (Mesos: 16 pages).
inline constexpr std::size_t kMaxFileRead = 64 * 1024;

// GET /files/browse: the entries of the directory `path` as Mesos's file infos
// ([{"path","size","mode","mtime","nlink","uid","gid"}], sorted by path). `sandboxes` are the
// directories that may be browsed (with everything below them). 400 without `path` or with a
// ".." in it; 404 for a path that is not in a sandbox or does not exist.
FilesAnswer files_browse(const std::vector<std::string>& sandboxes,
                         const std::map<std::string, std::string>& query);

// GET /files/read: {"data":"...","offset":N}. Without `offset`, no data and the file's size as
// the offset (how clients learn where a file ends); `length` defaults to the rest of the file
// and is capped at kMaxFileRead; an offset past the end reads nothing. 400 for a missing path,
// a bad number, a directory or anything but a regular file; 404 as for browse.
FilesAnswer files_read(const std::vector<std::string>& sandboxes,
                       const std::map<std::string, std::string>& query);

}  // namespace heatblast::local_master
