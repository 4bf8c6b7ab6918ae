#include "convmat/core/channel_blocked_matrix.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "convmat/core/detail/kernel_isa.hpp"
#include "product_kernels.hpp"

namespace convmat {

namespace {

using detail::KernelIsa;
using detail::spmv::LaneBlock;

// The spec with one output channel per group: its W has one row per (group, position), whose
// columns are those of every row of that group at that position.
ConvSpec spatial_spec(const ConvSpec& spec) {
  ConvParams p = spec.params();
  if (spec.is_transposed()) {
    p.in_channels = spec.groups();  // a transposed layer's rows of W are its input channels
  } else {
    p.out_channels = spec.groups();
  }
  return ConvSpec(p);
}

}  // namespace

Index ChannelBlocks::block_for(Index rows_per_group) {
  for (Index b : {8, 4, 2}) {
    if (rows_per_group % b == 0) return b;
  }
  return 1;
}

ChannelBlocks::ChannelBlocks(const ConvSpec& spec)
    : spec_(spec), spatial_(std::make_shared<const ConvPattern>(spatial_spec(spec))) {
  const bool t = spec.is_transposed();
  groups_ = spec.groups();
  rows_per_group_ = (t ? spec.in_channels() : spec.out_channels()) / groups_;
  positions_ = spatial_->rows() / groups_;
  block_ = block_for(rows_per_group_);
}

std::size_t ChannelBlocks::memory_bytes() const {
  const SparsityPattern& s = spatial();
  return s.row_ptr.size() * sizeof(RowPointer) + s.col.size() * sizeof(ColumnIndex);
}

std::size_t channel_blocked_bytes(const ConvSpec& spec, std::size_t scalar_size) {
  const bool t = spec.is_transposed();
  const auto per_group =
      static_cast<std::size_t>((t ? spec.in_channels() : spec.out_channels()) / spec.groups());
  const Index positions =
      t ? spec.input_numel() / spec.in_channels() : spec.output_numel() / spec.out_channels();
  const auto nnz = static_cast<std::size_t>(conv_matrix_nnz(spec));
  std::size_t values = 0, pointers = 0, total = 0;
  const std::size_t columns = nnz / per_group * sizeof(ColumnIndex);
  if (__builtin_mul_overflow(nnz, scalar_size, &values) ||
      __builtin_mul_overflow(static_cast<std::size_t>(spec.groups() * positions) + 1,
                             sizeof(RowPointer), &pointers) ||
      __builtin_add_overflow(values, pointers, &total) ||
      __builtin_add_overflow(total, columns, &total)) {
    return static_cast<std::size_t>(-1);
  }
  return total;
}

namespace {

// ---- the kernels ------------------------------------------------------------------------------
// Spatial rows i = (g, p) in [i0, i1): columns col[rp[i] .. rp[i + 1]), and for channel block k
// the len × B values at val + R·rp[i] + k·len·B (value(j, r) at j·B + r). Vectors in `Width`
// interleaved lanes (Width = 1: the vector itself).

struct Layout {
  const RowPointer* rp;
  const ColumnIndex* col;
  Index positions;
  Index rows_per_group;
};

template <class Scalar>
using Kernel = void (*)(const Layout& l, const Scalar* val, const Scalar* x, Scalar* y, Index i0,
                        Index i1);

// How far ahead (in columns of a block) the values are prefetched: 64 B per two columns of a
// block of 8 floats, about a kilobyte.
template <int B, class Scalar>
constexpr Index prefetch_distance() {
  return 1024 / (B * static_cast<Index>(sizeof(Scalar)));
}

// Rows of a block the batched kernels accumulate at once (each x lane block loaded once for all of
// them): as many as fit in three quarters of the registers (32 with AVX-512, 16 otherwise), the
// rest holding x, rounded down to a power of two that divides B.
template <int B, int Width, int RegisterBytes, class Scalar>
constexpr int rows_per_pass() {
  const int registers = RegisterBytes == 64 ? 24 : 12;
  const int fit = registers * RegisterBytes / (Width * static_cast<int>(sizeof(Scalar)));
  int rows = 1;
  while (rows * 2 <= fit && rows * 2 <= B) rows *= 2;
  return rows;
}

// y = W x.
template <int B, int Width, int RegisterBytes, class Scalar>
[[gnu::always_inline]] inline void multiply_body(const Layout& l, const Scalar* val,
                                                 const Scalar* x, Scalar* y, Index i0, Index i1) {
  const Index P = l.positions, R = l.rows_per_group;
  constexpr Index prefetch_values = prefetch_distance<B, Scalar>();
  for (Index i = i0; i < i1; ++i) {
    const Index g = i / P, p = i - g * P;
    const RowPointer start = l.rp[i];
    const Index len = static_cast<Index>(l.rp[i + 1] - start);
    const ColumnIndex* c = l.col + start;
    const Scalar* v = val + R * start;
    for (Index o0 = g * R; o0 < (g + 1) * R; o0 += B, v += len * B) {
      if constexpr (Width == 1 && B == 1) {
        Scalar s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        Index j = 0;
        for (; j + 4 <= len; j += 4) {
          s0 += v[j] * x[c[j]];
          s1 += v[j + 1] * x[c[j + 1]];
          s2 += v[j + 2] * x[c[j + 2]];
          s3 += v[j + 3] * x[c[j + 3]];
        }
        for (; j < len; ++j) s0 += v[j] * x[c[j]];
        y[o0 * P + p] = (s0 + s1) + (s2 + s3);
      } else if constexpr (Width == 1) {
        // B rows at once: one x value, one vector of B values per column; two chains.
        LaneBlock<B, RegisterBytes, Scalar> a0, a1;
        a0.zero();
        a1.zero();
        Index j = 0;
        for (; j + 2 <= len; j += 2) {
          // W's values stream through once: ask for them a kilobyte ahead (the hardware
          // prefetcher alone leaves the core waiting, as in the CSR kernels).
          __builtin_prefetch(v + (j + prefetch_values) * B);
          a0.add_scaled(x[c[j]], v + j * B);
          a1.add_scaled(x[c[j + 1]], v + (j + 1) * B);
        }
        if (j < len) a0.add_scaled(x[c[j]], v + j * B);
        Scalar out[B];
        a0.store(out);
        Scalar out1[B];
        a1.store(out1);
        for (int r = 0; r < B; ++r) y[(o0 + r) * P + p] = out[r] + out1[r];
      } else {
        constexpr int RB = rows_per_pass<B, Width, RegisterBytes, Scalar>();
        for (int r0 = 0; r0 < B; r0 += RB) {
          LaneBlock<Width, RegisterBytes, Scalar> acc[RB];
          for (int r = 0; r < RB; ++r) acc[r].zero();
          for (Index j = 0; j < len; ++j) {
            const Scalar* xl = x + static_cast<Index>(c[j]) * Width;
            if (j + 8 < len) __builtin_prefetch(x + static_cast<Index>(c[j + 8]) * Width);
#pragma GCC unroll 16
            for (int r = 0; r < RB; ++r) acc[r].add_scaled(v[j * B + r0 + r], xl);
          }
          for (int r = 0; r < RB; ++r) acc[r].store(y + ((o0 + r0 + r) * P + p) * Width);
        }
      }
    }
  }
}

// y += Wᵀ x (y: this thread's accumulator). Per spatial row: x's entries for all R rows are
// gathered once, then each column j receives one update summed over the R rows.
template <int B, int Width, int RegisterBytes, class Scalar>
[[gnu::always_inline]] inline void multiply_transposed_body(const Layout& l, const Scalar* val,
                                                            const Scalar* x, Scalar* y, Index i0,
                                                            Index i1) {
  const Index P = l.positions, R = l.rows_per_group;
  constexpr Index prefetch_values = prefetch_distance<B, Scalar>();
  std::vector<Scalar> xg(static_cast<std::size_t>(R * Width));
  for (Index i = i0; i < i1; ++i) {
    const Index g = i / P, p = i - g * P;
    const RowPointer start = l.rp[i];
    const Index len = static_cast<Index>(l.rp[i + 1] - start);
    const ColumnIndex* c = l.col + start;
    const Scalar* v = val + R * start;
    for (Index o = 0; o < R; ++o) {
      const Scalar* src = x + ((g * R + o) * P + p) * Width;
      for (int w = 0; w < Width; ++w) xg[static_cast<std::size_t>(o * Width + w)] = src[w];
    }
    const Scalar* xr = xg.data();
    const Index stride = len * B;  // between the blocks of one column
    if constexpr (Width == 1 && B == 1) {
      for (Index j = 0; j < len; ++j) {
        Scalar s0 = 0, s1 = 0;
        Index o = 0;
        for (; o + 2 <= R; o += 2) {
          s0 += v[o * stride + j] * xr[o];
          s1 += v[(o + 1) * stride + j] * xr[o + 1];
        }
        if (o < R) s0 += v[o * stride + j] * xr[o];
        y[c[j]] += s0 + s1;
      }
    } else if constexpr (Width == 1) {
      for (Index j = 0; j < len; ++j) {
        LaneBlock<B, RegisterBytes, Scalar> s;
        s.zero();
        for (Index k = 0; k < R / B; ++k) {
          if ((j & 1) == 0) __builtin_prefetch(v + k * stride + (j + prefetch_values) * B);
          LaneBlock<B, RegisterBytes, Scalar> xk;
          xk.load(xr + k * B);
          s.add_product(v + k * stride + j * B, xk);
        }
        y[c[j]] += s.sum();
      }
    } else {
      for (Index j = 0; j < len; ++j) {
        Scalar* yl = y + static_cast<Index>(c[j]) * Width;
        if (j + 8 < len) __builtin_prefetch(y + static_cast<Index>(c[j + 8]) * Width, 1);
        LaneBlock<Width, RegisterBytes, Scalar> a;
        a.load(yl);
        for (Index k = 0; k < R / B; ++k) {
          const Scalar* vk = v + k * stride + j * B;
#pragma GCC unroll 8
          for (int r = 0; r < B; ++r) a.add_scaled(vk[r], xr + (k * B + r) * Width);
        }
        a.store(yl);
      }
    }
  }
}

#define CONVMAT_BLOCKED_KERNELS(suffix, target, register_bytes)                                 \
  template <int B, int Width, class Scalar>                                                     \
  target void multiply_##suffix(const Layout& l, const Scalar* val, const Scalar* x, Scalar* y, \
                                Index i0, Index i1) {                                           \
    multiply_body<B, Width, register_bytes>(l, val, x, y, i0, i1);                              \
  }                                                                                             \
  template <int B, int Width, class Scalar>                                                     \
  target void multiply_transposed_##suffix(const Layout& l, const Scalar* val, const Scalar* x, \
                                           Scalar* y, Index i0, Index i1) {                     \
    multiply_transposed_body<B, Width, register_bytes>(l, val, x, y, i0, i1);                   \
  }

