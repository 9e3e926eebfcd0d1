#include "http/curl_errors.hpp"

#include <string>

#include <fmt/format.h>

namespace heatblast::http {

errc errc_from_curl(CURLcode code) noexcept {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
      return errc::connection_refused;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return errc::resolve_failed;
    case CURLE_OPERATION_TIMEDOUT:
      return errc::timeout;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
      return errc::tls_error;
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_QUIC_CONNECT_ERROR:
      return errc::transport_error;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return errc::protocol_error;
    case CURLE_FILESIZE_EXCEEDED:
      return errc::body_too_large;
    case CURLE_URL_MALFORMAT:
    case CURLE_BAD_FUNCTION_ARGUMENT:
      return errc::invalid_argument;
    default:
      return errc::io_error;
  }
}

Error curl_error(CURLcode code, std::string_view method, std::string_view url,
                 std::string_view detail) {
  if (detail.empty()) detail = curl_easy_strerror(code);
  return Error(errc_from_curl(code), fmt::format("{} '{}': {} (curl error {})", method, url, detail,
                                                 static_cast<int>(code)));
}

}  // namespace heatblast::http
