#include "host_port.hpp"

#include <arpa/inet.h>

#include <charconv>

#include <fmt/format.h>

namespace heatblast::apps {

Result<ListenAddress> parse_listen(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return fail(errc::invalid_argument, fmt::format("'{}' is not ADDR:PORT: {}", text, why));
  };
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return bad("no port");
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port > 65535) {
    return bad("the port is not a number from 0 to 65535");
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  ListenAddress out;
  out.port = static_cast<std::uint16_t>(port);
  if (host.empty()) {
    out.address = "0.0.0.0";
  } else if (host == "localhost") {
    out.address = "127.0.0.1";
  } else {
    out.address = std::string(host);
  }
  return out;
}

bool is_loopback(std::string_view address) {
  const std::string text(address);
  in_addr v4{};
  if (::inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6);
  }
  return false;
}

}  // namespace heatblast::apps