CONVMAT_BLOCKED_KERNELS(generic, , 16)
#if CONVMAT_X86
CONVMAT_BLOCKED_KERNELS(avx2, CONVMAT_TARGET_AVX2, 32)
CONVMAT_BLOCKED_KERNELS(avx512, CONVMAT_TARGET_AVX512, 64)
#endif

// Blocks 1, 2, 4, 8 × widths 1, 2, 4, 8, 16: table[block slot][width slot].
using detail::spmv::max_width;
constexpr int slot(Index v) { return std::countr_zero(static_cast<unsigned>(v)); }

template <class Scalar>
struct KernelTable {
  Kernel<Scalar> multiply[4][5];
  Kernel<Scalar> multiply_transposed[4][5];
};

#define CONVMAT_BLOCKED_TABLE(suffix)                                                         \
  template <class Scalar, int B, int... W>                                                    \
  void fill_##suffix(KernelTable<Scalar>& t, std::integer_sequence<int, W...>) {              \
    ((t.multiply[slot(B)][slot(W)] = &multiply_##suffix<B, W, Scalar>), ...);                 \
    ((t.multiply_transposed[slot(B)][slot(W)] = &multiply_transposed_##suffix<B, W, Scalar>), \
     ...);                                                                                    \
  }                                                                                           \
  template <class Scalar>                                                                     \
  KernelTable<Scalar> table_##suffix() {                                                      \
    KernelTable<Scalar> t{};                                                                  \
    using Widths = std::integer_sequence<int, 1, 2, 4, 8, 16>;                                \
    fill_##suffix<Scalar, 1>(t, Widths{});                                                    \
    fill_##suffix<Scalar, 2>(t, Widths{});                                                    \
    fill_##suffix<Scalar, 4>(t, Widths{});                                                    \
    fill_##suffix<Scalar, 8>(t, Widths{});                                                    \
    return t;                                                                                 \
  }

CONVMAT_BLOCKED_TABLE(generic)
#if CONVMAT_X86
CONVMAT_BLOCKED_TABLE(avx2)
CONVMAT_BLOCKED_TABLE(avx512)
#endif

template <class Scalar>
const KernelTable<Scalar>& kernels() {
  static const KernelTable<Scalar> generic = table_generic<Scalar>();
#if CONVMAT_X86
  static const KernelTable<Scalar> avx2 = table_avx2<Scalar>();
  static const KernelTable<Scalar> avx512 = table_avx512<Scalar>();
  switch (detail::kernel_isa()) {
    case KernelIsa::avx512: return avx512;
    case KernelIsa::avx2: return avx2;
    case KernelIsa::generic: break;
  }
#endif
  return generic;
}

}  // namespace

