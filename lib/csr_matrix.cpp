#include "convmat/csr_matrix.hpp"

#include <omp.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

namespace convmat {

namespace {

// Threads for a product over `nnz` nonzeros: one per 64 Ki nonzeros at most, so that small
// products do not pay for waking threads.
int thread_count(Index nnz) {
  return static_cast<int>(std::clamp<Index>(nnz / 65536, 1, omp_get_max_threads()));
}

// Rows are split into one contiguous block per thread by nonzero count, so that threads read
// equal shares of W (a row count split would unbalance layers whose border rows are short).
template <class F>
void for_row_blocks(const RowPointer* row_ptr, Index rows, F&& body) {
  const Index nnz = row_ptr[rows];
#pragma omp parallel num_threads(thread_count(nnz))
  {
    const int t = omp_get_thread_num();
    const int nt = omp_get_num_threads();
    const RowPointer lo = nnz * t / nt, hi = nnz * (t + 1) / nt;
    const Index r0 = std::lower_bound(row_ptr, row_ptr + rows, lo) - row_ptr;
    const Index r1 = t + 1 == nt ? rows : std::lower_bound(row_ptr, row_ptr + rows, hi) - row_ptr;
    body(t, nt, r0, r1);
  }
}

// y[r·B + b] = Σ_nz val[nz] · x[col[nz]·B + b] for the rows [r0, r1): B interleaved vectors.
template <int B, class Scalar>
void spmm_rows(const RowPointer* row_ptr, const ColumnIndex* col, const Scalar* val,
               const Scalar* x, Scalar* y, Index r0, Index r1) {
  for (Index r = r0; r < r1; ++r) {
    Scalar acc[B] = {};
    for (RowPointer nz = row_ptr[r]; nz < row_ptr[r + 1]; ++nz) {
      const Scalar v = val[nz];
      const Scalar* xc = x + static_cast<Index>(col[nz]) * B;
      for (int b = 0; b < B; ++b) acc[b] += v * xc[b];
    }
    for (int b = 0; b < B; ++b) y[r * B + b] = acc[b];
  }
}

// y[col[nz]·B + b] += val[nz] · x[r·B + b] for the rows [r0, r1).
template <int B, class Scalar>
void spmm_transposed_rows(const RowPointer* row_ptr, const ColumnIndex* col, const Scalar* val,
                          const Scalar* x, Scalar* y, Index r0, Index r1) {
  for (Index r = r0; r < r1; ++r) {
    Scalar xr[B];
    for (int b = 0; b < B; ++b) xr[b] = x[r * B + b];
    for (RowPointer nz = row_ptr[r]; nz < row_ptr[r + 1]; ++nz) {
      const Scalar v = val[nz];
      Scalar* yc = y + static_cast<Index>(col[nz]) * B;
      for (int b = 0; b < B; ++b) yc[b] += v * xr[b];
    }
  }
}

// Interleave `width` vectors of length n (each contiguous, starting `stride` apart) into
// n × width, and back.
template <class Scalar>
void interleave(const Scalar* src, Index n, Index stride, int width, Scalar* dst) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (Index i = 0; i < n; ++i) {
    for (int b = 0; b < width; ++b) dst[i * width + b] = src[b * stride + i];
  }
}

template <class Scalar>
void deinterleave(const Scalar* src, Index n, int width, Scalar* dst, Index stride) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (Index i = 0; i < n; ++i) {
    for (int b = 0; b < width; ++b) dst[b * stride + i] = src[i * width + b];
  }
}

constexpr int max_width = 8;

template <class Scalar, class Kernel1, class KernelN>
void batched(Index batch, Index in_len, Index out_len, const Scalar* x, Scalar* y,
             Kernel1&& single, KernelN&& multi) {
  if (batch == 1) {
    single(x, y);
    return;
  }
  std::vector<Scalar> xi, yi;
  for (Index b0 = 0; b0 < batch; b0 += max_width) {
    const int width = static_cast<int>(std::min<Index>(max_width, batch - b0));
    if (width == 1) {
      single(x + b0 * in_len, y + b0 * out_len);
      continue;
    }
    xi.resize(static_cast<std::size_t>(in_len * width));
    yi.resize(static_cast<std::size_t>(out_len * width));
    interleave(x + b0 * in_len, in_len, in_len, width, xi.data());
    multi(width, xi.data(), yi.data());
    deinterleave(yi.data(), out_len, width, y + b0 * out_len, out_len);
  }
}

