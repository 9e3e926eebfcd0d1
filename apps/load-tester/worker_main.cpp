// load-worker: what each load-tester task runs (see worker.hpp). Exit 0 when its share ran and
// its figures reached the load-tester; 1 with a message otherwise; 2 on bad flags.
#include <curl/curl.h>

#include <cstdio>

#include "worker.hpp"

int main(int argc, char** argv) {
  namespace load = heatblast::load;
  auto options = load::parse_worker_flags(std::vector<std::string>(argv + 1, argv + argc));
  if (!options) {
    std::fprintf(stderr, "load-worker: %s\n", options.error().what().c_str());
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  auto figures = load::run_worker(*options);
  curl_global_cleanup();
  if (!figures) {
    std::fprintf(stderr, "load-worker: %s\n", figures.error().what().c_str());
    return 1;
  }
  const double seconds = static_cast<double>(figures->duration_us) / 1e6;
  std::fprintf(stderr, "load-worker: %llu queries, %llu errors in %.3f s (%.0f queries/s)\n",
               static_cast<unsigned long long>(figures->queries),
               static_cast<unsigned long long>(figures->errors), seconds,
               seconds > 0 ? static_cast<double>(figures->queries) / seconds : 0.0);
  return 0;
}
