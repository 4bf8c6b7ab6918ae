#include "convmat/core/layout.hpp"

#include <algorithm>
#include <stdexcept>

namespace convmat {

namespace {

[[noreturn]] void fail(const std::string& message) { throw std::invalid_argument(message); }

std::string axes_text(const std::vector<int>& axes) {
  Dims d(axes.begin(), axes.end());
  return dims_to_list(d);
}

void require_size(const Layout& layout, const Dims& dims, const char* what) {
  if (!layout.is_identity() && dims.size() != layout.axes().size()) {
    fail(std::string("a layout of ") + std::to_string(layout.axes().size()) + " axes (" +
         (layout.format().empty() ? axes_text(layout.axes()) : layout.format()) +
         ") applied to a " + what + " of " + std::to_string(dims.size()) + " axes " +
         dims_to_tuple(dims));
  }
}

// For user axis i, the canonical stride of the axis stored there.
Dims user_strides_in_canonical(const Dims& canonical_shape, const std::vector<int>& axes) {
  const std::size_t n = canonical_shape.size();
  Dims stride(n, 1);
  for (std::size_t a = n; a-- > 1;) stride[a - 1] = stride[a] * canonical_shape[a];
  Dims s(n);
  for (std::size_t i = 0; i < n; ++i) s[i] = stride[static_cast<std::size_t>(axes[i])];
  return s;
}

// Calls visit(user_flat, canonical_flat) for every element, user flat indices in order.
template <class Visit>
void for_each_element(const Dims& canonical_shape, const Layout& layout, Visit&& visit) {
  const std::size_t n = canonical_shape.size();
  Index total = 1;
  for (Index s : canonical_shape) total *= s;
  if (total == 0) return;
  if (layout.is_identity()) {
    for (Index f = 0; f < total; ++f) visit(f, f);
    return;
  }
  const Dims user_shape = layout.from_canonical(canonical_shape);
  const Dims stride = user_strides_in_canonical(canonical_shape, layout.axes());
  Dims u(n, 0);
  Index c = 0;
  for (Index f = 0; f < total; ++f) {
    visit(f, c);
    for (std::size_t a = n; a-- > 0;) {  // the odometer: last axis fastest
      if (++u[a] < user_shape[a]) {
        c += stride[a];
        break;
      }
      c -= (user_shape[a] - 1) * stride[a];
      u[a] = 0;
    }
  }
}

}  // namespace

Layout::Layout(std::vector<int> axes, std::string_view what) : axes_(std::move(axes)) {
  std::vector<bool> seen(axes_.size(), false);
  for (int a : axes_) {
    if (a < 0 || static_cast<std::size_t>(a) >= axes_.size() || seen[static_cast<std::size_t>(a)]) {
      fail(std::string(what) + " must be a permutation of 0.." +
           std::to_string(static_cast<int>(axes_.size()) - 1) + ", got " + axes_text(axes_));
    }
    seen[static_cast<std::size_t>(a)] = true;
  }
}

bool Layout::is_identity() const {
  for (std::size_t i = 0; i < axes_.size(); ++i) {
    if (axes_[i] != static_cast<int>(i)) return false;
  }
  return true;
}

Layout Layout::inverse() const {
  std::vector<int> inv(axes_.size());
  for (std::size_t i = 0; i < axes_.size(); ++i) {
    inv[static_cast<std::size_t>(axes_[i])] = static_cast<int>(i);
  }
  return Layout(std::move(inv));
}

Layout Layout::without_axis(int axis) const {
  if (is_identity()) return Layout();
  std::vector<int> kept;
  for (int a : axes_) {
    if (a != axis) kept.push_back(a > axis ? a - 1 : a);
  }
  Layout l(std::move(kept));
  if (!format_.empty()) {
    std::string f;
    for (std::size_t i = 0; i < axes_.size(); ++i) {
      if (axes_[i] != axis) f += format_[i];
    }
    l.set_format(f);
  }
  return l;
}

Dims Layout::from_canonical(const Dims& canonical) const {
  if (is_identity()) return canonical;
  require_size(*this, canonical, "shape or index");
  Dims u(canonical.size());
  for (std::size_t i = 0; i < axes_.size(); ++i)
    u[i] = canonical[static_cast<std::size_t>(axes_[i])];
  return u;
}

Dims Layout::to_canonical(const Dims& user) const {
  if (is_identity()) return user;
  require_size(*this, user, "shape or index");
  Dims c(user.size());
  for (std::size_t i = 0; i < axes_.size(); ++i) c[static_cast<std::size_t>(axes_[i])] = user[i];
  return c;
}

std::vector<Index> Layout::flat_order(const Dims& canonical_shape) const {
  require_size(*this, canonical_shape, "shape");
  std::vector<Index> order;
  for_each_element(canonical_shape, *this, [&](Index, Index c) { order.push_back(c); });
  return order;
}

Layout layout_from_letters(std::string_view format, std::string_view outer,
                           std::string_view spatial, std::string_view what) {
  const std::string letters = std::string(outer) + std::string(spatial);
  auto refuse = [&] {
    std::string expected;
    if (letters == "NCHW" || letters == "NCW" || letters == "NCDHW") {
      expected = " (e.g. " + letters + " or " +
                 data_format_name(static_cast<int>(spatial.size()), true) + ")";
    }
    fail(std::string(what) + " must order the " + std::to_string(letters.size()) + " letters " +
         letters + expected + ", each once, got '" + std::string(format) + "'");
  };
  if (format.size() != letters.size()) refuse();
  std::string sorted(format);
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) refuse();
  std::vector<int> axes;
  for (char ch : format) {
    const auto at = letters.find(ch);
    if (at == std::string::npos) refuse();
    axes.push_back(static_cast<int>(at));
  }
  Layout l(axes, what);
  l.set_format(std::string(format));
  return l;
}

