#include "convmat/analysis/dense_limit.hpp"

#include <stdexcept>
#include <string>

namespace convmat {

void check_dense_size(const char* what, Index rows, Index cols) {
  // rows, cols < 2³¹ each (Eigen's int indices), so the product fits in 64 bits.
  if (rows * cols > dense_entry_limit) {
    throw std::invalid_argument(
        std::string(what) + ": a dense " + std::to_string(rows) + "x" + std::to_string(cols) +
        " matrix has " + std::to_string(rows * cols) + " entries, more than the dense limit of " +
        std::to_string(dense_entry_limit) + " (2^22) entries");
  }
}

}  // namespace convmat
