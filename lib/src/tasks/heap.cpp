#include "tasks/heap.hpp"

#ifdef HEATBLAST_TRIMMABLE_HEAP
#include <malloc.h>
#endif

namespace heatblast::tasks {

std::size_t free_heap_bytes() {
#ifdef HEATBLAST_TRIMMABLE_HEAP
  return mallinfo2().fordblks;
#else
  return 0;
#endif
}

bool trim_heap(std::size_t min_free) {
#ifdef HEATBLAST_TRIMMABLE_HEAP
  if (free_heap_bytes() < min_free) return false;
  malloc_trim(0);
  return true;
#else
  (void)min_free;
  return false;
#endif
}

}  // namespace heatblast::tasks
