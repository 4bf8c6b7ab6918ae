#include "convmat/core/csr_matrix.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "convmat/core/detail/assert.hpp"
#include "convmat/core/detail/csr_product.hpp"
#include "convmat/core/detail/kernel_isa.hpp"
#include "product_kernels.hpp"

namespace convmat {

namespace {

using detail::KernelIsa;
using namespace detail::spmv;

// A kernel computes the rows [r0, r1) of a product with `width` interleaved vectors:
//   multiply:            y[r·w + b]      = Σ_nz val[nz] · x[col[nz]·w + b]
//   multiply_transposed: y[col[nz]·w + b] += val[nz] · x[r·w + b]     (y accumulates)
// RowIndex is the type of the row pointers: CsrMatrix's 64-bit RowPointer, or the 32-bit outer
// indices of an Eigen matrix that a SparseRef borrows.
template <class Scalar, class RowIndex>
using RowKernel = void (*)(const RowIndex* row_ptr, const ColumnIndex* col, const Scalar* val,
                           const Scalar* x, Scalar* y, Index r0, Index r1);

// Software prefetch distance along W's arrays, bytes of column indices ahead. W is streamed once
// per product; the hardware prefetcher alone leaves a core short of memory-level parallelism.
constexpr Index prefetch_bytes = 1024;
constexpr Index prefetch_ahead = prefetch_bytes / sizeof(ColumnIndex);

template <class Scalar>
[[gnu::always_inline]] inline void prefetch_row_arrays(const ColumnIndex* col, const Scalar* val,
                                                       Index nz) {
  __builtin_prefetch(col + nz + prefetch_ahead);
  __builtin_prefetch(val + nz + prefetch_ahead);
  if constexpr (sizeof(Scalar) > sizeof(ColumnIndex)) {
    __builtin_prefetch(val + nz + prefetch_ahead + 64 / sizeof(Scalar));
  }
}

// --- one vector, any CPU: four partial sums per row, so that the additions overlap -----------

template <class Scalar, class RowIndex>
void multiply_one_generic(const RowIndex* row_ptr, const ColumnIndex* col, const Scalar* val,
                          const Scalar* x, Scalar* y, Index r0, Index r1) {
  for (Index r = r0; r < r1; ++r) {
    Scalar s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    Index nz = row_ptr[r];
    const Index end = row_ptr[r + 1];
    for (; nz + 16 <= end; nz += 16) {
      prefetch_row_arrays(col, val, nz);
      for (int k = 0; k < 16; k += 4) {
        s0 += val[nz + k] * x[col[nz + k]];
        s1 += val[nz + k + 1] * x[col[nz + k + 1]];
        s2 += val[nz + k + 2] * x[col[nz + k + 2]];
        s3 += val[nz + k + 3] * x[col[nz + k + 3]];
      }
    }
    for (; nz < end; ++nz) s0 += val[nz] * x[col[nz]];
    y[r] = (s0 + s1) + (s2 + s3);
  }
}

template <class Scalar, class RowIndex>
void multiply_transposed_one_generic(const RowIndex* row_ptr, const ColumnIndex* col,
                                     const Scalar* val, const Scalar* x, Scalar* y, Index r0,
                                     Index r1) {
  for (Index r = r0; r < r1; ++r) {
    const Scalar xr = x[r];
    Index nz = row_ptr[r];
    const Index end = row_ptr[r + 1];
    for (; nz + 16 <= end; nz += 16) {
      prefetch_row_arrays(col, val, nz);
      for (int k = 0; k < 16; ++k) y[col[nz + k]] += val[nz + k] * xr;
    }
    for (; nz < end; ++nz) y[col[nz]] += val[nz] * xr;
  }
}

// --- several interleaved vectors: one SIMD vector of `Width` scalars per nonzero --------------
// Lanes of x (or of the accumulator y) are prefetched this many nonzeros ahead.
constexpr Index x_ahead = 16;

template <int Width, int RegisterBytes, class Scalar, class RowIndex>
[[gnu::always_inline]] inline void multiply_wide_body(const RowIndex* row_ptr,
                                                      const ColumnIndex* col, const Scalar* val,
                                                      const Scalar* x, Scalar* y, Index r0,
                                                      Index r1) {
  for (Index r = r0; r < r1; ++r) {
    LaneBlock<Width, RegisterBytes, Scalar> acc;
    acc.zero();
    Index nz = row_ptr[r];
    const Index end = row_ptr[r + 1];
    for (; nz + 16 <= end; nz += 16) {
      prefetch_row_arrays(col, val, nz);
      for (int k = 0; k < 16; ++k) {
        // The lanes of x that the nonzero 16 places on needs: they come from L2 or L3 (x is
        // cols × Width scalars), and without this the core waits on each in turn.
        const Index ahead = std::min<Index>(nz + k + x_ahead, end - 1);
        __builtin_prefetch(x + static_cast<Index>(col[ahead]) * Width);
        acc.add_scaled(val[nz + k], x + static_cast<Index>(col[nz + k]) * Width);
      }
    }
    for (; nz < end; ++nz) acc.add_scaled(val[nz], x + static_cast<Index>(col[nz]) * Width);
    acc.store(y + r * Width);
  }
}

template <int Width, int RegisterBytes, class Scalar, class RowIndex>
[[gnu::always_inline]] inline void multiply_transposed_wide_body(const RowIndex* row_ptr,
                                                                 const ColumnIndex* col,
                                                                 const Scalar* val, const Scalar* x,
                                                                 Scalar* y, Index r0, Index r1) {
  for (Index r = r0; r < r1; ++r) {
    LaneBlock<Width, RegisterBytes, Scalar> xr;
    xr.load(x + r * Width);
    Index nz = row_ptr[r];
    const Index end = row_ptr[r + 1];
    for (; nz < end; ++nz) {
      if ((nz & 15) == 0) prefetch_row_arrays(col, val, nz);
      if (nz + x_ahead < end) {
        __builtin_prefetch(y + static_cast<Index>(col[nz + x_ahead]) * Width, 1);
      }
      Scalar* yc = y + static_cast<Index>(col[nz]) * Width;
      LaneBlock<Width, RegisterBytes, Scalar> acc;
      acc.load(yc);
      acc.add_scaled(val[nz], xr);
      acc.store(yc);
    }
  }
}

// One instantiation per instruction set of every body above.
#define CONVMAT_WIDE_KERNELS(suffix, target, register_bytes)                                   \
  template <int Width, class Scalar, class RowIndex>                                           \
  target void multiply_wide_##suffix(const RowIndex* rp, const ColumnIndex* col,               \
                                     const Scalar* val, const Scalar* x, Scalar* y, Index r0,  \
                                     Index r1) {                                               \
    multiply_wide_body<Width, register_bytes>(rp, col, val, x, y, r0, r1);                     \
  }                                                                                            \
  template <int Width, class Scalar, class RowIndex>                                           \
  target void multiply_transposed_wide_##suffix(const RowIndex* rp, const ColumnIndex* col,    \
                                                const Scalar* val, const Scalar* x, Scalar* y, \
                                                Index r0, Index r1) {                          \
    multiply_transposed_wide_body<Width, register_bytes>(rp, col, val, x, y, r0, r1);          \
  }

