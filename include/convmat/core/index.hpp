#pragma once
// The index types of every layer, matrix and array in convmat.

#include <cstdint>
#include <string>
#include <vector>

namespace convmat {

using Index = std::int64_t;
using Dims = std::vector<Index>;  // a shape, or one value per spatial axis

// Column indices of W are 32-bit (W·x reads one per nonzero, so this halves their traffic);
// row pointers are 64-bit, so the number of nonzeros is not limited by 2³¹.
using ColumnIndex = std::int32_t;
using RowPointer = std::int64_t;
inline constexpr Index max_vector_length = 2147483647;  // 2³¹ − 1: rows, columns, weights

// "3x3", "1x2x3": the style used in messages.
std::string dims_to_string(const Dims& dims);

// The multi-index of the C-order flat index `flat` in an array of `shape` (np.unravel_index).
Dims unravel_index(Index flat, const Dims& shape);

}  // namespace convmat
