// Giving back to the OS the heap that a burst freed (private to the library): see
// ManagerOptions::trim_heap_interval.
#pragma once

#include <cstddef>

namespace heatblast::tasks {

// Whether this build uses glibc's allocator, which keeps freed memory inside the heap until
// malloc_trim(); sanitizer builds replace the allocator and these functions do nothing there.
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33)) && \
    !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#if defined(__has_feature)
#if !__has_feature(address_sanitizer) && !__has_feature(thread_sanitizer) && \
    !__has_feature(memory_sanitizer)
#define HEATBLAST_TRIMMABLE_HEAP 1
#endif
#else
#define HEATBLAST_TRIMMABLE_HEAP 1
#endif
#endif

#ifdef HEATBLAST_TRIMMABLE_HEAP
inline constexpr bool kTrimmableHeap = true;
#else
inline constexpr bool kTrimmableHeap = false;
#endif

// Bytes the allocator holds free (freed by the program, not returned to the OS); 0 without
// glibc's allocator.
std::size_t free_heap_bytes();

// When at least `min_free` bytes are free, returns every whole free page to the OS
// (malloc_trim(0): inside the heap too, not only at its top). True when it trimmed.
bool trim_heap(std::size_t min_free);

}  // namespace heatblast::tasks
