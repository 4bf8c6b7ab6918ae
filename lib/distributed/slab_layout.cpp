#include "convmat/distributed/slab_layout.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>
#include <string>

#include "convmat/core/detail/axis_map.hpp"

namespace convmat::distributed {

VectorLayout::VectorLayout(Index channels, Index positions, Index inner, std::vector<Index> begin)
    : channels_(channels), positions_(positions), inner_(inner), begin_(std::move(begin)) {}

int VectorLayout::owner(Index position) const {
  // The last rank p with begin(p) <= position: ranks with empty slabs before it are skipped.
  const auto it = std::upper_bound(begin_.begin(), begin_.end() - 1, position);
  return static_cast<int>(it - begin_.begin()) - 1;
}

Index VectorLayout::petsc_index(Index natural) const {
  const Index plane = positions_ * inner_;
  const Index channel = natural / plane, rest = natural % plane;
  const Index position = rest / inner_, within = rest % inner_;
  const int p = owner(position);
  const Index thickness = begin(p + 1) - begin(p);
  return offset(p) + (channel * thickness + position - begin(p)) * inner_ + within;
}

Index VectorLayout::natural_index(Index petsc) const {
  // offset(p) <= petsc < offset(p + 1)  ⇔  begin(p) <= ⌊petsc / (channels·inner)⌋ < begin(p + 1).
  const int p = owner(petsc / (channels_ * inner_));
  const Index thickness = begin(p + 1) - begin(p);
  const Index local = petsc - offset(p);
  const Index channel = local / (thickness * inner_), rest = local % (thickness * inner_);
  return channel * positions_ * inner_ + begin(p) * inner_ + rest;
}

namespace {

// The stored convolution along spatial axis a (see ConvPattern's constructor).
detail::AxisMap axis_map(const ConvSpec& spec, int a) {
  const bool t = spec.is_transposed();
  const Dims& row_size = t ? spec.input_size() : spec.output_size();
  const Dims& col_size = t ? spec.output_size() : spec.input_size();
  const auto u = static_cast<std::size_t>(a);
  return detail::make_axis_map(row_size[u], col_size[u], spec.kernel_size()[u], spec.stride()[u],
                               spec.dilation()[u], spec.pad_begin()[u], spec.padding_mode(),
                               spec.input_dilation()[u]);
}

Index product_from(const Dims& d, std::size_t first) {
  Index p = 1;
  for (std::size_t a = first; a < d.size(); ++a) p *= d[a];
  return p;
}

// The distinct column positions that any row position of axis map m reads.
Index columns_read(const detail::AxisMap& m) {
  std::vector<char> hit(static_cast<std::size_t>(m.cols), 0);
  for (Index e = 0; e < m.entry_ptr.back(); ++e) hit[static_cast<std::size_t>(m.entry_col[e])] = 1;
  return static_cast<Index>(std::count(hit.begin(), hit.end(), 1));
}

}  // namespace

SlabLayout::SlabLayout(const ConvSpec& spec, int ranks) : spec_(spec) {
  if (ranks < 1) {
    throw std::invalid_argument("a layout needs at least one rank, got " + std::to_string(ranks));
  }
  if (spec.has_input_dilation()) {
    // The halo below assumes input rows at stride spacing; an input-dilated layer has none.
    throw std::invalid_argument(
        "the distributed layout does not take an input dilation (XLA's lhs_dilation with a window "
        "stride), got " +
        spec.to_string());
  }
  const bool t = spec.is_transposed();
  const Dims& row_size = t ? spec.input_size() : spec.output_size();
  const Dims& col_size = t ? spec.output_size() : spec.input_size();
  const Index row_channels = t ? spec.in_channels() : spec.out_channels();
  const Index col_channels = t ? spec.out_channels() : spec.in_channels();
  const Index r = row_size[0], n = col_size[0];
  const Index k = spec.kernel_size()[0], s = spec.stride()[0], d = spec.dilation()[0];
  const Index p0 = spec.pad_begin()[0];
  const Index delta = std::max<Index>(0, ((k - 1) * d + 1 - s) / 2);
  std::vector<Index> a(static_cast<std::size_t>(ranks) + 1), b(a.size());
  for (int p = 0; p <= ranks; ++p) {
    const auto u = static_cast<std::size_t>(p);
    a[u] = p * r / ranks;  // r < 2³¹ and ranks < 2³¹: no overflow
    b[u] = p == 0 ? 0 : p == ranks ? n : std::clamp(a[u] * s - p0 + delta, Index{0}, n);
  }
  rows_ = VectorLayout(row_channels, r, product_from(row_size, 1), std::move(a));
  cols_ = VectorLayout(col_channels, n, product_from(col_size, 1), std::move(b));
}

Index SlabLayout::local_nnz(int p) const { return conv_matrix_nnz(spec_, rows_.slab(p)); }

Index SlabLayout::offdiagonal_nnz(int p) const {
  // A row's nonzeros are channels_per_group × the product of its entries along each axis, and
  // the owner of a column depends on its axis-0 position alone: the count factorizes.
  const detail::AxisMap m0 = axis_map(spec_, 0);
  Index outside = 0;
  for (Index o = rows_.begin(p); o < rows_.begin(p + 1); ++o) {
    for (Index e = m0.entry_ptr[o]; e < m0.entry_ptr[o + 1]; ++e) {
      const Index i = m0.entry_col[e];
      outside += i < cols_.begin(p) || i >= cols_.begin(p + 1);
    }
  }
  Index nnz = rows_.channels() * (cols_.channels() / spec_.groups()) * outside;
  for (int ax = 1; ax < spec_.rank(); ++ax) nnz *= axis_map(spec_, ax).entry_ptr.back();
  return nnz;
}

HaloCount SlabLayout::halo(int p) const {
  const detail::AxisMap m0 = axis_map(spec_, 0);
  Index per_position = cols_.channels();
  for (int ax = 1; ax < spec_.rank(); ++ax) per_position *= columns_read(axis_map(spec_, ax));
  // The axis-0 column positions that rank q's rows read outside q's own columns.
  auto ghosts = [&](int q) {
    std::set<Index> g;
    for (Index o = rows_.begin(q); o < rows_.begin(q + 1); ++o) {
      for (Index e = m0.entry_ptr[o]; e < m0.entry_ptr[o + 1]; ++e) {
        const Index i = m0.entry_col[e];
        if (i < cols_.begin(q) || i >= cols_.begin(q + 1)) g.insert(i);
      }
    }
    return g;
  };
  HaloCount h;
  const std::set<Index> mine = ghosts(p);
  std::set<int> from;
  for (Index i : mine) {
    (i < cols_.begin(p) ? h.positions_below : h.positions_above) += 1;
    from.insert(cols_.owner(i));
  }
  h.received = static_cast<Index>(mine.size()) * per_position;
  h.neighbours = static_cast<int>(from.size());
  for (int q = 0; q < ranks(); ++q) {
    if (q == p) continue;
    for (Index i : ghosts(q)) h.sent += cols_.owner(i) == p ? per_position : 0;
  }
  return h;
}

Index SlabLayout::interface_halo() const {
  const Index k = spec_.kernel_size()[0], s = spec_.stride()[0], d = spec_.dilation()[0];
  return std::max<Index>(0, (k - 1) * d + 1 - s) * cols_.channels() * cols_.inner();
}

}  // namespace convmat::distributed
