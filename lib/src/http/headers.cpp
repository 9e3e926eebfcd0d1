#include "heatblast/http_client.hpp"
#include "heatblast/http_server.hpp"
#include "http/header_text.hpp"

namespace heatblast::http {

std::optional<std::string_view> find_header(const Headers& headers, std::string_view name) {
  for (const auto& [field, value] : headers)
    if (iequals(field, name)) return std::string_view(value);
  return std::nullopt;
}

}  // namespace heatblast::http