template <class Scalar, class F>
void dispatch_width(int width, F&& f) {
  switch (width) {
    case 1: f(std::integral_constant<int, 1>{}); break;
    case 2: f(std::integral_constant<int, 2>{}); break;
    case 3: f(std::integral_constant<int, 3>{}); break;
    case 4: f(std::integral_constant<int, 4>{}); break;
    case 5: f(std::integral_constant<int, 5>{}); break;
    case 6: f(std::integral_constant<int, 6>{}); break;
    case 7: f(std::integral_constant<int, 7>{}); break;
    default: f(std::integral_constant<int, 8>{}); break;
  }
}

}  // namespace

template <class Scalar>
CsrMatrix<Scalar>::CsrMatrix(std::shared_ptr<const SparsityPattern> pattern, Buffer<Scalar> values)
    : pattern_(std::move(pattern)), values_(std::move(values)) {
  if (!pattern_) throw std::invalid_argument("CsrMatrix needs a sparsity pattern");
  if (static_cast<Index>(values_.size()) != pattern_->nnz()) {
    throw std::invalid_argument("CsrMatrix values must have one entry per nonzero, got " +
                                std::to_string(values_.size()) + " values for " +
                                std::to_string(pattern_->nnz()) + " nonzeros");
  }
}

template <class Scalar>
std::size_t CsrMatrix<Scalar>::memory_bytes() const {
  if (!pattern_) return 0;
  return pattern_->row_ptr.size() * sizeof(RowPointer) + pattern_->col.size() * sizeof(ColumnIndex) +
         values_.size() * sizeof(Scalar);
}

template <class Scalar>
void CsrMatrix<Scalar>::multiply(const Scalar* x, Scalar* y, Index batch) const {
  const RowPointer* rp = row_ptr();
  const ColumnIndex* ci = col_index();
  const Scalar* v = values();
  const Index m = rows();
  auto run = [&](auto width, const Scalar* xs, Scalar* ys) {
    constexpr int B = decltype(width)::value;
    for_row_blocks(rp, m, [&](int, int, Index r0, Index r1) {
      spmm_rows<B>(rp, ci, v, xs, ys, r0, r1);
    });
  };
  batched<Scalar>(
      batch, cols(), m, x, y, [&](const Scalar* xs, Scalar* ys) { run(std::integral_constant<int, 1>{}, xs, ys); },
      [&](int width, const Scalar* xs, Scalar* ys) {
        dispatch_width<Scalar>(width, [&](auto w) { run(w, xs, ys); });
      });
}

template <class Scalar>
void CsrMatrix<Scalar>::multiply_transposed(const Scalar* x, Scalar* y, Index batch) const {
  const RowPointer* rp = row_ptr();
  const ColumnIndex* ci = col_index();
  const Scalar* v = values();
  const Index m = rows(), n = cols();
  auto run = [&](auto width, const Scalar* xs, Scalar* ys) {
    constexpr int B = decltype(width)::value;
    const Index len = n * B;
    const int threads = thread_count(nnz());
    if (threads == 1) {
      std::fill(ys, ys + len, Scalar(0));
      spmm_transposed_rows<B>(rp, ci, v, xs, ys, 0, m);
      return;
    }
    // Thread 0 accumulates into ys itself, the others into private buffers summed at the end.
    std::vector<Scalar> partial(static_cast<std::size_t>(len * (threads - 1)));
    for_row_blocks(rp, m, [&](int t, int nt, Index r0, Index r1) {
      Scalar* acc = t == 0 ? ys : partial.data() + (t - 1) * len;
      // Each thread zeroes its share of every accumulator, then all of them are ready.
      for (int a = 0; a < nt; ++a) {
        Scalar* buf = a == 0 ? ys : partial.data() + (a - 1) * len;
        std::fill(buf + len * t / nt, buf + len * (t + 1) / nt, Scalar(0));
      }
#pragma omp barrier
      spmm_transposed_rows<B>(rp, ci, v, xs, acc, r0, r1);
#pragma omp barrier
      for (int a = 1; a < nt; ++a) {
        const Scalar* buf = partial.data() + (a - 1) * len;
        for (Index i = len * t / nt; i < len * (t + 1) / nt; ++i) ys[i] += buf[i];
      }
    });
  };
  batched<Scalar>(
      batch, m, n, x, y, [&](const Scalar* xs, Scalar* ys) { run(std::integral_constant<int, 1>{}, xs, ys); },
      [&](int width, const Scalar* xs, Scalar* ys) {
        dispatch_width<Scalar>(width, [&](auto w) { run(w, xs, ys); });
      });
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