// ---- building ---------------------------------------------------------------------------------

template <class Scalar>
ChannelBlockedMatrix<Scalar>::ChannelBlockedMatrix(std::shared_ptr<const ChannelBlocks> structure,
                                                   const Scalar* weight)
    : s_(std::move(structure)) {
  if (!s_) throw std::invalid_argument("ChannelBlockedMatrix needs a structure");
  values_ = Buffer<Scalar>(static_cast<std::size_t>(s_->nnz()));
  refill(weight);
}

template <class Scalar>
void ChannelBlockedMatrix<Scalar>::refill(const Scalar* weight) {
  if (weight == nullptr) throw std::invalid_argument("ChannelBlockedMatrix needs a weight tensor");
  const ConvPattern& spatial = s_->spatial_pattern();
  const SparsityPattern& sp = s_->spatial();
  const Index R = s_->rows_per_group(), B = s_->block(), P = s_->positions();
  const ConvSpec& spec = s_->spec();
  const Index cpg =
      (spec.is_transposed() ? spec.out_channels() : spec.in_channels()) / spec.groups();
  // The spatial pattern's weight index w (its one channel g) is channel g·R + o of the layer at
  // w + (g·(R − 1) + o)·cpg·taps.
  const Index channel_step = cpg * spec.kernel_numel();
  Scalar* values = values_.data();
  const Index rows = sp.rows;
#pragma omp parallel if (nnz() >= (1 << 17))
  {
    std::vector<std::pair<Index, Index>> taps;  // (column j, spatial weight index)
#pragma omp for schedule(dynamic, 64)
    for (Index i = 0; i < rows; ++i) {
      const RowPointer start = sp.row_ptr[static_cast<std::size_t>(i)];
      const Index len = static_cast<Index>(sp.row_ptr[static_cast<std::size_t>(i + 1)] - start);
      const Index g = i / P;
      taps.clear();
      spatial.for_each_tap(i, [&](Index nz, Index, Index w) { taps.emplace_back(nz - start, w); });
      Scalar* v = values + R * start;
      std::fill(v, v + R * len, Scalar(0));
      for (Index o = 0; o < R; ++o) {
        const Index shift = (g * (R - 1) + o) * channel_step;
        Scalar* block = v + (o / B) * len * B + o % B;
        for (const auto& [j, w] : taps) block[j * B] += weight[w + shift];
      }
    }
  }
}