std::string_view spatial_letters(int rank) {
  if (rank < 1 || rank > 3)
    fail("a layout needs a spatial rank of 1, 2 or 3, got " + std::to_string(rank));
  return std::string_view("DHW").substr(static_cast<std::size_t>(3 - rank));
}

std::string data_format_name(int rank, bool channels_last) {
  const std::string s(spatial_letters(rank));
  return channels_last ? "N" + s + "C" : "NC" + s;
}

Layout data_layout(std::string_view format, int rank) {
  if (format.empty()) return Layout();
  return layout_from_letters(format, "NC", spatial_letters(rank), "data_format");
}

Layout weight_layout(std::string_view format, int rank, ConvKind kind) {
  if (format.empty()) return Layout();
  return layout_from_letters(format, kind == ConvKind::transposed ? "IO" : "OI",
                             spatial_letters(rank), "weight_format");
}

ConvLayouts conv_dimension_numbers(std::string_view lhs, std::string_view rhs,
                                   std::string_view out) {
  const std::string given =
      "('" + std::string(lhs) + "', '" + std::string(rhs) + "', '" + std::string(out) + "')";
  if (lhs.size() != rhs.size() || rhs.size() != out.size() || rhs.size() < 3) {
    fail("dimension_numbers must be three strings of the same length (2 + the spatial rank), got " +
         given);
  }
  std::string spatial;  // rhs's spatial letters, in its order
  for (char c : rhs) {
    if (c != 'O' && c != 'I') spatial += c;
  }
  auto parse = [&](std::string_view spec, std::string_view outer, int which) {
    std::string_view names[] = {"lhs", "rhs", "out"};
    for (char c : spec) {
      if (outer.find(c) == std::string_view::npos && spatial.find(c) == std::string::npos) {
        fail("dimension_numbers: every string must have the same spatial letters, got " + given);
      }
    }
    return layout_from_letters(
        spec, outer, spatial,
        "dimension_numbers[" + std::to_string(which) + "] (" + std::string(names[which]) + ")");
  };
  return {parse(lhs, "NC", 0), parse(rhs, "OI", 1), parse(out, "NC", 2)};
}

template <class T>
void permute_from_canonical(const T* canonical, const Dims& shape, const Layout& layout, T* out) {
  require_size(layout, shape, "tensor");
  for_each_element(shape, layout, [&](Index u, Index c) { out[u] = canonical[c]; });
}

template <class T>
void permute_to_canonical(const T* user, const Dims& canonical_shape, const Layout& layout,
                          T* out) {
  require_size(layout, canonical_shape, "tensor");
  for_each_element(canonical_shape, layout, [&](Index u, Index c) { out[c] = user[u]; });
}

template void permute_from_canonical<float>(const float*, const Dims&, const Layout&, float*);
template void permute_from_canonical<double>(const double*, const Dims&, const Layout&, double*);
template void permute_to_canonical<float>(const float*, const Dims&, const Layout&, float*);
template void permute_to_canonical<double>(const double*, const Dims&, const Layout&, double*);

}  // namespace convmat
