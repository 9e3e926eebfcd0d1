// The HTTP target of the load-worker benchmark: one thread, epoll, keep-alive, and the same
// small response to every request, so that the client's cost is what the benchmark measures.
// It answers each request that ends its headers ("\r\n\r\n"); bodies are not supported (the
// benchmark sends GET). Usage: fixed_http_server [PORT] (0 or none: a free port); it prints
// "listening on PORT" and serves until killed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>

namespace {

constexpr char kResponse[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok";

// How far into "\r\n\r\n" a connection's input has come, across reads.
struct Connection {
  int matched = 0;
  std::string out;
};

}  // namespace

int main(int argc, char** argv) {
  const int port = argc > 1 ? std::atoi(argv[1]) : 0;
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  socklen_t len = sizeof addr;
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener, 512) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("fixed_http_server: bind/listen");
    return 1;
  }
  std::printf("listening on %d\n", ntohs(addr.sin_port));
  std::fflush(stdout);

  const int epoll = ::epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listener;
  ::epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &ev);
  std::unordered_map<int, Connection> connections;
  epoll_event events[256];
  char buffer[65536];
  const std::size_t response_size = sizeof kResponse - 1;
  for (;;) {
    const int n = ::epoll_wait(epoll, events, 256, -1);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == listener) {
        while (true) {
          const int client = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK);
          if (client < 0) break;
          ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = client;
          ::epoll_ctl(epoll, EPOLL_CTL_ADD, client, &cev);
          connections[client] = Connection{};
        }
        continue;
      }
      Connection& c = connections[fd];
      const ssize_t got = ::read(fd, buffer, sizeof buffer);
      if (got <= 0) {
        ::close(fd);
        connections.erase(fd);
        continue;
      }
      static constexpr char kEnd[] = "\r\n\r\n";
      for (ssize_t k = 0; k < got; ++k) {
        if (buffer[k] == kEnd[c.matched]) {
          if (++c.matched == 4) {
            c.out.append(kResponse, response_size);
            c.matched = 0;
          }
        } else {
          c.matched = buffer[k] == '\r' ? 1 : 0;
        }
      }
      // A blocking-style write: responses are small and the client reads them; a client that
      // does not is dropped.
      std::size_t sent = 0;
      while (sent < c.out.size()) {
        const ssize_t w = ::write(fd, c.out.data() + sent, c.out.size() - sent);
        if (w <= 0) break;
        sent += static_cast<std::size_t>(w);
      }
      if (sent < c.out.size()) {
        ::close(fd);
        connections.erase(fd);
        continue;
      }
      c.out.clear();
    }
  }
}
