#include "scheduler/masters.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

namespace heatblast::scheduler {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

tl::unexpected<Error> bad(std::string_view text, std::string_view why) {
  return fail(errc::invalid_argument, fmt::format("bad master '{}': {}", text, why));
}

// Parses "host[:port][/path]" (what follows "scheme://" or "//") into `out`.
Result<void> parse_authority_and_path(std::string_view original, std::string_view rest,
                                      MasterEndpoint& out) {
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    return bad(original, "credentials in the address are not supported; use a secret file");
  }

  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return bad(original, "unclosed '[' in an IPv6 address");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad(original, "expected ':' after ']'");
      port = after.substr(1);
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return bad(original, "an IPv6 address needs brackets, as in [::1]:5050");
    }
  }
  if (host.empty()) return bad(original, "no host");
  for (char c : host) {
    if (c <= ' ' || c == '/' || c == '?' || c == '#') return bad(original, "invalid host");
  }
  out.host = std::string(host);
  if (!port.empty() || authority.ends_with(':')) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return bad(original, fmt::format("invalid port '{}'", port));
    }
    out.port = static_cast<std::uint16_t>(value);
  }

  // A redirect names the scheduler endpoint itself; a configured URL may name a gateway prefix.
  path = path.substr(0, path.find_first_of("?#"));
  for (std::string_view endpoint : {"/master/api/v1/scheduler", "/api/v1/scheduler"}) {
    if (path.ends_with(endpoint)) {
      path.remove_suffix(endpoint.size());
      break;
    }
  }
  while (path.ends_with('/'))
    path.remove_suffix(1);
  out.prefix = std::string(path);
  return {};
}

}  // namespace

std::string MasterEndpoint::authority() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

std::string MasterEndpoint::scheduler_url() const {
  return fmt::format("{}://{}{}/api/v1/scheduler", scheme, authority(), prefix);
}

Result<MasterEndpoint> parse_master(std::string_view text) {
  const std::string_view original = text;
  text = trim(text);
  if (text.empty()) return bad(original, "empty");
  MasterEndpoint out;
  if (const auto sep = text.find("://"); sep != std::string_view::npos) {
    const std::string_view scheme = text.substr(0, sep);
    if (scheme != "http" && scheme != "https") {
      return bad(original, fmt::format("scheme '{}' is not http or https", scheme));
    }
    out.scheme = std::string(scheme);
    text.remove_prefix(sep + 3);
  } else if (text.starts_with("zk://")) {
    return bad(original, "a zk:// URL is a whole master list of its own, not one of its entries");
  }
  if (auto r = parse_authority_and_path(original, text, out); !r) return tl::unexpected(r.error());
  return out;
}

Result<std::vector<MasterEndpoint>> parse_master_list(std::string_view text) {
  if (trim(text).starts_with("zk://")) {
    return fail(errc::invalid_argument,
                "a zk:// URL names no master itself: give it to Options::masters alone, where "
                "the client's detector reads the leader from ZooKeeper");
  }
  std::vector<MasterEndpoint> out;
  while (true) {
    const auto comma = text.find(',');
    auto one = parse_master(text.substr(0, comma));
    if (!one) return tl::unexpected(one.error());
    out.push_back(std::move(*one));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

Result<MasterEndpoint> parse_redirect(std::string_view location, const MasterEndpoint& current) {
  location = trim(location);
  MasterEndpoint out;
  out.scheme = current.scheme;
  out.port = current.port;
  std::string_view rest;
  if (location.starts_with("//")) {
    rest = location.substr(2);
  } else if (const auto sep = location.find("://"); sep != std::string_view::npos) {
    // Never another scheme: from https to http would send the credentials in clear text, and
    // a master that answers https cannot mean http for the same cluster.
    const std::string_view scheme = location.substr(0, sep);
    const bool same = scheme.size() == current.scheme.size() &&
                      std::equal(scheme.begin(), scheme.end(), current.scheme.begin(),
                                 [](char a, char b) { return std::tolower(a) == std::tolower(b); });
    if (!same) {
      return fail(errc::protocol_error,
                  fmt::format("redirect from '{}://{}' to '{}' refused: it changes the scheme "
                              "(only the same scheme, or a '//host:port' Location, is followed)",
                              current.scheme, current.authority(), location));
    }
    rest = location.substr(sep + 3);
  } else {
    return fail(
        errc::protocol_error,
        fmt::format("redirect to '{}' names no master (expected //host:port/...)", location));
  }
  if (auto r = parse_authority_and_path(location, rest, out); !r) {
    return fail(errc::protocol_error, r.error().message);
  }
  return out;
}

}  // namespace heatblast::scheduler
