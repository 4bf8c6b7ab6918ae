#pragma once
// What the sparse product kernels of lib/core share (csr_matrix.cpp: CSR;
// channel_blocked_matrix.cpp: the channel-blocked W): the per-instruction-set function targets,
// SIMD lane blocks written with GCC's vector extensions, the widths a batch is cut into, the thread
// split by nonzeros and the interleaving of a batch into lanes. Private to the library.

#ifdef _OPENMP
#include <omp.h>
#else  // built without OpenMP (the WebAssembly page): one thread
inline int omp_get_max_threads() { return 1; }
inline int omp_get_thread_num() { return 0; }
inline int omp_get_num_threads() { return 1; }
#endif

#include <algorithm>
#include <bit>
#include <cstring>
#include <utility>

#include "convmat/core/buffer.hpp"
#include "convmat/core/detail/assert.hpp"
#include "convmat/core/index.hpp"

#if defined(__x86_64__) || defined(__i386__)
#define CONVMAT_X86 1
// Function-level targets: these functions may use AVX2 / AVX-512 although the library is built for
// plain x86-64; they only run after cpu_supports() said yes (detail/kernel_isa.hpp).
#define CONVMAT_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define CONVMAT_TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")))
#else
#define CONVMAT_X86 0
#endif

namespace convmat::detail::spmv {

// GCC's vector extensions: the same source compiles to SSE2, AVX2 or AVX-512 registers depending
// on the target of the function it is inlined into. The `Width` lanes of a nonzero are held as
// `Parts` vectors of the target's register size (`RegisterBytes`): one vector type wider than the
// registers makes GCC keep it on the stack and reload it for every nonzero (measured 1.5x slower
// than the generic kernels for 16 doubles on AVX2).
template <int Width, int RegisterBytes, class Scalar>
struct LaneBlock {
  static constexpr int bytes = Width * static_cast<int>(sizeof(Scalar));
  static constexpr int vector_bytes = bytes < RegisterBytes ? bytes : RegisterBytes;
  static constexpr int parts = bytes / vector_bytes;
  static constexpr int per_part = vector_bytes / static_cast<int>(sizeof(Scalar));
  typedef Scalar Vector __attribute__((vector_size(vector_bytes)));
  Vector v[parts];

  [[gnu::always_inline]] void load(const Scalar* p) {
#pragma GCC unroll 16
    for (int i = 0; i < parts; ++i) std::memcpy(&v[i], p + i * per_part, sizeof(Vector));
  }
  [[gnu::always_inline]] void store(Scalar* p) const {
#pragma GCC unroll 16
    for (int i = 0; i < parts; ++i) std::memcpy(p + i * per_part, &v[i], sizeof(Vector));
  }
  [[gnu::always_inline]] void zero() {
#pragma GCC unroll 16
    for (int i = 0; i < parts; ++i) v[i] = Vector{};
  }
  // this += a · x (x read from memory)
  [[gnu::always_inline]] void add_scaled(Scalar a, const Scalar* x) {
#pragma GCC unroll 16
    for (int i = 0; i < parts; ++i) {
      Vector xi;
      std::memcpy(&xi, x + i * per_part, sizeof(Vector));
      v[i] += a * xi;
    }
  }
  // this += a · b
  [[gnu::always_inline]] void add_scaled(Scalar a, const LaneBlock& b) {
#pragma GCC unroll 16
    for (int i = 0; i < parts; ++i) v[i] += a * b.v[i];
  }
  // this += a ⊙ b (elementwise, a read from memory)
  [[gnu::always_inline]] void add_product(const Scalar* a, const LaneBlock& b) {
#pragma GCC unroll 16
    for (int i = 0; i < parts; ++i) {
      Vector ai;
      std::memcpy(&ai, a + i * per_part, sizeof(Vector));
      v[i] += ai * b.v[i];
    }
  }
  // The sum of the lanes.
  [[gnu::always_inline]] Scalar sum() const {
    Vector t = v[0];
#pragma GCC unroll 16
    for (int i = 1; i < parts; ++i) t += v[i];
    Scalar s = 0;
#pragma GCC unroll 16
    for (int i = 0; i < per_part; ++i) s += t[i];
    return s;
  }
};

// Widths the kernels are instantiated for (1, 2, 4, 8, 16); a batch is cut into chunks of at most
// the largest, and a chunk of k vectors runs at the next width ≥ k with zero lanes. 16 lanes (one
// AVX-512 register of floats) read W once per 16 vectors and measured faster than 8 lanes in two
// passes, for doubles too.
using WidthSequence = std::integer_sequence<int, 1, 2, 4, 8, 16>;
constexpr int max_width = 16;
constexpr int width_slot(int w) {
  CONVMAT_ASSERT(std::has_single_bit(static_cast<unsigned>(w)) && w <= max_width,
                 "a kernel width is a power of two up to max_width");
  return std::countr_zero(static_cast<unsigned>(w));
}

// Threads for a product over `nnz` nonzeros: one per 64 Ki nonzeros at most, so that small
// products do not pay for waking threads.
constexpr Index nonzeros_per_thread = 65536;
inline int thread_count(Index nnz) {
  return static_cast<int>(std::clamp<Index>(nnz / nonzeros_per_thread, 1, omp_get_max_threads()));
}

// Rows are split into one contiguous block per thread by nonzero count, so that threads read
// equal shares of W (a row count split would unbalance layers whose border rows are short):
// body(t, nt, r0, r1) on each of `threads` threads (row_ptr: rows + 1 nondecreasing entries).
template <class RowIndex, class F>
void for_row_blocks(const RowIndex* row_ptr, Index rows, int threads, F&& body) {
  const Index nnz = row_ptr[rows];
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const int nt = omp_get_num_threads();
    const Index lo = nnz * t / nt, hi = nnz * (t + 1) / nt;
    const Index r0 = std::lower_bound(row_ptr, row_ptr + rows, lo) - row_ptr;
    const Index r1 = t + 1 == nt ? rows : std::lower_bound(row_ptr, row_ptr + rows, hi) - row_ptr;
    body(t, nt, r0, r1);
  }
}