template <class Scalar>
std::size_t ChannelBlockedMatrix<Scalar>::memory_bytes() const {
  return s_ ? values_.size() * sizeof(Scalar) + s_->memory_bytes() : 0;
}

// ---- products ---------------------------------------------------------------------------------

template <class Scalar>
void ChannelBlockedMatrix<Scalar>::multiply(const Scalar* x, Scalar* y, Index batch) const {
  const SparsityPattern& sp = s_->spatial();
  const Layout l{sp.row_ptr.data(), sp.col.data(), s_->positions(), s_->rows_per_group()};
  const KernelTable<Scalar>& k = kernels<Scalar>();
  const int threads = detail::spmv::thread_count(nnz());
  const Scalar* v = values_.data();
  detail::spmv::batched(batch, cols(), rows(), x, y, [&](int width, const Scalar* xs, Scalar* ys) {
    const Kernel<Scalar> kernel = k.multiply[slot(s_->block())][slot(width)];
    detail::spmv::for_row_blocks(
        sp.row_ptr.data(), sp.rows, threads,
        [&](int, int, Index i0, Index i1) { kernel(l, v, xs, ys, i0, i1); });
  });
}

template <class Scalar>
void ChannelBlockedMatrix<Scalar>::multiply_transposed(const Scalar* x, Scalar* y,
                                                       Index batch) const {
  const SparsityPattern& sp = s_->spatial();
  const Layout l{sp.row_ptr.data(), sp.col.data(), s_->positions(), s_->rows_per_group()};
  const KernelTable<Scalar>& k = kernels<Scalar>();
  const int threads = detail::spmv::thread_count(nnz());
  const Scalar* v = values_.data();
  const Index n = cols();
  detail::spmv::batched(batch, rows(), n, x, y, [&](int width, const Scalar* xs, Scalar* ys) {
    const Kernel<Scalar> kernel = k.multiply_transposed[slot(s_->block())][slot(width)];
    const Index len = n * width;
    if (threads == 1) {
      std::fill(ys, ys + len, Scalar(0));
      kernel(l, v, xs, ys, 0, sp.rows);
      return;
    }
    // Thread 0 accumulates into ys itself, the others into private copies summed at the end.
    Buffer<Scalar> partial(static_cast<std::size_t>(len * (threads - 1)));
    detail::spmv::for_row_blocks(
        sp.row_ptr.data(), sp.rows, threads, [&](int t, int nt, Index i0, Index i1) {
          Scalar* acc = t == 0 ? ys : partial.data() + (t - 1) * len;
          for (int a = 0; a < nt; ++a) {
            Scalar* buf = a == 0 ? ys : partial.data() + (a - 1) * len;
            std::fill(buf + len * t / nt, buf + len * (t + 1) / nt, Scalar(0));
          }
#pragma omp barrier
          kernel(l, v, xs, acc, i0, i1);
#pragma omp barrier
          for (int a = 1; a < nt; ++a) {
            const Scalar* buf = partial.data() + (a - 1) * len;
            for (Index i = len * t / nt; i < len * (t + 1) / nt; ++i) ys[i] += buf[i];
          }
        });
  });
}

