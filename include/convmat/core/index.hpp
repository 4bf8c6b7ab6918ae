#pragma once
// The index types of every layer, matrix and array in convmat.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace convmat {

using Index = std::int64_t;
using Dims = std::vector<Index>;  // a shape, or one value per spatial axis

// Column indices of W are 32-bit (W·x reads one per nonzero, so this halves their traffic);
// row pointers are 64-bit, so the number of nonzeros is not limited by 2³¹.
using ColumnIndex = std::int32_t;
using RowPointer = std::int64_t;
inline constexpr Index max_vector_length = 2147483647;  // 2³¹ − 1: rows, columns, weights

// Dims as text, in the three forms messages and reports use:
//   dims_to_string  "3x3", "1x2x3" (sizes; "3 x 3" with separator " x ")
//   dims_to_list    "[1, 2, 3]"    (values and indices, as Python prints a list)
//   dims_to_tuple   "(1, 16, 4, 4)", "(5,)", "()"  (shapes, as Python prints a tuple)
std::string dims_to_string(const Dims& dims, std::string_view separator = "x");
std::string dims_to_list(const Dims& dims);
std::string dims_to_tuple(const Dims& dims);

// The multi-index of the C-order flat index `flat` in an array of `shape` (np.unravel_index).
Dims unravel_index(Index flat, const Dims& shape);

}  // namespace convmat