// The same with the threads for row_ptr's own nonzeros.
template <class RowIndex, class F>
void for_row_blocks(const RowIndex* row_ptr, Index rows, F&& body) {
  for_row_blocks(row_ptr, rows, thread_count(row_ptr[rows]), body);
}

// Packs `used` vectors of length n (each contiguous, `stride` apart) into n × width — and back.
// Lanes are independent; the ones past `used` are zeroed so that they do not compute on garbage
// (denormals or NaNs would slow the whole vector down).
template <class Scalar>
void interleave(const Scalar* src, Index n, Index stride, int used, int width, Scalar* dst) {
  CONVMAT_ASSERT(0 < used && used <= width, "interleave: at most `width` vectors");
#pragma omp parallel for schedule(static) if (n > 65536)
  for (Index i = 0; i < n; ++i) {
    for (int b = 0; b < used; ++b) dst[i * width + b] = src[b * stride + i];
    for (int b = used; b < width; ++b) dst[i * width + b] = 0;
  }
}

template <class Scalar>
void deinterleave(const Scalar* src, Index n, int used, int width, Scalar* dst, Index stride) {
  CONVMAT_ASSERT(0 < used && used <= width, "deinterleave: at most `width` vectors");
#pragma omp parallel for schedule(static) if (n > 65536)
  for (Index i = 0; i < n; ++i) {
    for (int b = 0; b < used; ++b) dst[b * stride + i] = src[i * width + b];
  }
}

// A batch of `batch` vectors in C order (batch × in_len → batch × out_len), in chunks of at most
// max_width: product(width, x, y) computes one chunk in the interleaved layout. A batch of 0
// computes nothing (x and y may then be null).
template <class Scalar, class Product>
void batched(Index batch, Index in_len, Index out_len, const Scalar* x, Scalar* y,
             Product&& product) {
  if (batch == 1) {
    product(1, x, y);
    return;
  }
  Buffer<Scalar> xi, yi;
  for (Index b0 = 0; b0 < batch; b0 += max_width) {
    const int used = static_cast<int>(std::min<Index>(max_width, batch - b0));
    if (used == 1) {
      product(1, x + b0 * in_len, y + b0 * out_len);
      continue;
    }
    const int width = static_cast<int>(std::bit_ceil(static_cast<unsigned>(used)));
    if (xi.size() < static_cast<std::size_t>(in_len * width) ||
        yi.size() < static_cast<std::size_t>(out_len * width)) {
      xi = Buffer<Scalar>(static_cast<std::size_t>(in_len * width));
      yi = Buffer<Scalar>(static_cast<std::size_t>(out_len * width));
    }
    interleave(x + b0 * in_len, in_len, in_len, used, width, xi.data());
    product(width, xi.data(), yi.data());
    deinterleave(yi.data(), out_len, used, width, y + b0 * out_len, out_len);
  }
}

}  // namespace convmat::detail::spmv