// ---- exports ----------------------------------------------------------------------------------

template <class Scalar>
CsrMatrix<Scalar> ChannelBlockedMatrix<Scalar>::to_csr() const {
  const SparsityPattern& sp = s_->spatial();
  const Index R = s_->rows_per_group(), P = s_->positions();
  const Index G = s_->groups(), m = rows();
  auto csr = std::make_shared<SparsityPattern>();
  csr->rows = m;
  csr->cols = cols();
  csr->row_ptr = Buffer<RowPointer>(static_cast<std::size_t>(m + 1));
  // Row (g·R + o)·P + p holds spatial row g·P + p.
  csr->row_ptr[0] = 0;
  for (Index g = 0, r = 0; g < G; ++g) {
    for (Index o = 0; o < R; ++o) {
      for (Index p = 0; p < P; ++p, ++r) {
        const Index i = g * P + p;
        csr->row_ptr[static_cast<std::size_t>(r + 1)] =
            csr->row_ptr[static_cast<std::size_t>(r)] + (sp.row_ptr[i + 1] - sp.row_ptr[i]);
      }
    }
  }
  csr->col = Buffer<ColumnIndex>(static_cast<std::size_t>(nnz()));
#pragma omp parallel for schedule(static) if (nnz() >= (1 << 17))
  for (Index r = 0; r < m; ++r) {
    const Index p = r % P, g = r / P / R;
    const Index i = g * P + p;
    const RowPointer start = sp.row_ptr[i];
    std::copy(sp.col.begin() + start, sp.col.begin() + sp.row_ptr[i + 1],
              csr->col.begin() + csr->row_ptr[static_cast<std::size_t>(r)]);
  }
  Buffer<Scalar> values(static_cast<std::size_t>(nnz()));
  csr_values(values.data());
  return CsrMatrix<Scalar>(std::move(csr), std::move(values));
}

