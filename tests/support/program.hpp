// Program: a program binary run by a test as a child process, with its stdout and stderr in a
// file (kept across restarts), so that a test can wait for a line of its output, for it to
// listen on a port, or for its exit, each with a deadline, and read everything it said when an
// assertion fails. The destructor SIGKILLs and reaps it if it still runs, so no assertion can
// leave it behind. Linux: waits on a pidfd and on inotify, never by sleeping.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace heatblast::testing {

class TempDir;

// Members have initializers so that designated initializers may leave any out.
struct ProgramOptions {
  // The working directory; empty: the test's own.
  std::string cwd = {};
  // The file for stdout and stderr, appended to; empty: a file in a temp dir of the Program's.
  std::string output = {};
  // A file of its own for stderr (appended to), for a test that reads stdout line by line;
  // empty: stderr goes to `output` too.
  std::string errors = {};
};

class Program {
 public:
  // Starts `argv` (argv[0]: the program's path). Throws when it cannot be started.
  explicit Program(std::vector<std::string> argv, ProgramOptions options = {});
  ~Program();
  Program(const Program&) = delete;
  Program& operator=(const Program&) = delete;

  // Starts it again once it has ended (a restart): same arguments, output appended.
  void start();

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  void signal(int number) const;

  // Waits until it has exited and reaps it: its exit status (128 + N for signal N), nullopt
  // when `limit` passes first (it keeps running).
  std::optional<int> wait_exit(std::chrono::milliseconds limit);
  // SIGTERM, `grace` to exit, then SIGKILL; reaped either way. Its exit status.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  // SIGKILL and reap: it dies at once (what it started lives on).
  void kill();

  // Waits until its output holds `text`; false when `limit` passes or it exits first.
  bool wait_for_output(std::string_view text, std::chrono::milliseconds limit);
  // Waits until 127.0.0.1:`port` accepts connections; false when `limit` passes or it exits
  // first. A port is no event, so this tries every 20 ms.
  bool wait_for_port(std::uint16_t port, std::chrono::milliseconds limit);

  // Everything it wrote so far (all runs); stderr too unless it has a file of its own.
  std::string output() const;
  // Its output, for a failure message: "<program>'s output:\n...".
  std::string context() const;
  const std::string& output_path() const { return output_path_; }

 private:
  // Whether it has ended (not reaped yet), waiting at most `limit` for that.
  bool ended_within(std::chrono::milliseconds limit) const;
  void reap();

  std::vector<std::string> argv_;
  std::string name_;
  std::string cwd_;
  std::string errors_path_;
  std::unique_ptr<TempDir> own_dir_;
  std::string output_path_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  std::optional<int> status_;
};

}  // namespace heatblast::testing
