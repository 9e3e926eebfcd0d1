# http layer: outbound on libcurl (multi interface driven from Asio), inbound on Boost.Beast.
# Asio types appear in the public headers (http_client.hpp, http_server.hpp): Boost and Threads
# are PUBLIC; curl stays PRIVATE (no curl in public headers).
find_package(CURL REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(Threads REQUIRED)

target_sources(heatblast PRIVATE
  src/http/headers.cpp
  src/http/curl_errors.cpp
  src/http/client.cpp
  src/http/server.cpp)
target_link_libraries(heatblast
  PUBLIC Boost::headers Threads::Threads
  PRIVATE CURL::libcurl)