template <class Scalar>
void ChannelBlockedMatrix<Scalar>::csr_values(Scalar* out) const {
  // Row r = (g·R + o)·P + p of W is spatial row g·P + p with channel o's values; rows come in
  // that order, so the offsets are running sums of the spatial row lengths.
  const SparsityPattern& sp = s_->spatial();
  const Index R = s_->rows_per_group(), B = s_->block(), P = s_->positions();
  const Index G = s_->groups();
#pragma omp parallel for schedule(static) if (nnz() >= (1 << 17))
  for (Index channel = 0; channel < G * R; ++channel) {
    const Index g = channel / R, o = channel % R;
    // Rows of the channels before this one: R·(spatial nonzeros of earlier groups) + o·(this
    // group's).
    const RowPointer group_start = sp.row_ptr[static_cast<std::size_t>(g * P)];
    const RowPointer group_len = sp.row_ptr[static_cast<std::size_t>((g + 1) * P)] - group_start;
    RowPointer at = R * group_start + o * group_len;
    for (Index p = 0; p < P; ++p) {
      const Index i = g * P + p;
      const RowPointer start = sp.row_ptr[i];
      const Index len = static_cast<Index>(sp.row_ptr[i + 1] - start);
      const Scalar* block = values_.data() + R * start + (o / B) * len * B + o % B;
      for (Index j = 0; j < len; ++j) out[at + j] = block[j * B];
      at += len;
    }
  }
}

template <class Scalar>
typename ChannelBlockedMatrix<Scalar>::RowMajorEigen ChannelBlockedMatrix<Scalar>::to_eigen()
    const {
  return to_csr().to_eigen();
}

template <class Scalar>
typename ChannelBlockedMatrix<Scalar>::RowMajorEigen
ChannelBlockedMatrix<Scalar>::to_eigen_transposed() const {
  return to_csr().to_eigen_transposed();
}

template <class Scalar>
typename ChannelBlockedMatrix<Scalar>::Bsr ChannelBlockedMatrix<Scalar>::to_bsr_channels_last()
    const {
  const SparsityPattern& sp = s_->spatial();
  const Index R = s_->rows_per_group(), B = s_->block(), P = s_->positions();
  const Index G = s_->groups();
  if (nnz() / B > max_vector_length || cols() > max_vector_length) {
    throw std::length_error("scipy's BSR with 32-bit indices cannot hold " +
                            std::to_string(nnz() / B) + " blocks");
  }
  Bsr b;
  b.block = B;
  b.block_rows = rows() / B;
  b.cols = cols();
  b.indptr.reserve(static_cast<std::size_t>(b.block_rows + 1));
  b.indptr.push_back(0);
  b.indices.reserve(static_cast<std::size_t>(nnz() / B));
  b.data.reserve(static_cast<std::size_t>(nnz()));
  b.row.reserve(static_cast<std::size_t>(rows()));
  // Block rows in channels-last order: position p, then group g, then channel block k.
  for (Index p = 0; p < P; ++p) {
    for (Index g = 0; g < G; ++g) {
      const Index i = g * P + p;
      const RowPointer start = sp.row_ptr[i];
      const Index len = static_cast<Index>(sp.row_ptr[i + 1] - start);
      for (Index k = 0; k < R / B; ++k) {
        const Scalar* block = values_.data() + R * start + k * len * B;
        b.indices.insert(b.indices.end(), sp.col.begin() + start, sp.col.begin() + start + len);
        b.data.insert(b.data.end(), block, block + len * B);
        b.indptr.push_back(b.indptr.back() + len);
        for (Index j = 0; j < B; ++j) b.row.push_back((g * R + k * B + j) * P + p);
      }
    }
  }
  return b;
}

template class ChannelBlockedMatrix<float>;
template class ChannelBlockedMatrix<double>;

}  // namespace convmat
