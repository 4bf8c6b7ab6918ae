#include "convmat/core/conv_pattern.hpp"

#include "convmat/core/progress.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace convmat {

namespace detail {

namespace {

// The input position that padded position q reads, or −1 for a zero.
Index fold(Index q, Index n, PaddingMode mode) {
  if (q >= 0 && q < n) return q;
  switch (mode) {
    case PaddingMode::zeros: return -1;
    case PaddingMode::reflect: return q < 0 ? -q : 2 * (n - 1) - q;  // |padding| < n: one bounce
    case PaddingMode::replicate: return q < 0 ? 0 : n - 1;
    case PaddingMode::circular: return q < 0 ? q + n : q - n;  // |padding| <= n: one wrap
  }
  return -1;
}

}  // namespace

AxisMap make_axis_map(Index rows, Index cols, Index kernel, Index stride, Index dilation,
                      Index pad_begin, PaddingMode mode, Index input_dilation) {
  CONVMAT_ASSERT(rows >= 0 && cols >= 1 && kernel >= 1 && stride >= 1 && dilation >= 1 &&
                     input_dilation >= 1 && (input_dilation == 1 || mode == PaddingMode::zeros),
                 "make_axis_map: sizes of a valid ConvSpec");
  const Index l = input_dilation, span = dilated_input_size(cols, l);
  AxisMap m;
  m.rows = rows;
  m.cols = cols;
  m.taps = kernel;
  m.entry_ptr.assign(1, 0);
  m.entry_col.clear();
  m.tap_ptr.assign(1, 0);
  m.tap.clear();
  std::vector<std::pair<Index, Index>> hits;  // (input position, tap)
  for (Index o = 0; o < rows; ++o) {
    hits.clear();
    for (Index k = 0; k < kernel; ++k) {
      const Index q = o * stride - pad_begin + k * dilation;
      const Index i =
          l == 1 ? fold(q, cols, mode) : (q >= 0 && q < span && q % l == 0 ? q / l : Index{-1});
      // One bounce or wrap reaches the input only for padding ConvSpec allows with the mode.
      CONVMAT_ASSERT(i >= -1 && i < cols, "make_axis_map: a tap folds outside the input");
      if (i >= 0) hits.emplace_back(i, k);
    }
    std::stable_sort(hits.begin(), hits.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (std::size_t h = 0; h < hits.size(); ++h) {
      if (h == 0 || hits[h].first != hits[h - 1].first) {
        if (h != 0) m.tap_ptr.push_back(static_cast<Index>(m.tap.size()));
        m.entry_col.push_back(hits[h].first);
      } else {
        m.one_tap_per_entry = false;
      }
      m.tap.push_back(hits[h].second);
    }
    if (!hits.empty()) m.tap_ptr.push_back(static_cast<Index>(m.tap.size()));
    m.entry_ptr.push_back(static_cast<Index>(m.entry_col.size()));
  }
  return m;
}

namespace {

// {first, first + step, …} with `count` terms, ascending; the step is shared by all of them.
struct Progression {
  Index first = 0;
  Index count = 0;
};

Progression intersect(Progression a, Progression b, Index step) {
  if (a.count == 0 || b.count == 0) return {};
  const Index diff = a.first - b.first;
  if (diff % step != 0) return {};
  const Index lo = std::max(a.first, b.first);
  const Index hi = std::min(a.first + (a.count - 1) * step, b.first + (b.count - 1) * step);
  if (hi < lo) return {};
  return {lo, (hi - lo) / step + 1};
}

// entries(o) of make_axis_map for one row position, without listing the taps. With
// b = o·s − p0 the taps read q_k = b + k·d, k ∈ [0, K): those in [0, n) form the progression A;
// those below 0 (k < kb) and above n − 1 (k ≥ kc) fold, by `fold` above, onto progressions B
// and C (reflect: −q and 2(n−1) − q; circular: q + n and q − n; replicate: the points 0 and
// n − 1). |A ∪ B ∪ C| by inclusion–exclusion; within each set the positions are distinct.
Index axis_entries(Index o, Index cols, Index kernel, Index stride, Index dilation, Index pad_begin,
                   PaddingMode mode, Index input_dilation) {
  const Index n = cols, d = dilation, b = o * stride - pad_begin;
  if (input_dilation > 1) {
    // Zero padding (ConvSpec's rule): the taps on the dilated input's grid, each its own entry.
    const Index l = input_dilation, span = dilated_input_size(n, l);
    Index count = 0;
    for (Index k = 0; k < kernel; ++k) {
      const Index q = b + k * d;
      count += q >= 0 && q < span && q % l == 0;
    }
    return count;
  }
  const Index kb = b >= 0 ? 0 : std::min(kernel, (-b + d - 1) / d);
  const Index kc = b >= n ? 0 : std::min(kernel, (n - b + d - 1) / d);
  const Progression a = kc > kb ? Progression{b + kb * d, kc - kb} : Progression{};
  if (mode == PaddingMode::zeros) return a.count;
  const Index below = kb, above = kernel - std::max(kc, kb);
  Progression lo, hi;
  switch (mode) {
    case PaddingMode::reflect:
      if (below) lo = {-(b + (below - 1) * d), below};
      if (above) hi = {2 * (n - 1) - (b + (kernel - 1) * d), above};
      break;
    case PaddingMode::circular:
      if (below) lo = {b + n, below};
      if (above) hi = {b + (kernel - above) * d - n, above};
      break;
    case PaddingMode::replicate:
      if (below) lo = {0, 1};
      if (above) hi = {n - 1, 1};
      break;
    case PaddingMode::zeros: break;
  }
  const Progression ab = intersect(a, lo, d), ac = intersect(a, hi, d), bc = intersect(lo, hi, d);
  return a.count + lo.count + hi.count - ab.count - ac.count - bc.count +
         intersect(ab, hi, d).count;
}

}  // namespace

}  // namespace detail

namespace detail {

// Along one axis, positions whose entries agree up to a shift of the input position (the same
// count, the same taps, the columns at the same distances) form a class: the interior positions of
// a zero-padded axis are one class and each border position is its own. A row of W is then fixed
// by its channel, its class along each axis and a column offset, and the spatial part of all rows
// of one combination of classes is one short template, shared by every channel:
//   column(row, c, t) = (first_channel(row) + c)·Π cols + offset(row) + col[t]
//   weight(row, c, t) = (channel(row)·channels_per_group + c)·Π taps + tap[t]
// (tap[t] is the first tap of entry t: the only one when no padding folds taps together). For
// layer 64→64, 3×3, pad 1 on 56² there are 3 classes per axis, 9 templates of at most 9 entries.
struct RowTemplates {
  struct Axis {
    std::vector<std::int32_t> cls;  // class of each row position
    std::vector<Index> base;        // column of its first entry (0 when it has none)
    std::vector<Index> example;     // one position of each class
  };
  std::array<Axis, 3> axes;
  std::vector<Index> ptr;  // combination k = (k0·C1 + k1)·C2 + k2 owns [ptr[k], ptr[k+1])
  std::vector<ColumnIndex> col;
  std::vector<std::int32_t> tap;
};

namespace {

RowTemplates::Axis classify(const AxisMap& m) {
  RowTemplates::Axis a;
  std::map<std::vector<Index>, std::int32_t> ids;
  std::vector<Index> key;
  for (Index o = 0; o < m.rows; ++o) {
    const Index first = m.entry_ptr[o], last = m.entry_ptr[o + 1];
    const Index base = first < last ? m.entry_col[first] : 0;
    key.assign(1, last - first);
    for (Index e = first; e < last; ++e) {
      key.push_back(m.entry_col[e] - base);
      key.push_back(m.tap_ptr[e + 1] - m.tap_ptr[e]);
      key.insert(key.end(), m.tap.begin() + m.tap_ptr[e], m.tap.begin() + m.tap_ptr[e + 1]);
    }
    const auto [it, added] = ids.emplace(key, static_cast<std::int32_t>(a.example.size()));
    if (added) a.example.push_back(o);
    a.cls.push_back(it->second);
    a.base.push_back(base);
  }
  return a;
}

RowTemplates make_row_templates(const std::array<AxisMap, 3>& axes) {
  RowTemplates t;
  for (std::size_t a = 0; a < 3; ++a) t.axes[a] = classify(axes[a]);
  const auto& [m0, m1, m2] = axes;
  t.ptr.push_back(0);
  for (Index x0 : t.axes[0].example) {
    for (Index x1 : t.axes[1].example) {
      for (Index x2 : t.axes[2].example) {
        for (Index e0 = m0.entry_ptr[x0]; e0 < m0.entry_ptr[x0 + 1]; ++e0) {
          const Index c0 = m0.entry_col[e0] - t.axes[0].base[x0];
          for (Index e1 = m1.entry_ptr[x1]; e1 < m1.entry_ptr[x1 + 1]; ++e1) {
            const Index c1 = c0 * m1.cols + m1.entry_col[e1] - t.axes[1].base[x1];
            for (Index e2 = m2.entry_ptr[x2]; e2 < m2.entry_ptr[x2 + 1]; ++e2) {
              t.col.push_back(
                  static_cast<ColumnIndex>(c1 * m2.cols + m2.entry_col[e2] - t.axes[2].base[x2]));
              t.tap.push_back(static_cast<std::int32_t>(
                  (m0.tap[m0.tap_ptr[e0]] * m1.taps + m1.tap[m1.tap_ptr[e1]]) * m2.taps +
                  m2.tap[m2.tap_ptr[e2]]));
            }
          }
        }
        t.ptr.push_back(static_cast<Index>(t.col.size()));
      }
    }
  }
  return t;
}

}  // namespace
}  // namespace detail

namespace {

// One row of W as its template sees it.
struct RowShape {
  Index row;
  Index channel;      // row channel
  Index combination;  // of classes: its template is [ptr[combination], ptr[combination + 1])
  Index offset;       // spatial column of the row's first entry in each column channel
  const ColumnIndex* col;
  const std::int32_t* tap;
  Index len;  // entries per column channel
};

// The rows [r0, r1) of a slab in order, without a division per row. The slab holds the row
// positions [first[a], first[a] + extent[a]) along each embedded axis a; its row r is
// (channel, o0 − first[0], o1 − first[1], o2 − first[2]) in C order.
template <class F>
void walk_rows(const std::array<detail::AxisMap, 3>& axes, const detail::RowTemplates& t,
               const std::array<Index, 3>& first, const std::array<Index, 3>& extent, Index r0,
               Index r1, F&& f) {
  const auto& [m0, m1, m2] = axes;
  const auto& [t0, t1, t2] = t.axes;
  const Index n2 = static_cast<Index>(t2.example.size());
  const Index n12 = static_cast<Index>(t1.example.size()) * n2;
  const Index spatial = extent[0] * extent[1] * extent[2];
  CONVMAT_ASSERT(0 <= r0 && r0 <= r1, "walk_rows: rows [r0, r1) in order");
  if (r0 == r1 || spatial == 0) return;
  const Index end0 = first[0] + extent[0], end1 = first[1] + extent[1];
  const Index end2 = first[2] + extent[2];
  Index channel = r0 / spatial, rest = r0 % spatial;
  Index o2 = first[2] + rest % extent[2];
  rest /= extent[2];
  Index o1 = first[1] + rest % extent[1], o0 = first[0] + rest / extent[1];
  for (Index r = r0; r < r1; ++r) {
    const Index k = t0.cls[o0] * n12 + t1.cls[o1] * n2 + t2.cls[o2];
    const Index offset = (t0.base[o0] * m1.cols + t1.base[o1]) * m2.cols + t2.base[o2];
    f(RowShape{r, channel, k, offset, t.col.data() + t.ptr[k], t.tap.data() + t.ptr[k],
               t.ptr[k + 1] - t.ptr[k]});
    if (++o2 == end2) {
      o2 = first[2];
      if (++o1 == end1) {
        o1 = first[1];
        if (++o0 == end0) {
          o0 = first[0];
          ++channel;
        }
      }
    }
  }
}

// Products and builds below this many nonzeros stay on the calling thread: waking threads costs
// more than it saves, and the oracle builds thousands of small layers.
constexpr Index parallel_nonzeros = 1 << 17;
// Builds above this many nonzeros report progress on a terminal (progress.hpp).
constexpr Index progress_nonzeros = 100'000'000;
constexpr Index rows_per_chunk = 256;

// body(r0, r1) over all rows in chunks, in parallel for large W, with a progress line for huge W.
template <class F>
void for_row_chunks(Index rows, Index nnz, const char* what, F&& body) {
  std::optional<Progress> progress;
  if (nnz >= progress_nonzeros) {
    char label[96];
    std::snprintf(label, sizeof label, "convmat: %s (%.2g nonzeros)", what, double(nnz));
    progress.emplace(label, rows);
    if (!progress->active()) progress.reset();
  }
  const Index chunks = (rows + rows_per_chunk - 1) / rows_per_chunk;
#pragma omp parallel for schedule(dynamic, 1) if (nnz >= parallel_nonzeros)
  for (Index i = 0; i < chunks; ++i) {
    const Index r0 = i * rows_per_chunk, r1 = std::min(rows, r0 + rows_per_chunk);
    body(r0, r1);
    if (progress) progress->advance(r1 - r0);
  }
}

}  // namespace

Index slab_positions(const ConvSpec& spec) {
  return (spec.is_transposed() ? spec.input_size() : spec.output_size())[0];
}

namespace {

RowSlab resolve(const ConvSpec& spec, RowSlab slab) {
  const Index n = slab_positions(spec);
  if (slab.end < 0) slab.end = n;
  if (slab.begin < 0 || slab.begin > slab.end || slab.end > n) {
    throw std::invalid_argument(
        "a row slab must satisfy 0 <= begin <= end <= " + std::to_string(n) +
        " (the row positions along spatial axis 0), got begin = " + std::to_string(slab.begin) +
        ", end = " + std::to_string(slab.end));
  }
  return slab;
}

}  // namespace

ConvPattern::ConvPattern(const ConvSpec& spec, RowSlab slab)
    : spec_(spec), slab_(resolve(spec, slab)) {
  // The stored convolution: for a transposed spec T, rows run over T's input, columns over T's
  // output, and the kernel walks T's output with T's stride, padding and dilation.
  const bool t = spec.is_transposed();
  const Dims& row_size = t ? spec.input_size() : spec.output_size();
  const Dims& col_size = t ? spec.output_size() : spec.input_size();
  row_channels_ = t ? spec.in_channels() : spec.out_channels();
  col_channels_ = t ? spec.out_channels() : spec.in_channels();
  col_channels_per_group_ = col_channels_ / spec.groups();
  row_channels_per_group_ = row_channels_ / spec.groups();

  const int offset = 3 - spec.rank();
  for (int a = 0; a < spec.rank(); ++a) {
    axes_[static_cast<std::size_t>(offset + a)] = detail::make_axis_map(
        row_size[a], col_size[a], spec.kernel_size()[a], spec.stride()[a], spec.dilation()[a],
        spec.pad_begin()[a], spec.padding_mode(), spec.input_dilation()[a]);
  }
  templates_ = std::make_shared<const detail::RowTemplates>(detail::make_row_templates(axes_));
  for (std::size_t a = 0; a < 3; ++a) extent_[a] = axes_[a].rows;
  const auto split = static_cast<std::size_t>(offset);  // spatial axis 0
  first_[split] = slab_.begin;
  extent_[split] = slab_.end - slab_.begin;

  auto s = std::make_shared<SparsityPattern>();
  const Index spatial_rows = extent_[0] * extent_[1] * extent_[2];
  const Index plane = axes_[0].cols * axes_[1].cols * axes_[2].cols;
  s->rows = row_channels_ * spatial_rows;
  s->cols = col_channels_ * plane;
  s->row_ptr = Buffer<RowPointer>(static_cast<std::size_t>(s->rows + 1));

  // Row r = (channel, o) holds channels_per_group · (its template's length) nonzeros: the same
  // for every channel, so one spatial pass gives all row lengths.
  std::vector<RowPointer> spatial_count(static_cast<std::size_t>(spatial_rows));
  walk_rows(axes_, *templates_, first_, extent_, 0, spatial_rows, [&](const RowShape& row) {
    spatial_count[static_cast<std::size_t>(row.row)] = col_channels_per_group_ * row.len;
  });
  RowPointer total = 0;
  s->row_ptr[0] = 0;
  for (Index c = 0, r = 0; c < row_channels_; ++c) {
    for (Index q = 0; q < spatial_rows; ++q, ++r) {
      total += spatial_count[static_cast<std::size_t>(q)];
      s->row_ptr[static_cast<std::size_t>(r + 1)] = total;
    }
  }
  s->col = Buffer<ColumnIndex>(static_cast<std::size_t>(total));

  // Whole rows relative to the row's first column, one per class combination k:
  // block[cpg·ptr[k] + c·len + e] = c·plane + col[ptr[k] + e]; a row is its block plus one base,
  // a loop the compiler vectorizes.
  const detail::RowTemplates& tm = *templates_;
  const Index cpg = col_channels_per_group_;
  std::vector<ColumnIndex> blocks(static_cast<std::size_t>(cpg) * tm.col.size());
  for (std::size_t k = 0; k + 1 < tm.ptr.size(); ++k) {
    const Index len = tm.ptr[k + 1] - tm.ptr[k];
    for (Index c = 0; c < cpg; ++c) {
      for (Index e = 0; e < len; ++e) {
        blocks[static_cast<std::size_t>(cpg * tm.ptr[k] + c * len + e)] =
            static_cast<ColumnIndex>(c * plane + tm.col[static_cast<std::size_t>(tm.ptr[k] + e)]);
      }
    }
  }
  ColumnIndex* col = s->col.data();
  const RowPointer* row_ptr = s->row_ptr.data();
  for_row_chunks(s->rows, total, "building W's structure", [&](Index r0, Index r1) {
    walk_rows(axes_, tm, first_, extent_, r0, r1, [&](const RowShape& row) {
      ColumnIndex* out = col + row_ptr[row.row];
      const ColumnIndex* block = blocks.data() + cpg * tm.ptr[row.combination];
      const ColumnIndex base = static_cast<ColumnIndex>(
          row.channel / row_channels_per_group_ * cpg * plane + row.offset);
      for (Index j = 0, n = cpg * row.len; j < n; ++j) out[j] = base + block[j];
    });
  });
  sparsity_ = std::move(s);
}

Index ConvPattern::global_row(Index row) const {
  // row = (channel, position within the slab): W's row has the slab's begin added along axis 0.
  // (0 <= row < rows(), so the slab is not empty.)
  const Index full = axes_[0].rows * axes_[1].rows * axes_[2].rows;
  const Index inner = full / slab_positions(spec_);
  const Index spatial = (slab_.end - slab_.begin) * inner;
  return row / spatial * full + slab_.begin * inner + row % spatial;
}

Index conv_matrix_nnz(const ConvSpec& spec, RowSlab slab) {
  slab = resolve(spec, slab);
  // The same stored convolution as ConvPattern's constructor.
  const bool t = spec.is_transposed();
  const Dims& row_size = t ? spec.input_size() : spec.output_size();
  const Dims& col_size = t ? spec.output_size() : spec.input_size();
  const Index row_channels = t ? spec.in_channels() : spec.out_channels();
  const Index col_channels = t ? spec.out_channels() : spec.in_channels();
  Index nnz = row_channels * (col_channels / spec.groups());
  for (int a = 0; a < spec.rank(); ++a) {
    Index sum = 0;
    const Index o_begin = a == 0 ? slab.begin : 0, o_end = a == 0 ? slab.end : row_size[a];
    for (Index o = o_begin; o < o_end; ++o) {
      sum += detail::axis_entries(o, col_size[a], spec.kernel_size()[a], spec.stride()[a],
                                  spec.dilation()[a], spec.pad_begin()[a], spec.padding_mode(),
                                  spec.input_dilation()[a]);
    }
    // ConvSpec bounds Π rows · Π kernel · channels in 64 bits, and this count is below that.
    nnz *= sum;
  }
  return nnz;
}

template <class Scalar>
void ConvPattern::fill(const Scalar* weight, Scalar* values) const {
  CONVMAT_ASSERT(weight != nullptr && (values != nullptr || nnz() == 0),
                 "ConvPattern::fill: a weight tensor and nnz() values");
  const Index rows = sparsity_->rows;
  const RowPointer* row_ptr = sparsity_->row_ptr.data();
  const bool one_tap =
      axes_[0].one_tap_per_entry && axes_[1].one_tap_per_entry && axes_[2].one_tap_per_entry;
  if (one_tap) {
    // Zero padding (or no coinciding taps): every nonzero is one weight, W[nz] = weight[tap].
    // All rows of one channel and one class combination k hold the same values, so each such
    // row is computed once, block[(channel·T + ptr[k])·cpg + c·len + e] =
    // weight[(channel·cpg + c)·Π taps + tap[ptr[k] + e]], and copied into its rows — unless
    // there are too few rows per block for that to pay.
    const detail::RowTemplates& tm = *templates_;
    const Index cpg = col_channels_per_group_;
    const Index kernel_numel = axes_[0].taps * axes_[1].taps * axes_[2].taps;
    const Index per_channel = cpg * static_cast<Index>(tm.col.size());  // Σ_k cpg·len_k
    const Index spatial_rows = extent_[0] * extent_[1] * extent_[2];
    const Index row_channels = spatial_rows == 0 ? 0 : rows / spatial_rows;
    if (row_channels * per_channel * 8 <= nnz()) {
      std::vector<Scalar> blocks(static_cast<std::size_t>(row_channels * per_channel));
#pragma omp parallel for schedule(static) if (nnz() >= parallel_nonzeros)
      for (Index channel = 0; channel < row_channels; ++channel) {
        for (std::size_t k = 0; k + 1 < tm.ptr.size(); ++k) {
          const Index len = tm.ptr[k + 1] - tm.ptr[k];
          Scalar* out = blocks.data() + channel * per_channel + cpg * tm.ptr[k];
          const Scalar* w = weight + channel * cpg * kernel_numel;
          for (Index c = 0; c < cpg; ++c, out += len, w += kernel_numel) {
            for (Index e = 0; e < len; ++e)
              out[e] = w[tm.tap[static_cast<std::size_t>(tm.ptr[k] + e)]];
          }
        }
      }
      // std::copy_n, not memcpy: a row without taps copies nothing, and a W without nonzeros
      // has no value array at all (null), which memcpy does not accept even for zero bytes.
      for_row_chunks(rows, nnz(), "filling W's values", [&](Index r0, Index r1) {
        walk_rows(axes_, tm, first_, extent_, r0, r1, [&](const RowShape& row) {
          std::copy_n(blocks.data() + row.channel * per_channel + cpg * tm.ptr[row.combination],
                      cpg * row.len, values + row_ptr[row.row]);
        });
      });
      return;
    }
    for_row_chunks(rows, nnz(), "filling W's values", [&](Index r0, Index r1) {
      walk_rows(axes_, tm, first_, extent_, r0, r1, [&](const RowShape& row) {
        Scalar* out = values + row_ptr[row.row];
        const Scalar* w = weight + row.channel * cpg * kernel_numel;
        for (Index c = 0; c < cpg; ++c, out += row.len, w += kernel_numel) {
          for (Index e = 0; e < row.len; ++e) out[e] = w[row.tap[e]];
        }
      });
    });
    return;
  }
  for_row_chunks(rows, nnz(), "filling W's values", [&](Index r0, Index r1) {
    for (Index r = r0; r < r1; ++r) {
      std::fill(values + row_ptr[r], values + row_ptr[r + 1], Scalar(0));
      for_each_tap(r, [&](Index nz, Index, Index w) { values[nz] += weight[w]; });
    }
  });
}

template <class Scalar>
std::vector<Index> ConvPattern::nonfinite_padding_rows(const Scalar* weight) const {
  if (spec_.padding_mode() != PaddingMode::zeros) return {};
  return nonfinite_gaps(weight, false);
}

template <class Scalar>
std::vector<Index> ConvPattern::nonfinite_gap_columns(const Scalar* weight) const {
  return nonfinite_gaps(weight, true);
}

template <class Scalar>
std::vector<Index> ConvPattern::nonfinite_gaps(const Scalar* weight, bool columns) const {
  std::vector<Index> positions;
  const Index kernel_numel = axes_[0].taps * axes_[1].taps * axes_[2].taps;
  const Index weight_numel = row_channels_ * col_channels_per_group_ * kernel_numel;
  if (std::all_of(weight, weight + weight_numel, [](Scalar w) { return std::isfinite(w); }))
    return positions;
  // reads[a][p·taps + k]: along axis a, tap k at position p (a row position, or a column
  // position when columns) pairs with a position of the other side (not padding, not a gap).
  std::array<std::vector<char>, 3> reads;
  std::array<Index, 3> size{};
  for (std::size_t a = 0; a < 3; ++a) {
    const detail::AxisMap& m = axes_[a];
    size[a] = columns ? m.cols : m.rows;
    reads[a].assign(static_cast<std::size_t>(size[a] * m.taps), 0);
    for (Index o = 0; o < m.rows; ++o) {
      for (Index e = m.entry_ptr[o]; e < m.entry_ptr[o + 1]; ++e) {
        const Index p = columns ? m.entry_col[e] : o;
        for (Index t = m.tap_ptr[e]; t < m.tap_ptr[e + 1]; ++t)
          reads[a][static_cast<std::size_t>(p * m.taps + m.tap[t])] = 1;
      }
    }
  }
  // The weights of a channel's tap k: weight[(row channel · cpg + column channel in group)·K + k]
  // over the other side's channels of the group.
  const Index cpg = col_channels_per_group_, rpg = row_channels_per_group_;
  const auto weight_at = [&](Index channel, Index other, Index k) {
    const Index row = columns ? channel / cpg * rpg + other : channel;
    const Index col = columns ? channel % cpg : other;
    return weight[(row * cpg + col) * kernel_numel + k];
  };
  const Index channels = columns ? col_channels_ : row_channels_;
  const Index others = columns ? rpg : cpg;
  const Index spatial = size[0] * size[1] * size[2];
  std::vector<Index> bad_taps;  // (k0, k1, k2) flattened, of one channel
  for (Index channel = 0; channel < channels; ++channel) {
    bad_taps.clear();
    for (Index k = 0; k < kernel_numel; ++k) {
      for (Index other = 0; other < others; ++other) {
        if (!std::isfinite(weight_at(channel, other, k))) {
          bad_taps.push_back(k);
          break;
        }
      }
    }
    if (bad_taps.empty()) continue;
    for (Index p = 0; p < spatial; ++p) {
      const Index p2 = p % size[2], p1 = p / size[2] % size[1], p0 = p / (size[2] * size[1]);
      const bool gap = std::any_of(bad_taps.begin(), bad_taps.end(), [&](Index k) {
        const Index k2 = k % axes_[2].taps, k1 = k / axes_[2].taps % axes_[1].taps,
                    k0 = k / (axes_[2].taps * axes_[1].taps);
        return !(reads[0][static_cast<std::size_t>(p0 * axes_[0].taps + k0)] &&
                 reads[1][static_cast<std::size_t>(p1 * axes_[1].taps + k1)] &&
                 reads[2][static_cast<std::size_t>(p2 * axes_[2].taps + k2)]);
      });
      if (gap) positions.push_back(channel * spatial + p);
    }
  }
  return positions;
}

template void ConvPattern::fill<float>(const float*, float*) const;
template void ConvPattern::fill<double>(const double*, double*) const;
template std::vector<Index> ConvPattern::nonfinite_padding_rows<float>(const float*) const;
template std::vector<Index> ConvPattern::nonfinite_padding_rows<double>(const double*) const;
template std::vector<Index> ConvPattern::nonfinite_gap_columns<float>(const float*) const;
template std::vector<Index> ConvPattern::nonfinite_gap_columns<double>(const double*) const;

}  // namespace convmat
