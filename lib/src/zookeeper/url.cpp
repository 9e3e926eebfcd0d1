// zk:// URLs, the leader among a Mesos path's children, and the address in a MasterInfo.
#include <arpa/inet.h>

#include <charconv>
#include <limits>

#include <fmt/format.h>
#include <rapidjson/document.h>

#include <mesos/v1/mesos.pb.h>

#include "heatblast/zookeeper.hpp"

namespace heatblast::zookeeper {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(value);
}

// The URL as given, password hidden: error messages must not carry it either.
std::string shown(std::string_view text) {
  const auto at = text.find('@');
  const auto scheme_end = text.find("://");
  if (at == std::string_view::npos || scheme_end == std::string_view::npos || at < scheme_end) {
    return std::string(text);
  }
  const auto colon = text.find(':', scheme_end + 3);
  if (colon == std::string_view::npos || colon > at) return std::string(text);
  return fmt::format("{}:***{}", text.substr(0, colon), text.substr(at));
}

tl::unexpected<Error> bad(std::string_view text, std::string_view why) {
  return fail(errc::invalid_argument, fmt::format("bad ZooKeeper URL '{}': {}", shown(text), why));
}

Result<MasterAddress> address_from_pid(std::string_view pid) {
  const auto at = pid.find('@');
  const std::string_view rest = at == std::string_view::npos ? pid : pid.substr(at + 1);
  const auto colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return fail(errc::invalid_argument, fmt::format("MasterInfo pid '{}' has no ip:port", pid));
  }
  auto port = parse_port(rest.substr(colon + 1));
  if (!port) return fail(errc::invalid_argument, fmt::format("MasterInfo pid '{}': bad port", pid));
  return MasterAddress{std::string(rest.substr(0, colon)), *port};
}

// Mesos stores the IPv4 address as the in-memory uint32 of a network-order in_addr: the
// number read on a little-endian host has the first octet in its lowest byte.
std::string ipv4_from_host_integer(std::uint32_t ip) {
  in_addr addr{};
  addr.s_addr = ip;
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &addr, text, sizeof text);
  return text;
}

}  // namespace

std::string Url::redacted() const {
  const std::string auth = user.empty() ? "" : fmt::format("{}:***@", user);
  return fmt::format("zk://{}{}{}", auth, servers, path);
}

bool is_url(std::string_view text) noexcept {
  return trim(text).starts_with("zk://");
}

Result<Url> parse_url(std::string_view text) {
  const std::string_view original = text;
  text = trim(text);
  if (!text.starts_with("zk://")) return bad(original, "does not start with zk://");
  text.remove_prefix(5);
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return bad(original, "no path (as in zk://host:2181/mesos)");
  std::string_view authority = text.substr(0, slash);
  std::string_view path = text.substr(slash);
  Url url;
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view cred = authority.substr(0, at);
    const auto colon = cred.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return bad(original, "credentials must be user:password");
    }
    url.user = std::string(cred.substr(0, colon));
    url.password = std::string(cred.substr(colon + 1));
    authority.remove_prefix(at + 1);
  }
  if (authority.empty()) return bad(original, "no host");
  std::string_view hosts = authority;
  while (true) {
    const auto comma = hosts.find(',');
    const std::string_view one = trim(hosts.substr(0, comma));
    const auto colon = one.rfind(':');
    if (one.empty()) return bad(original, "an empty host in the list");
    if (colon == std::string_view::npos) return bad(original, fmt::format("'{}' has no port", one));
    if (colon == 0) return bad(original, fmt::format("'{}' has no host", one));
    if (!parse_port(one.substr(colon + 1))) {
      return bad(original, fmt::format("'{}' has an invalid port", one));
    }
    for (char c : one) {
      if (c <= ' ' || c == '?' || c == '#') return bad(original, "invalid character in a host");
    }
    if (!url.servers.empty()) url.servers += ',';
    url.servers += one;
    if (comma == std::string_view::npos) break;
    hosts.remove_prefix(comma + 1);
  }
  while (path.size() > 1 && path.ends_with('/'))
    path.remove_suffix(1);
  if (path.find("//") != std::string_view::npos) return bad(original, "an empty path segment");
  for (char c : path) {
    if (c <= ' ' || c == '?' || c == '#') return bad(original, "invalid character in the path");
  }
  url.path = std::string(path);
  return url;
}

