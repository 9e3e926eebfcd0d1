// A loopback TCP proxy a test can cut: the way to partition a client from its server (here a
// ZooKeeper client from ZooKeeper) without touching either. Runs on the test's io_context.
#pragma once

#include <array>
#include <memory>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

namespace heatblast::testing {

class TcpProxy {
 public:
  TcpProxy(boost::asio::io_context& io, std::uint16_t upstream_port)
      : io_(io),
        acceptor_(io, {boost::asio::ip::make_address("127.0.0.1"), 0}),
        upstream_(boost::asio::ip::make_address("127.0.0.1"), upstream_port) {
    accept();
  }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  // Closes every proxied connection, and those accepted later until resume().
  void cut() {
    cut_ = true;
    for (auto& pair : pairs_) {
      boost::system::error_code ec;
      pair->client.close(ec);
      pair->server.close(ec);
    }
    pairs_.clear();
  }
  void resume() { cut_ = false; }

 private:
  struct Pair {
    explicit Pair(boost::asio::io_context& io) : client(io), server(io) {}
    boost::asio::ip::tcp::socket client;
    boost::asio::ip::tcp::socket server;
    std::array<char, 16384> up{};
    std::array<char, 16384> down{};
  };

  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, boost::asio::ip::tcp::socket s) {
      if (ec) return;
      accept();
      if (cut_) return;  // the socket closes as it goes out of scope
      auto pair = std::make_shared<Pair>(io_);
      pair->client = std::move(s);
      pairs_.push_back(pair);
      pair->server.async_connect(upstream_, [this, pair](boost::system::error_code ec2) {
        if (ec2) {
          boost::system::error_code ignored;
          pair->client.close(ignored);
          return;
        }
        pump(pair, pair->client, pair->server, pair->up);
        pump(pair, pair->server, pair->client, pair->down);
      });
    });
  }

  void pump(std::shared_ptr<Pair> pair, boost::asio::ip::tcp::socket& from,
            boost::asio::ip::tcp::socket& to, std::array<char, 16384>& buffer) {
    from.async_read_some(
        boost::asio::buffer(buffer),
        [this, pair, &from, &to, &buffer](boost::system::error_code ec, std::size_t n) {
          if (ec) {
            boost::system::error_code ignored;
            to.close(ignored);
            from.close(ignored);
            return;
          }
          boost::asio::async_write(
              to, boost::asio::buffer(buffer.data(), n),
              [this, pair, &from, &to, &buffer](boost::system::error_code ec2, std::size_t) {
                if (ec2) {
                  boost::system::error_code ignored;
                  from.close(ignored);
                  return;
                }
                pump(pair, from, to, buffer);
              });
        });
  }

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::ip::tcp::endpoint upstream_;
  std::vector<std::shared_ptr<Pair>> pairs_;
  bool cut_ = false;
};

}  // namespace heatblast::testing
