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
  if (!layout.is_permutation()) {  // reversed axes or a group move: index by index
    const Dims user_shape = layout.shape_from_canonical(canonical_shape);
    std::vector<Index> canonical_of_user(static_cast<std::size_t>(total));
    Dims c(n, 0);
    for (Index f = 0; f < total; ++f) {
      const Dims u = layout.index_from_canonical(c, canonical_shape);
      Index flat = 0;
      for (std::size_t a = 0; a < n; ++a) flat = flat * user_shape[a] + u[a];
      canonical_of_user[static_cast<std::size_t>(flat)] = f;
      for (std::size_t a = n; a-- > 0;) {
        if (++c[a] < canonical_shape[a]) break;
        c[a] = 0;
      }
    }
    for (Index f = 0; f < total; ++f) visit(f, canonical_of_user[static_cast<std::size_t>(f)]);
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
  if (!is_permutation()) return false;
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
  if (!is_permutation()) {
    fail("a layout with reversed axes or a group move (XLA's) keeps all its axes; axis " +
         std::to_string(axis) + " cannot be dropped");
  }
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
  if (!is_permutation()) {
    fail(
        "from_canonical: a layout with reversed axes or a group move needs the tensor's shape "
        "(shape_from_canonical, index_from_canonical)");
  }
  require_size(*this, canonical, "shape or index");
  Dims u(canonical.size());
  for (std::size_t i = 0; i < axes_.size(); ++i)
    u[i] = canonical[static_cast<std::size_t>(axes_[i])];
  return u;
}

Dims Layout::to_canonical(const Dims& user) const {
  if (is_identity()) return user;
  if (!is_permutation()) {
    fail("to_canonical: a layout with reversed axes or a group move is not a permutation");
  }
  require_size(*this, user, "shape or index");
  Dims c(user.size());
  for (std::size_t i = 0; i < axes_.size(); ++i) c[static_cast<std::size_t>(axes_[i])] = user[i];
  return c;
}

Layout Layout::with_group_move(int from, int to, Index groups) const {
  const int n = static_cast<int>(axes_.size());
  if (from < 0 || from >= n || to < 0 || to >= n || from == to || groups < 1 || move_groups_ != 1) {
    fail("a group move needs two different axes of " + std::to_string(n) +
         " and groups >= 1 ("
         "one move per layout), got from " +
         std::to_string(from) + ", to " + std::to_string(to) + ", groups " +
         std::to_string(groups));
  }
  Layout l(*this);
  l.move_from_ = from;
  l.move_to_ = to;
  l.move_groups_ = groups;
  return l;
}

Layout Layout::with_reversed_axis(int axis) const {
  if (axis < 0 || axis >= static_cast<int>(axes_.size())) {
    fail("a reversed axis must be one of the layout's " + std::to_string(axes_.size()) +
         " axes, got " + std::to_string(axis));
  }
  Layout l(*this);
  if (std::find(l.reversed_.begin(), l.reversed_.end(), axis) == l.reversed_.end()) {
    l.reversed_.push_back(axis);
    std::sort(l.reversed_.begin(), l.reversed_.end());
  }
  return l;
}

Dims Layout::moved_shape(const Dims& canonical_shape) const {
  require_size(*this, canonical_shape, "shape");
  Dims s = canonical_shape;
  if (move_groups_ == 1) return s;
  const auto from = static_cast<std::size_t>(move_from_), to = static_cast<std::size_t>(move_to_);
  if (s[from] % move_groups_ != 0) {
    fail("a group move of " + std::to_string(move_groups_) + " groups out of axis " +
         std::to_string(move_from_) + " needs its size to be a multiple, got shape " +
         dims_to_tuple(canonical_shape));
  }
  s[from] /= move_groups_;
  s[to] *= move_groups_;
  return s;
}

Dims Layout::shape_from_canonical(const Dims& canonical_shape) const {
  if (is_identity()) return canonical_shape;
  const Dims s = moved_shape(canonical_shape);
  Dims u(s.size());
  for (std::size_t i = 0; i < axes_.size(); ++i) u[i] = s[static_cast<std::size_t>(axes_[i])];
  return u;
}

Dims Layout::index_from_canonical(const Dims& index, const Dims& canonical_shape) const {
  if (is_identity()) return index;
  require_size(*this, index, "index");
  const Dims s = moved_shape(canonical_shape);
  Dims c = index;
  if (move_groups_ != 1) {
    const auto from = static_cast<std::size_t>(move_from_);
    const auto to = static_cast<std::size_t>(move_to_);
    const Index g = c[from] / s[from];
    c[from] %= s[from];
    c[to] += g * canonical_shape[to];
  }
  for (int a : reversed_) {
    const auto i = static_cast<std::size_t>(a);
    c[i] = s[i] - 1 - c[i];
  }
  Dims u(c.size());
  for (std::size_t i = 0; i < axes_.size(); ++i) u[i] = c[static_cast<std::size_t>(axes_[i])];
  return u;
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
