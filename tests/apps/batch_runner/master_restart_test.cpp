// batch-runner against the local-master program, killed (SIGKILL) and restarted on its work dir
// while a task of the batch runs. The batch must still end as it would have: retries used,
// limit kept, the task that outlived the restart reported finished.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include "support/ports.hpp"
#include "support/program.hpp"
#include "support/temp_dir.hpp"
#include "support/wait_for.hpp"

namespace {

namespace fs = std::filesystem;
using heatblast::testing::Program;
using heatblast::testing::TempDir;
using namespace std::chrono_literals;

// Lets a task still waiting for the "go" file end by itself when the test ends, however it ends
// (before the temp dir goes).
struct Go {
  std::string path;
  ~Go() { std::ofstream{path} << "go\n"; }
};

std::size_t lines_matching(const std::string& text, const std::string& line, bool prefix) {
  std::istringstream in(text);
  std::size_t n = 0;
  for (std::string each; std::getline(in, each);)
    n += prefix ? each.starts_with(line) : each == line;
  return n;
}

}  // namespace

TEST_CASE("batch-runner: the batch survives a SIGKILL and restart of local-master",
          "[integration]") {
  TempDir work("heatblast-batch");
  const std::string dir = work.str();
  Go go{work / "go"};
  const std::uint16_t port = heatblast::testing::free_port();
  const std::string master_address = fmt::format("127.0.0.1:{}", port);
  // One that works, one that fails twice before it works, one that runs through the master's
  // restart, one that always fails.
  std::ofstream(work / "jobs.txt") << fmt::format(
      "# a batch\n"
      "echo one > {0}/one\n"
      "n=$(ls {0}/flaky.* 2>/dev/null | wc -l); touch {0}/flaky.$n; test $n -ge 2\n"
      "touch {0}/slow.started; while [ ! -f {0}/go ]; do sleep 0.05; done\n"
      "touch {0}/doomed.$$; exit 3\n",
      dir);

  Program master(
      {HEATBLAST_LOCAL_MASTER_PATH, "--listen", master_address, "--work-dir", work / "master",
       "--hostname", "localhost", "--resources", "cpus:2;mem:1024;disk:1024",
       "--allocation-interval", "0.1", "--heartbeat-interval", "0.5"},
      {.output = work / "master.log"});
  Program runner({HEATBLAST_BATCH_RUNNER_PATH, "--master", master_address, "--parallel", "2",
                  "--retries", "2", "--give-up-after", "30", work / "jobs.txt"},
                 {.output = work / "runner.out", .errors = work / "runner.err"});
  auto context = [&] { return runner.context() + "\n" + master.context(); };

  INFO("waiting for the slow task to start");
  REQUIRE(heatblast::testing::poll_until([&] { return fs::exists(work / "slow.started"); }, 30s));
  master.kill();
  master.start();
  // The framework is back on the restarted master when it sees its next offer or update; the
  // slow task ends only now.
  INFO("waiting for local-master to listen again");
  REQUIRE(master.wait_for_port(port, 10s));
  std::ofstream{go.path} << "go\n";

  const auto status = runner.wait_exit(60s);
  INFO(context());
  REQUIRE(status.has_value());
  CHECK(*status == 1);  // one command failed for good
  const std::string out = runner.output();
  CHECK(lines_matching(out, "done: 3 finished, 1 failed", false) >= 1);
  // The task that outlived the restart finished.
  CHECK(lines_matching(out, "cmd-3: done TASK_FINISHED", false) >= 1);
  std::size_t flaky_runs = 0;
  std::size_t doomed_runs = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    flaky_runs += entry.path().filename().string().starts_with("flaky.");
    doomed_runs += entry.path().filename().string().starts_with("doomed.");
  }
  CHECK(flaky_runs == 3);
  // The one that always fails ran 1 + 2 retries times. Its "launched" lines are not counted: a
  // launch in an ACCEPT that the killed master never took is launched again without counting
  // as a retry, as it never ran.
  CHECK(doomed_runs == 3);
  CHECK(lines_matching(out, "cmd-4: backing_off", true) == 2);
  CHECK(lines_matching(out, "cmd-4: done TASK_FAILED", false) == 1);
  CHECK(fs::exists(work / "one"));
}
