#include "support/zookeeper_fixture.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace heatblast::testing {
namespace {

// Debian's layout. Only what QuorumPeerMain loads for a standalone server with the NIO
// connection factory; netty is not needed.
constexpr const char* kDefaultClasspath =
    "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:/usr/share/java/zookeeper-jute.jar:"
    "/usr/share/java/slf4j-api.jar:/usr/share/java/slf4j-simple.jar:"
    "/usr/share/java/metrics-core.jar:/usr/share/java/commons-cli.jar:"
    "/usr/share/java/commons-io.jar";

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// The "srvr" four-letter command answers "Mode: standalone" only once the server serves
// requests; a bare open port is not enough (the database may still be loading).
bool serving(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::write(fd, "srvr", 4) == 4) {
    char buf[512];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0)
      reply.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return reply.find("Mode:") != std::string::npos;
}

}  // namespace

ZooKeeperServer::ZooKeeperServer() {
  const auto began = std::chrono::steady_clock::now();
  std::string pattern = (std::filesystem::temp_directory_path() / "heatblast-zk-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  port_ = free_port();
  {
    std::ofstream cfg(dir_ + "/zoo.cfg");
    // A short tick lets tests use session timeouts down to 2 ticks (1 s).
    cfg << "tickTime=500\n"
        << "dataDir=" << dir_ << "/data\n"
        << "clientPort=" << port_ << "\n"
        << "clientPortAddress=127.0.0.1\n"
        << "admin.enableServer=false\n"
        << "minSessionTimeout=1000\nmaxSessionTimeout=60000\n"
        << "4lw.commands.whitelist=srvr\n";
  }
  const char* env_cp = std::getenv("HEATBLAST_ZOOKEEPER_CLASSPATH");
  const std::string classpath = env_cp != nullptr && *env_cp != '\0' ? env_cp : kDefaultClasspath;
  const std::string cfg_path = dir_ + "/zoo.cfg";
  const std::string log_path = dir_ + "/server.log";

  // Everything the child needs is built before fork(): between fork and exec only
  // async-signal-safe calls (other threads, such as a ZooKeeper client's, may exist).
  std::vector<std::string> args = {"java",
                                   "-XX:TieredStopAtLevel=1",  // client JIT: starts faster
                                   "-Xmx256m",
                                   "-cp",
                                   classpath,
                                   "org.apache.zookeeper.server.quorum.QuorumPeerMain",
                                   cfg_path};
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();

  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // A test program killed by a timeout takes its server with it.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (log >= 0) {
      ::dup2(log, 1);
      ::dup2(log, 2);
    }
    // Its own process group, so that the test runner's Ctrl-C does not race our SIGTERM.
    ::setpgid(0, 0);
    ::execvp("java", argv.data());
    ::_exit(127);
  }

  const auto deadline = began + std::chrono::seconds(60);
  while (!serving(port_)) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      const std::string tail = log_tail();
      std::filesystem::remove_all(dir_);
      throw std::runtime_error("ZooKeeper exited at start:\n" + tail);
    }
    if (std::chrono::steady_clock::now() > deadline) {
      const std::string tail = log_tail();
      stop();
      throw std::runtime_error("ZooKeeper did not serve within 60 s:\n" + tail);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a port, no event
  }
  startup_ = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - began);
}

ZooKeeperServer::~ZooKeeperServer() {
  stop();
}

ZooKeeperServer& ZooKeeperServer::shared() {
  static ZooKeeperServer server;
  return server;
}

std::string ZooKeeperServer::connect_string() const {
  return "127.0.0.1:" + std::to_string(port_);
}

std::string ZooKeeperServer::url(const std::string& path) const {
  return "zk://" + connect_string() + path;
}

std::string ZooKeeperServer::log_tail(std::size_t bytes) const {
  std::ifstream in(dir_ + "/server.log");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string all = ss.str();
  return all.size() > bytes ? all.substr(all.size() - bytes) : all;
}

void ZooKeeperServer::stop() noexcept {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    dir_.clear();
  }
}

}  // namespace heatblast::testing
