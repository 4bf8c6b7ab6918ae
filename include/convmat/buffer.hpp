#pragma once
// Buffer<T>: a fixed-size heap array that is not zero-filled on allocation.
//
// W's arrays hold 10⁸–10⁹ entries that the builder writes exactly once; std::vector would write
// each of them twice (zero-fill, then the value). Buffer leaves them uninitialized until written.

#include <cstddef>
#include <memory>

namespace convmat {

template <class T>
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(std::size_t n) : data_(n ? std::make_unique_for_overwrite<T[]>(n) : nullptr), size_(n) {}

  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }
  T* begin() { return data(); }
  T* end() { return data() + size_; }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size_; }

 private:
  std::unique_ptr<T[]> data_;
  std::size_t size_ = 0;
};

}  // namespace convmat
