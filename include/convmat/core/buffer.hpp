#pragma once
// Buffer<T>: a fixed-size heap array that is not zero-filled on allocation.
//
// W's arrays hold 10⁸–10⁹ entries that the builder writes exactly once; std::vector would write
// each of them twice (zero-fill, then the value). Buffer leaves them uninitialized until written.
// Large buffers are 2 MiB-aligned and ask the kernel for transparent huge pages, which cuts the
// page faults of a first write by 512 (they dominated building W).

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>

#include "convmat/core/detail/assert.hpp"

namespace convmat {

namespace detail {
void* allocate_large(std::size_t bytes);  // aligned, huge pages advised; throws std::bad_alloc
void free_large(void* p) noexcept;
struct FreeLarge {
  void operator()(void* p) const noexcept { free_large(p); }
};
}  // namespace detail

template <class T>
class Buffer {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>,
                "Buffer holds plain numbers");

 public:
  Buffer() = default;
  explicit Buffer(std::size_t n)
      : data_(n ? static_cast<T*>(detail::allocate_large(bytes_for(n))) : nullptr), size_(n) {}

  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& operator[](std::size_t i) {
    CONVMAT_ASSERT(i < size_, "Buffer index out of range");
    return data_.get()[i];
  }
  const T& operator[](std::size_t i) const {
    CONVMAT_ASSERT(i < size_, "Buffer index out of range");
    return data_.get()[i];
  }
  T* begin() { return data(); }
  T* end() { return data() + size_; }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size_; }

 private:
  static std::size_t bytes_for(std::size_t n) {
    if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_alloc();
    return n * sizeof(T);
  }
  std::unique_ptr<T, detail::FreeLarge> data_;
  std::size_t size_ = 0;
};

}  // namespace convmat
