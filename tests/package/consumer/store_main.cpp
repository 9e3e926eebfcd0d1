// A user's program that keeps its framework id in the installed heatblast::store.
#include <cstdio>

#include <heatblast/store.hpp>

int main() {
  auto store = heatblast::store::SqliteStore::open(":memory:");
  if (!store || !(*store)->set_framework_id("fw-1")) {
    std::printf("consumer_store failed to open or write\n");
    return 1;
  }
  auto id = (*store)->framework_id();
  if (!id || !*id || **id != "fw-1") {
    std::printf("consumer_store read back nothing\n");
    return 1;
  }
  std::printf("consumer_store ok\n");
  return 0;
}