CONVMAT_WIDE_KERNELS(generic, , 16)
#if CONVMAT_X86
CONVMAT_WIDE_KERNELS(avx2, CONVMAT_TARGET_AVX2, 32)
CONVMAT_WIDE_KERNELS(avx512, CONVMAT_TARGET_AVX512, 64)
#endif

template <class Scalar, class RowIndex>
struct KernelSet {
  RowKernel<Scalar, RowIndex> multiply[WidthSequence::size()];
  RowKernel<Scalar, RowIndex> multiply_transposed[WidthSequence::size()];
};

// The kernels of one instruction set at every width. One vector (width 1) uses the generic kernels
// everywhere: gathering x with AVX2 (8 lanes) measured 1.5–3× slower than four scalar partial sums
// with prefetching on this Cascade Lake, and AVX-512 gathers (16 lanes) no faster overall; the
// scatter of Wᵀ·y has no gather-free vector form.
#define CONVMAT_KERNEL_SET(suffix)                                                           \
  template <class Scalar, class RowIndex, int... W>                                          \
  constexpr KernelSet<Scalar, RowIndex> kernels_##suffix(std::integer_sequence<int, W...>) { \
    return {{(W == 1 ? &multiply_one_generic<Scalar, RowIndex>                               \
                     : &multiply_wide_##suffix<W, Scalar, RowIndex>)...},                    \
            {(W == 1 ? &multiply_transposed_one_generic<Scalar, RowIndex>                    \
                     : &multiply_transposed_wide_##suffix<W, Scalar, RowIndex>)...}};        \
  }

CONVMAT_KERNEL_SET(generic)
#if CONVMAT_X86
CONVMAT_KERNEL_SET(avx2)
CONVMAT_KERNEL_SET(avx512)
#endif

template <class Scalar, class RowIndex>
const KernelSet<Scalar, RowIndex>& kernels() {
  static const KernelSet<Scalar, RowIndex> generic =
      kernels_generic<Scalar, RowIndex>(WidthSequence{});
#if CONVMAT_X86
  static const KernelSet<Scalar, RowIndex> avx2 = kernels_avx2<Scalar, RowIndex>(WidthSequence{});
  static const KernelSet<Scalar, RowIndex> avx512 =
      kernels_avx512<Scalar, RowIndex>(WidthSequence{});
  switch (detail::kernel_isa()) {
    case KernelIsa::avx512: return avx512;
    case KernelIsa::avx2: return avx2;
    case KernelIsa::generic: break;
  }
#endif
  return generic;
}

// What the kernels rely on, checked in debug builds when a CsrMatrix is made: rows + 1 row
// pointers from 0, non-decreasing; nnz column indices, ascending within each row and below cols.
[[maybe_unused]] void check_structure(const SparsityPattern& s) {
  CONVMAT_ASSERT(s.rows >= 0 && s.cols >= 0, "CsrMatrix: a shape");
  CONVMAT_ASSERT(s.row_ptr.size() == static_cast<std::size_t>(s.rows + 1),
                 "CsrMatrix: rows + 1 row pointers");
  CONVMAT_ASSERT(s.row_ptr[0] == 0, "CsrMatrix: row pointers start at 0");
  CONVMAT_ASSERT(s.col.size() == static_cast<std::size_t>(s.nnz()),
                 "CsrMatrix: one column index per nonzero");
  for (Index r = 0; r < s.rows; ++r) {
    const RowPointer begin = s.row_ptr[static_cast<std::size_t>(r)],
                     end = s.row_ptr[static_cast<std::size_t>(r + 1)];
    CONVMAT_ASSERT(begin <= end, "CsrMatrix: row pointers non-decreasing");
    for (RowPointer k = begin; k < end; ++k) {
      const ColumnIndex c = s.col[static_cast<std::size_t>(k)];
      CONVMAT_ASSERT(c >= 0 && c < s.cols, "CsrMatrix: column index out of range");
      CONVMAT_ASSERT(k == begin || s.col[static_cast<std::size_t>(k - 1)] < c,
                     "CsrMatrix: columns ascending within a row");
    }
  }
}

}  // namespace

namespace detail {

template <class Scalar, class RowIndex>
void csr_multiply(const CsrArrays<Scalar, RowIndex>& a, const Scalar* x, Scalar* y, Index batch) {
  CONVMAT_ASSERT(a.row_ptr != nullptr && batch >= 0, "csr_multiply: a matrix and a batch");
  const auto& k = kernels<Scalar, RowIndex>();
  batched<Scalar>(batch, a.cols, a.rows, x, y, [&](int width, const Scalar* xs, Scalar* ys) {
    const RowKernel<Scalar, RowIndex> kernel = k.multiply[width_slot(width)];
    for_row_blocks(a.row_ptr, a.rows, [&](int, int, Index r0, Index r1) {
      kernel(a.row_ptr, a.col, a.val, xs, ys, r0, r1);
    });
  });
}

template <class Scalar, class RowIndex>
void csr_multiply_transposed(const CsrArrays<Scalar, RowIndex>& a, const Scalar* x, Scalar* y,
                             Index batch) {
  CONVMAT_ASSERT(a.row_ptr != nullptr && batch >= 0,
                 "csr_multiply_transposed: a matrix and a batch");
  const auto& k = kernels<Scalar, RowIndex>();
  const Index m = a.rows, n = a.cols;
  batched<Scalar>(batch, m, n, x, y, [&](int width, const Scalar* xs, Scalar* ys) {
    const RowKernel<Scalar, RowIndex> kernel = k.multiply_transposed[width_slot(width)];
    const Index len = n * width;
    const int threads = thread_count(a.row_ptr[m]);
    if (threads == 1) {
      std::fill(ys, ys + len, Scalar(0));
      kernel(a.row_ptr, a.col, a.val, xs, ys, 0, m);
      return;
    }
    // Thread 0 accumulates into ys itself, the others into private copies summed at the end:
    // (threads − 1) · cols · width scalars of scratch, A itself is never copied.
    Buffer<Scalar> partial(static_cast<std::size_t>(len * (threads - 1)));
    for_row_blocks(a.row_ptr, m, [&](int t, int nt, Index r0, Index r1) {
      Scalar* acc = t == 0 ? ys : partial.data() + (t - 1) * len;
      // Each thread zeroes its share of every accumulator, then all of them are ready.
      for (int b = 0; b < nt; ++b) {
        Scalar* buf = b == 0 ? ys : partial.data() + (b - 1) * len;
        std::fill(buf + len * t / nt, buf + len * (t + 1) / nt, Scalar(0));
      }
#pragma omp barrier
      kernel(a.row_ptr, a.col, a.val, xs, acc, r0, r1);
#pragma omp barrier
      for (int b = 1; b < nt; ++b) {
        const Scalar* buf = partial.data() + (b - 1) * len;
        for (Index i = len * t / nt; i < len * (t + 1) / nt; ++i) ys[i] += buf[i];
      }
    });
  });
}

template void csr_multiply(const CsrArrays<float, RowPointer>&, const float*, float*, Index);
template void csr_multiply(const CsrArrays<double, RowPointer>&, const double*, double*, Index);
template void csr_multiply(const CsrArrays<float, std::int32_t>&, const float*, float*, Index);
template void csr_multiply(const CsrArrays<double, std::int32_t>&, const double*, double*, Index);
template void csr_multiply_transposed(const CsrArrays<float, RowPointer>&, const float*, float*,
                                      Index);
template void csr_multiply_transposed(const CsrArrays<double, RowPointer>&, const double*, double*,
                                      Index);
template void csr_multiply_transposed(const CsrArrays<float, std::int32_t>&, const float*, float*,
                                      Index);
template void csr_multiply_transposed(const CsrArrays<double, std::int32_t>&, const double*,
                                      double*, Index);

}  // namespace detail

template <class Scalar>
CsrMatrix<Scalar>::CsrMatrix(std::shared_ptr<const SparsityPattern> pattern, Buffer<Scalar> values)
    : pattern_(std::move(pattern)), values_(std::move(values)) {
  if (!pattern_) throw std::invalid_argument("CsrMatrix needs a sparsity pattern");
  if (static_cast<Index>(values_.size()) != pattern_->nnz()) {
    throw std::invalid_argument("CsrMatrix values must have one entry per nonzero, got " +
                                std::to_string(values_.size()) + " values for " +
                                std::to_string(pattern_->nnz()) + " nonzeros");
  }
  if constexpr (detail::assertions_enabled) check_structure(*pattern_);
}

template <class Scalar>
std::size_t CsrMatrix<Scalar>::memory_bytes() const {
  if (!pattern_) return 0;
  return pattern_->row_ptr.size() * sizeof(RowPointer) +
         pattern_->col.size() * sizeof(ColumnIndex) + values_.size() * sizeof(Scalar);
}

template <class Scalar>
void CsrMatrix<Scalar>::multiply(const Scalar* x, Scalar* y, Index batch) const {
  CONVMAT_ASSERT(pattern_, "CsrMatrix::multiply on an empty CsrMatrix");
  detail::csr_multiply(arrays(), x, y, batch);
}

template <class Scalar>
void CsrMatrix<Scalar>::multiply_transposed(const Scalar* x, Scalar* y, Index batch) const {
  CONVMAT_ASSERT(pattern_, "CsrMatrix::multiply_transposed on an empty CsrMatrix");
  detail::csr_multiply_transposed(arrays(), x, y, batch);
}

template <class Scalar>
typename CsrMatrix<Scalar>::RowMajorEigen CsrMatrix<Scalar>::to_eigen() const {
  if (nnz() > max_vector_length) {
    throw std::length_error("Eigen's 32-bit indices cannot hold " + std::to_string(nnz()) +
                            " nonzeros (at most 2^31 - 1)");
  }
  RowMajorEigen a(rows(), cols());
  a.resizeNonZeros(nnz());
  std::copy(row_ptr(), row_ptr() + rows() + 1, a.outerIndexPtr());
  std::copy(col_index(), col_index() + nnz(), a.innerIndexPtr());
  std::copy(values(), values() + nnz(), a.valuePtr());
  return a;
}

template <class Scalar>
typename CsrMatrix<Scalar>::RowMajorEigen CsrMatrix<Scalar>::to_eigen_transposed() const {
  if (nnz() > max_vector_length) {
    throw std::length_error("Eigen's 32-bit indices cannot hold " + std::to_string(nnz()) +
                            " nonzeros (at most 2^31 - 1)");
  }
  // Aᵀ in CSR is A in CSC: count the entries of each column, prefix-sum, then place them in row
  // order, which keeps every output row sorted.
  const Index m = rows(), n = cols(), z = nnz();
  RowMajorEigen t(n, m);
  t.resizeNonZeros(z);
  int* start = t.outerIndexPtr();
  std::fill(start, start + n + 1, 0);
  for (Index k = 0; k < z; ++k) ++start[col_index()[k] + 1];
  for (Index c = 0; c < n; ++c) start[c + 1] += start[c];
  std::vector<int> next(start, start + n);
  for (Index r = 0; r < m; ++r) {
    for (RowPointer k = row_ptr()[r]; k < row_ptr()[r + 1]; ++k) {
      const int dst = next[static_cast<std::size_t>(col_index()[k])]++;
      t.innerIndexPtr()[dst] = static_cast<int>(r);
      t.valuePtr()[dst] = values()[k];
    }
  }
  return t;
}

template class CsrMatrix<float>;
template class CsrMatrix<double>;

}  // namespace convmat
