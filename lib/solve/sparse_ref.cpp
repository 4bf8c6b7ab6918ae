#include "convmat/solve/sparse_ref.hpp"

#include <algorithm>

namespace convmat {

namespace {

// y[j] = Σ_k value[k]·x[inner[k]] over the entries of outer index j: A x for CSR, Aᵀ y for CSC.
template <class Scalar>
void gather(const SparseRef<Scalar>& a, const Scalar* x, Scalar* y) {
  const Index n = a.outer_size();
#pragma omp parallel for schedule(static) if (a.nnz() > 65536)
  for (Index j = 0; j < n; ++j) {
    Scalar s = 0;
    for (Index k = a.outer(j); k < a.outer(j + 1); ++k) s += a.value(k) * x[a.inner(k)];
    y[j] = s;
  }
}

// y[inner[k]] += value[k]·x[j]: Aᵀ y for CSR, A x for CSC (serial: the writes collide).
template <class Scalar>
void scatter(const SparseRef<Scalar>& a, const Scalar* x, Scalar* y, Index y_size) {
  std::fill(y, y + y_size, Scalar(0));
  const Index n = a.outer_size();
  for (Index j = 0; j < n; ++j) {
    const Scalar xj = x[j];
    for (Index k = a.outer(j); k < a.outer(j + 1); ++k) y[a.inner(k)] += a.value(k) * xj;
  }
}

}  // namespace

template <class Scalar>
void multiply(const SparseRef<Scalar>& a, const Scalar* x, Scalar* y) {
  if (a.row_major()) {
    gather(a, x, y);
  } else {
    scatter(a, x, y, a.rows());
  }
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