Result<MasterAddress> master_address_from_json(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return fail(errc::json_syntax, "MasterInfo is not a JSON object");
  }
  auto string_of = [](const rapidjson::Value& obj, const char* key) -> std::optional<std::string> {
    auto it = obj.FindMember(key);
    if (it == obj.MemberEnd() || !it->value.IsString() || it->value.GetStringLength() == 0) {
      return std::nullopt;
    }
    return std::string(it->value.GetString(), it->value.GetStringLength());
  };
  auto uint_of = [](const rapidjson::Value& obj, const char* key) -> std::optional<std::uint64_t> {
    auto it = obj.FindMember(key);
    if (it == obj.MemberEnd()) return std::nullopt;
    if (it->value.IsUint64()) return it->value.GetUint64();
    if (it->value.IsString()) {  // the JSON mapping may quote integers
      std::uint64_t v = 0;
      const char* s = it->value.GetString();
      const char* e = s + it->value.GetStringLength();
      auto [end, ec] = std::from_chars(s, e, v);
      if (ec == std::errc() && end == e) return v;
    }
    return std::nullopt;
  };
  auto port_from = [&](const rapidjson::Value& obj) -> std::optional<std::uint16_t> {
    auto p = uint_of(obj, "port");
    if (!p || *p == 0 || *p > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(*p);
  };

  // Const iterators: comparing rapidjson's mutable ones is ambiguous in C++20 (clang warns).
  const rapidjson::Value& root = doc;
  if (auto addr = root.FindMember("address"); addr != root.MemberEnd() && addr->value.IsObject()) {
    const auto& a = addr->value;
    if (auto port = port_from(a)) {
      if (auto ip = string_of(a, "ip")) return MasterAddress{*ip, *port};
      if (auto host = string_of(a, "hostname")) return MasterAddress{*host, *port};
    }
  }
  if (auto ip = uint_of(doc, "ip");
      ip && *ip != 0 && *ip <= std::numeric_limits<std::uint32_t>::max()) {
    if (auto port = port_from(doc)) {
      return MasterAddress{ipv4_from_host_integer(static_cast<std::uint32_t>(*ip)), *port};
    }
  }
  if (auto pid = string_of(doc, "pid")) return address_from_pid(*pid);
  return fail(errc::invalid_argument, "MasterInfo names no address (address, ip/port or pid)");
}

Result<MasterAddress> master_address_from_protobuf(std::string_view bytes) {
  mesos::v1::MasterInfo info;
  // Partial: an older master may leave out a field our copy of the .proto calls required.
  if (!info.ParsePartialFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return fail(errc::protobuf_parse, "MasterInfo is not a valid protobuf");
  }
  if (info.has_address() && info.address().port() > 0 && info.address().port() <= 65535) {
    const auto port = static_cast<std::uint16_t>(info.address().port());
    if (!info.address().ip().empty()) return MasterAddress{info.address().ip(), port};
    if (!info.address().hostname().empty()) return MasterAddress{info.address().hostname(), port};
  }
  if (info.ip() != 0 && info.port() > 0 && info.port() <= 65535) {
    return MasterAddress{ipv4_from_host_integer(info.ip()),
                         static_cast<std::uint16_t>(info.port())};
  }
  if (!info.pid().empty()) return address_from_pid(info.pid());
  return fail(errc::invalid_argument, "MasterInfo names no address (address, ip/port or pid)");
}

std::optional<std::int64_t> sequence_of(std::string_view name, std::string_view prefix) noexcept {
  if (!name.starts_with(prefix)) return std::nullopt;
  name.remove_prefix(prefix.size());
  if (name.empty()) return std::nullopt;
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), value);
  if (ec != std::errc() || end != name.data() + name.size() || value < 0) return std::nullopt;
  for (char c : name) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  return value;
}

std::optional<std::string> leading_master_node(const std::vector<std::string>& children) {
  for (std::string_view prefix : {"json.info_", "info_"}) {
    const std::string* best = nullptr;
    std::int64_t best_seq = 0;
    for (const auto& child : children) {
      auto seq = sequence_of(child, prefix);
      if (seq && (best == nullptr || *seq < best_seq)) {
        best = &child;
        best_seq = *seq;
      }
    }
    if (best != nullptr) return *best;
  }
  return std::nullopt;
}

std::string_view to_string(Code code) noexcept {
  switch (code) {
    case Code::ok:
      return "ok";
    case Code::no_node:
      return "no node";
    case Code::node_exists:
      return "node exists";
    case Code::not_empty:
      return "not empty";
    case Code::connection_loss:
      return "connection loss";
    case Code::session_expired:
      return "session expired";
    case Code::auth_failed:
      return "auth failed";
    case Code::closed:
      return "closed";
    case Code::other:
      return "other error";
  }
  return "other error";
}

std::string_view to_string(SessionState state) noexcept {
  switch (state) {
    case SessionState::connecting:
      return "connecting";
    case SessionState::connected:
      return "connected";
    case SessionState::expired:
      return "expired";
    case SessionState::auth_failed:
      return "auth failed";
  }
  return "unknown";
}

}  // namespace heatblast::zookeeper
