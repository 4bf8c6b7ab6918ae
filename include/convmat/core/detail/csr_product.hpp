#pragma once
// The CSR products: one implementation behind CsrMatrix (csr_matrix.hpp: 64-bit row pointers) and
// SparseRef (solve/sparse_ref.hpp: also the 32-bit outer indices of an Eigen matrix it borrows).
// Shapes and parallelism as csr_matrix.hpp describes; the kernels per instruction set are chosen
// as detail/kernel_isa.hpp says. Not public API: use CsrMatrix or SparseRef.

#include <cstdint>

#include "convmat/core/index.hpp"

namespace convmat::detail {

// A CSR matrix's arrays, borrowed: row r holds the entries [row_ptr[r], row_ptr[r + 1]) of `col`
// (ascending) and `val`.
template <class Scalar, class RowIndex>
struct CsrArrays {
  Index rows = 0;
  Index cols = 0;
  const RowIndex* row_ptr = nullptr;  // rows + 1 entries
  const ColumnIndex* col = nullptr;   // row_ptr[rows] entries
  const Scalar* val = nullptr;        // row_ptr[rows] entries
};

// y = A x    x: batch × cols, y: batch × rows (C order)
template <class Scalar, class RowIndex>
void csr_multiply(const CsrArrays<Scalar, RowIndex>& a, const Scalar* x, Scalar* y, Index batch);
// y = Aᵀ x   x: batch × rows, y: batch × cols
template <class Scalar, class RowIndex>
void csr_multiply_transposed(const CsrArrays<Scalar, RowIndex>& a, const Scalar* x, Scalar* y,
                             Index batch);

// Row pointers: RowPointer (CsrMatrix) or std::int32_t (Eigen's outer indices).
extern template void csr_multiply(const CsrArrays<float, RowPointer>&, const float*, float*, Index);
extern template void csr_multiply(const CsrArrays<double, RowPointer>&, const double*, double*,
                                  Index);
extern template void csr_multiply(const CsrArrays<float, std::int32_t>&, const float*, float*,
                                  Index);
extern template void csr_multiply(const CsrArrays<double, std::int32_t>&, const double*, double*,
                                  Index);
extern template void csr_multiply_transposed(const CsrArrays<float, RowPointer>&, const float*,
                                             float*, Index);
extern template void csr_multiply_transposed(const CsrArrays<double, RowPointer>&, const double*,
                                             double*, Index);
extern template void csr_multiply_transposed(const CsrArrays<float, std::int32_t>&, const float*,
                                             float*, Index);
extern template void csr_multiply_transposed(const CsrArrays<double, std::int32_t>&, const double*,
                                             double*, Index);

}  // namespace convmat::detail
