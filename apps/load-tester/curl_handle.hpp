// RAII owners of libcurl easy handles and header lists: what load-worker's reports to the
// load-tester use (private to load-worker).
#pragma once

#include <curl/curl.h>

#include <cstddef>
#include <memory>

namespace heatblast::load {

struct CurlDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
using CurlHandle = std::unique_ptr<CURL, CurlDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using CurlSlist = std::unique_ptr<curl_slist, SlistDeleter>;

}  // namespace heatblast::load
