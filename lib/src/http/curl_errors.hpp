// The one place where libcurl result codes become heatblast errors.
#pragma once

#include <string_view>

#include <curl/curl.h>

#include "heatblast/error.hpp"

namespace heatblast::http {

// The errc for a failed transfer's CURLcode (never called with CURLE_OK).
errc errc_from_curl(CURLcode code) noexcept;

// An Error for a failed transfer: the mapped errc, and a message that names the request and
// keeps curl's own text, e.g. "POST 'http://m:5050/api/v1/scheduler': Failed to connect to m
// port 5050 after 0 ms: Connection refused (curl error 7)". `detail` is the transfer's
// CURLOPT_ERRORBUFFER, used when non-empty, else curl_easy_strerror(code).
Error curl_error(CURLcode code, std::string_view method, std::string_view url,
                 std::string_view detail);

}  // namespace heatblast::http
