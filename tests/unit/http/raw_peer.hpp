// Raw TCP peers for the http tests, for what a well-behaved HTTP peer never does: a client that
// sends exact bytes (or never reads), and a server that answers with exact bytes and hangs up.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

namespace heatblast::testing {

namespace raw_net = boost::asio;
using raw_tcp = boost::asio::ip::tcp;

// Connects to 127.0.0.1:port, sends what send() is given in order, and appends whatever
// arrives to received (unless constructed not to read at all).
class RawClient {
 public:
  struct State {
    explicit State(raw_net::io_context& io) : socket(io) {}
    raw_tcp::socket socket;
    bool connected = false;
    bool eof = false;  // the peer closed (or reset) the connection
    std::string received;
    std::deque<std::string> outbox;
    bool writing = false;
    bool read = true;
    char buffer[4096];
  };

  RawClient(raw_net::io_context& io, std::uint16_t port, bool read = true, int receive_buffer = 0)
      : state_(std::make_shared<State>(io)) {
    state_->read = read;
    state_->socket.open(raw_tcp::v4());
    if (receive_buffer > 0)
      state_->socket.set_option(raw_net::socket_base::receive_buffer_size(receive_buffer));
    state_->socket.async_connect(raw_tcp::endpoint(raw_net::ip::make_address("127.0.0.1"), port),
                                 [s = state_](const boost::system::error_code& ec) {
                                   if (ec) {
                                     s->eof = true;
                                     return;
                                   }
                                   s->connected = true;
                                   flush(s);
                                   if (s->read) read_more(s);
                                 });
  }

  void send(std::string bytes) {
    state_->outbox.push_back(std::move(bytes));
    if (state_->connected) flush(state_);
  }

  void close() {
    boost::system::error_code ec;
    state_->socket.close(ec);
  }

  const State& state() const { return *state_; }
  const std::string& received() const { return state_->received; }
  bool eof() const { return state_->eof; }
  bool connected() const { return state_->connected; }

 private:
  static void flush(const std::shared_ptr<State>& s) {
    if (s->writing || s->outbox.empty()) return;
    s->writing = true;
    raw_net::async_write(s->socket, raw_net::buffer(s->outbox.front()),
                         [s](const boost::system::error_code& ec, std::size_t) {
                           s->writing = false;
                           s->outbox.pop_front();
                           if (!ec) flush(s);
                         });
  }

  static void read_more(const std::shared_ptr<State>& s) {
    s->socket.async_read_some(raw_net::buffer(s->buffer),
                              [s](const boost::system::error_code& ec, std::size_t n) {
                                s->received.append(s->buffer, n);
                                if (ec) {
                                  s->eof = true;
                                  return;
                                }
                                read_more(s);
                              });
  }

  std::shared_ptr<State> state_;
};

// Listens on an ephemeral loopback port; for each connection reads one request head, writes
// reply(head) and closes the connection at once.
class RawServer {
 public:
  struct State {
    explicit State(raw_net::io_context& io) : acceptor(io) {}
    raw_tcp::acceptor acceptor;
    std::function<std::string(const std::string& head)> reply;
    int accepted = 0;
    int replied = 0;
  };

  RawServer(raw_net::io_context& io, std::function<std::string(const std::string& head)> reply)
      : state_(std::make_shared<State>(io)) {
    state_->reply = std::move(reply);
    raw_tcp::endpoint ep(raw_net::ip::make_address("127.0.0.1"), 0);
    state_->acceptor.open(ep.protocol());
    state_->acceptor.bind(ep);
    state_->acceptor.listen();
    accept(state_);
  }

  ~RawServer() {
    boost::system::error_code ec;
    state_->acceptor.close(ec);
  }

  std::uint16_t port() const { return state_->acceptor.local_endpoint().port(); }
  int accepted() const { return state_->accepted; }
  int replied() const { return state_->replied; }

 private:
  struct Connection {
    explicit Connection(raw_tcp::socket s) : socket(std::move(s)) {}
    raw_tcp::socket socket;
    std::string in;
    std::string out;
  };

  static void accept(const std::shared_ptr<State>& s) {
    s->acceptor.async_accept([s](const boost::system::error_code& ec, raw_tcp::socket socket) {
      if (ec) return;
      ++s->accepted;
      auto c = std::make_shared<Connection>(std::move(socket));
      raw_net::async_read_until(c->socket, raw_net::dynamic_buffer(c->in), "\r\n\r\n",
                                [s, c](const boost::system::error_code& read_ec, std::size_t n) {
                                  if (read_ec) return;
                                  c->out = s->reply(c->in.substr(0, n));
                                  raw_net::async_write(
                                      c->socket, raw_net::buffer(c->out),
                                      [s, c](const boost::system::error_code&, std::size_t) {
                                        ++s->replied;
                                        boost::system::error_code ignored;
                                        c->socket.shutdown(raw_tcp::socket::shutdown_both, ignored);
                                        c->socket.close(ignored);
                                      });
                                });
      accept(s);
    });
  }

  std::shared_ptr<State> state_;
};

}  // namespace heatblast::testing
