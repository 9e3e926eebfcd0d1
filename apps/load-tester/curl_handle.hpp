// RAII owners of libcurl easy handles and header lists, and a write callback that drops the
// body: what the HTTP target and the figures report share (private to load-worker).
#pragma once

#include <curl/curl.h>

#include <cstddef>
#include <memory>

namespace heatblast::load {

inline std::size_t discard_body(char*, std::size_t size, std::size_t n, void*) {
  return size * n;
}

struct CurlDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
using CurlHandle = std::unique_ptr<CURL, CurlDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using CurlSlist = std::unique_ptr<curl_slist, SlistDeleter>;

}  // namespace heatblast::load
