#include "convmat/core/buffer.hpp"

#include <sys/mman.h>

#include <cstdlib>

namespace convmat::detail {

namespace {
constexpr std::size_t huge_page = std::size_t{2} << 20;
}

void* allocate_large(std::size_t bytes) {
  if (bytes < 4 * huge_page) {
    void* p = std::malloc(bytes);
    if (!p) throw std::bad_alloc();
    return p;
  }
  const std::size_t rounded = (bytes + huge_page - 1) / huge_page * huge_page;
  void* p = std::aligned_alloc(huge_page, rounded);
  if (!p) throw std::bad_alloc();
  madvise(p, rounded, MADV_HUGEPAGE);  // advice only: failure leaves ordinary pages
  return p;
}

void free_large(void* p) noexcept { std::free(p); }

}  // namespace convmat::detail
