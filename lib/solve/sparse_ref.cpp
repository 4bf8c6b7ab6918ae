#include "convmat/solve/sparse_ref.hpp"

#include "convmat/core/detail/csr_product.hpp"

namespace convmat {

namespace {

// f(arrays): the borrowed arrays as the CSR matrix they are — A itself when `a` is CSR, Aᵀ when
// it is CSC — with 32- or 64-bit row pointers, whichever `a` holds.
template <class Scalar, class F>
void with_csr_arrays(const SparseRef<Scalar>& a, F&& f) {
  const Index rows = a.outer_size(), cols = a.row_major() ? a.cols() : a.rows();
  if (a.outer_index32()) {
    f(detail::CsrArrays<Scalar, std::int32_t>{rows, cols, a.outer_index32(), a.inner_index(),
                                              a.values()});
  } else {
    f(detail::CsrArrays<Scalar, std::int64_t>{rows, cols, a.outer_index64(), a.inner_index(),
                                              a.values()});
  }
}

}  // namespace

template <class Scalar>
void multiply(const SparseRef<Scalar>& a, const Scalar* x, Scalar* y) {
  // CSC holds Aᵀ in CSR: A x = (Aᵀ)ᵀ x.
  with_csr_arrays(a, [&](const auto& csr) {
    if (a.row_major()) {
      detail::csr_multiply(csr, x, y, 1);
    } else {
      detail::csr_multiply_transposed(csr, x, y, 1);
    }
  });
}

template <class Scalar>
void multiply_transposed(const SparseRef<Scalar>& a, const Scalar* y, Scalar* x) {
  multiply(a.transposed(), y, x);
}

template void multiply<float>(const SparseRef<float>&, const float*, float*);
template void multiply<double>(const SparseRef<double>&, const double*, double*);
template void multiply_transposed<float>(const SparseRef<float>&, const float*, float*);
template void multiply_transposed<double>(const SparseRef<double>&, const double*, double*);

}  // namespace convmat
