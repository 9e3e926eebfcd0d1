#include "target.hpp"

#include <algorithm>
#include <utility>
#include <vector>

namespace heatblast::load {
namespace {

// Where `url` holds a password: (offset, length) pairs, left to right.
std::vector<std::pair<std::size_t, std::size_t>> password_spans(std::string_view url) {
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  const auto scheme_end = url.find("://");
  std::size_t query = url.find('?');
  if (scheme_end != std::string_view::npos) {
    const auto authority = scheme_end + 3;
    const auto authority_end = std::min(url.find_first_of("/?#", authority), url.size());
    // The last '@' of the authority ends the user info (a password may hold an unescaped '@').
    const auto at = url.substr(0, authority_end).rfind('@');
    if (at != std::string_view::npos && at >= authority) {
      const auto colon = url.find(':', authority);
      if (colon < at) spans.emplace_back(colon + 1, at - colon - 1);
    }
    query = url.find('?', authority_end);
  }
  // libpq also takes the password as a query parameter: postgresql://h/db?password=secret.
  for (std::size_t start = query; start != std::string_view::npos && start < url.size();) {
    ++start;
    const auto end = std::min(url.find('&', start), url.size());
    const auto pair = url.substr(start, end - start);
    if (pair.rfind("password=", 0) == 0) spans.emplace_back(start + 9, pair.size() - 9);
    start = end < url.size() ? end : std::string_view::npos;
  }
  return spans;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex_digit(text[i + 1]) >= 0 &&
        hex_digit(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_digit(text[i + 1]) * 16 + hex_digit(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

TargetKind target_kind(std::string_view url) noexcept {
  const auto starts = [url](std::string_view prefix) { return url.rfind(prefix, 0) == 0; };
  if (starts("http://") || starts("https://")) return TargetKind::http;
  if (starts("postgresql://") || starts("postgres://")) return TargetKind::postgresql;
  return TargetKind::unknown;
}

std::string redact_target(std::string_view url) {
  std::string out(url);
  const auto spans = password_spans(url);
  for (auto it = spans.rbegin(); it != spans.rend(); ++it)
    out.replace(it->first, it->second, "***");
  return out;
}

TargetWithoutPassword split_password(std::string_view url) {
  TargetWithoutPassword out{std::string(url), {}};
  const auto spans = password_spans(url);
  // Right to left, so that the offsets of the spans still to cut hold.
  for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
    const auto [offset, length] = *it;
    // libpq takes the last password it reads: the query's over the user info's.
    if (out.password.empty()) out.password = percent_decode(url.substr(offset, length));
    if (url[offset - 1] == ':') {  // user info: drop ":password"
      out.url.erase(offset - 1, length + 1);
      continue;
    }
    // A query parameter: drop "password=..." with one of its separators.
    const auto start = offset - 9;  // where "password=" begins
    const auto end = offset + length;
    if (end < out.url.size() && out.url[end] == '&')
      out.url.erase(start, end + 1 - start);
    else
      out.url.erase(start - 1, end - start + 1);  // with its '?' or '&'
  }
  return out;
}

std::string hide_passwords(std::string text, std::string_view url) {
  for (const auto& [offset, length] : password_spans(url)) {
    if (length == 0) continue;
    const auto password = url.substr(offset, length);
    for (auto at = text.find(password); at != std::string::npos; at = text.find(password, at + 3))
      text.replace(at, password.size(), "***");
  }
  return text;
}

}  // namespace heatblast::load
