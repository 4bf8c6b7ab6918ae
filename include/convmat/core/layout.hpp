#pragma once
// Layouts: the order in which a framework stores a tensor's axes, as a permutation of convmat's
// own order (DESIGN.md, "Index order"):
//   data               (N, C, *spatial)                                   "NCHW"
//   convolution weight (C_out, C_in/groups, *kernel)                      "OIHW"
//   transposed weight  (C_in, C_out/groups, *kernel)                      "IOHW"
// (O and I name the layer's output and input channels in both kinds, so a transposed layer's
// PyTorch weight is "IOHW", and TensorFlow's conv2d_transpose filter [h, w, out, in] is "HWOI").
//
// A layout never changes the layer, only where its numbers are stored: the layer of an NHWC input
// has the matrix P·W·Q, W the NCHW layer's matrix and P, Q permutation matrices (flat_order).
//
// Formats are strings of distinct letters, one per axis, as TensorFlow's data_format and
// XLA/JAX's dimension_numbers spell them: two letters name the non-spatial axes (N and C for data,
// O and I for weights) and the others the spatial axes, matched by letter. For data_format and
// weight_format the spatial letters are the last `rank` of D, H, W (1-d: W; 2-d: H, W; 3-d: D,
// H, W), in that order; XLA's dimension_numbers may use any letters, in the order the caller
// says (conv_general_dilated: the order of the weight's spec).

#include <string>
#include <string_view>
#include <vector>

#include "convmat/core/conv_spec.hpp"
#include "convmat/core/index.hpp"

namespace convmat {

// axes[i]: the convmat axis that is stored as axis i of the user's tensor — user = np.transpose(
// canonical, axes). Empty: convmat's own order, whatever the number of axes.
class Layout {
 public:
  Layout() = default;
  // A permutation of 0 .. size−1; std::invalid_argument otherwise (what: "data_format", ...).
  explicit Layout(std::vector<int> axes, std::string_view what = "layout");

  const std::vector<int>& axes() const { return axes_; }
  bool is_identity() const;
  // The inverse permutation: canonical = np.transpose(user, inverse().axes()).
  Layout inverse() const;
  // The same layout without axis `axis` of the canonical order (the batch of an unbatched input):
  // the other axes keep their order.
  Layout without_axis(int axis) const;

  // user shape / index from the canonical one (s[i] = c[axes[i]]), and back. The argument must
  // have as many entries as the layout has axes (any number for the identity). For a layout
  // that is a permutation of axes only (is_permutation()).
  Dims from_canonical(const Dims& canonical) const;
  Dims to_canonical(const Dims& user) const;

  // Beyond a permutation (XLA's window_reversal and batch_group_count), both on convmat's axes,
  // the group move applied first:
  //  - a group move: canonical axis `from`, of size G·m, is stored with size m, its group
  //    g = i / m leading axis `to`: stored index g·size[to] + i[to] (stored size G·size[to]);
  //  - reversed axes: element i of the axis (of size n) is stored at n − 1 − i.
  Layout with_group_move(int from, int to, Index groups) const;
  Layout with_reversed_axis(int axis) const;
  bool is_permutation() const { return reversed_.empty() && move_groups_ == 1; }
  // The user's shape, and the user's index of an element, for a tensor of canonical shape
  // `canonical_shape`: any layout.
  Dims shape_from_canonical(const Dims& canonical_shape) const;
  Dims index_from_canonical(const Dims& index, const Dims& canonical_shape) const;

  // The permutation of flat (C-order) indices: entry f is the canonical flat index of the element
  // stored at user flat index f, for a tensor of canonical shape `canonical_shape`. As a matrix
  // (row f, column order[f]) it is P with user = P·canonical.
  std::vector<Index> flat_order(const Dims& canonical_shape) const;

  // "NHWC" for a data layout; the letters the layout was made from, or "" for the identity.
  const std::string& format() const { return format_; }
  void set_format(std::string format) { format_ = std::move(format); }

  friend bool operator==(const Layout& a, const Layout& b) {
    return a.axes_ == b.axes_ && a.reversed_ == b.reversed_ && a.move_from_ == b.move_from_ &&
           a.move_to_ == b.move_to_ && a.move_groups_ == b.move_groups_;
  }

 private:
  // The canonical shape after the group move.
  Dims moved_shape(const Dims& canonical_shape) const;

  std::vector<int> axes_;
  std::string format_;
  std::vector<int> reversed_;  // canonical axes, ascending
  int move_from_ = 0, move_to_ = 0;
  Index move_groups_ = 1;
};

// The layout of `format` (e.g. "NHWC"): `outer` holds the two letters of convmat's first two axes
// ("NC" or "OI"), `spatial` the spatial letters in convmat's order. std::invalid_argument naming
// `what` and the format when it is not a permutation of those letters.
Layout layout_from_letters(std::string_view format, std::string_view outer,
                           std::string_view spatial, std::string_view what);

// The spatial letters of a layer of spatial rank `rank` (1–3): "W", "HW", "DHW".
std::string_view spatial_letters(int rank);

// data_format: "NCHW", "NHWC", "NCW", "NWC", "NCDHW", "NDHWC", or any order of N, C and the
// spatial letters of `rank`. Empty: convmat's own (N, C, *spatial).
Layout data_layout(std::string_view format, int rank);
// weight_format: "OIHW", "HWIO", "OHWI", "IOHW", ... (O, I and the spatial letters of `rank`),
// relative to the weight layout of `kind` (convolution OI…, transposed IO…). Empty: convmat's.
Layout weight_layout(std::string_view format, int rank, ConvKind kind);
// The channels-first / channels-last data format of a rank: "NCHW" / "NHWC" for 2.
std::string data_format_name(int rank, bool channels_last);

// XLA's and JAX's dimension_numbers (lax.conv_general_dilated): three strings such as
// ("NHWC", "HWIO", "NHWC") naming the axes of lhs (N, C), rhs (O, I) and the output (N, C), each
// with the same spatial letters, which may be any other characters. The spatial axes are matched
// by letter, in the order of rhs's string (as conv_general_permutations orders them; the
// window_strides, padding and dilations follow it). std::invalid_argument naming the rule and
// the strings otherwise.
struct ConvLayouts {
  Layout input, weight, output;
};
ConvLayouts conv_dimension_numbers(std::string_view lhs, std::string_view rhs,
                                   std::string_view out);

// user = np.transpose(canonical, layout.axes()) for a C-order tensor of canonical shape `shape`,
// and the inverse. `out` must not overlap `in`.
template <class T>
void permute_from_canonical(const T* canonical, const Dims& shape, const Layout& layout, T* out);
template <class T>
void permute_to_canonical(const T* user, const Dims& canonical_shape, const Layout& layout, T* out);

}  // namespace convmat
