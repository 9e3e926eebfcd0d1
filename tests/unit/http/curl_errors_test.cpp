// The CURLcode -> errc table (lib/src/http/curl_errors.cpp), for codes a loopback test cannot
// provoke reliably.
#include <catch2/catch.hpp>

#include "http/curl_errors.hpp"

using heatblast::errc;
using heatblast::http::curl_error;
using heatblast::http::errc_from_curl;

TEST_CASE("curl codes map to errc", "[http][curl]") {
  CHECK(errc_from_curl(CURLE_COULDNT_CONNECT) == errc::connection_refused);
  CHECK(errc_from_curl(CURLE_COULDNT_RESOLVE_HOST) == errc::resolve_failed);
  CHECK(errc_from_curl(CURLE_COULDNT_RESOLVE_PROXY) == errc::resolve_failed);
  CHECK(errc_from_curl(CURLE_OPERATION_TIMEDOUT) == errc::timeout);
  CHECK(errc_from_curl(CURLE_SSL_CONNECT_ERROR) == errc::tls_error);
  CHECK(errc_from_curl(CURLE_PEER_FAILED_VERIFICATION) == errc::tls_error);
  CHECK(errc_from_curl(CURLE_SSL_CACERT_BADFILE) == errc::tls_error);
  CHECK(errc_from_curl(CURLE_PARTIAL_FILE) == errc::transport_error);
  CHECK(errc_from_curl(CURLE_RECV_ERROR) == errc::transport_error);
  CHECK(errc_from_curl(CURLE_SEND_ERROR) == errc::transport_error);
  CHECK(errc_from_curl(CURLE_GOT_NOTHING) == errc::transport_error);
  CHECK(errc_from_curl(CURLE_WEIRD_SERVER_REPLY) == errc::protocol_error);
  CHECK(errc_from_curl(CURLE_FILESIZE_EXCEEDED) == errc::body_too_large);
  CHECK(errc_from_curl(CURLE_URL_MALFORMAT) == errc::invalid_argument);
  CHECK(errc_from_curl(CURLE_OUT_OF_MEMORY) == errc::io_error);
}

TEST_CASE("curl errors keep curl's text and name the request", "[http][curl]") {
  auto e = curl_error(CURLE_COULDNT_RESOLVE_HOST, "POST", "http://m1:5050/api/v1/scheduler",
                      "Could not resolve host: m1");
  CHECK(e.code == errc::resolve_failed);
  CHECK(e.message ==
        "POST 'http://m1:5050/api/v1/scheduler': Could not resolve host: m1 (curl error 6)");
  auto bare = curl_error(CURLE_OPERATION_TIMEDOUT, "GET", "http://x/", "");
  CHECK_THAT(bare.message, Catch::Contains(curl_easy_strerror(CURLE_OPERATION_TIMEDOUT)));
  CHECK(bare.code.message() == "timed out");
}
