#pragma once
// ConvSpec: the geometry of one convolution or transposed-convolution layer, validated once.
//
// A ConvSpec that exists is valid: every rule is checked by the constructor, which throws
// std::invalid_argument naming the rule and the values. Nothing downstream re-checks.
//
// The output-size formulas live here and only here (per spatial dimension, n = input size,
// k = kernel size, s = stride, d = dilation, p0/p1 = padding at the begin/end, a = output_padding):
//   convolution  o = ⌊(n + p0 + p1 − d(k−1) − 1) / s⌋ + 1
//   transposed   o = (n − 1)s − p0 − p1 + d(k−1) + a + 1
// A convolution with input dilation l (XLA's lhs_dilation) reads the input with l − 1 zeros
// inserted between neighbouring positions: n becomes (n − 1)l + 1 in the convolution's formula.

#include <ostream>
#include <string>
#include <string_view>

#include "convmat/core/index.hpp"

namespace convmat {

enum class ConvKind { convolution, transposed };

// How a convolution reads positions outside its input (PyTorch's padding_mode).
//   zeros      x[−1] = 0
//   reflect    x[−1] = x[1]        (the edge is not repeated; needs padding < n)
//   replicate  x[−1] = x[0]
//   circular   x[−1] = x[n−1]      (needs padding <= n)
enum class PaddingMode { zeros, reflect, replicate, circular };

std::string to_string(PaddingMode mode);
std::string to_string(ConvKind kind);
inline std::ostream& operator<<(std::ostream& os, PaddingMode m) { return os << to_string(m); }
inline std::ostream& operator<<(std::ostream& os, ConvKind k) { return os << to_string(k); }
// "zeros" | "reflect" | "replicate" | "circular"; anything else throws std::invalid_argument.
PaddingMode padding_mode_from_string(std::string_view name);

// The layer's hyperparameters as the user gives them; ConvSpec validates and completes them.
// Spatial vectors have one entry per spatial dimension (the rank, 1 to 3), or one entry for all of
// them (not input_size, which sets the rank). Optional vectors may be left empty: stride and
// dilation default to 1, padding to 0, pad_end to pad_begin, output_padding to 0.
struct ConvParams {
  ConvKind kind = ConvKind::convolution;
  Index in_channels = 1;
  Index out_channels = 1;
  Index groups = 1;
  Dims input_size;  // spatial size of one input channel
  Dims kernel_size;
  Dims stride;
  Dims dilation;
  Dims pad_begin;       // ONNX pads[0 .. rank)
  Dims pad_end;         // ONNX pads[rank .. 2·rank)
  Dims output_padding;  // transposed only: extra rows at the end of the output
  PaddingMode padding_mode = PaddingMode::zeros;  // convolution only
  // Convolution only: l − 1 zeros between neighbouring input positions before the padding (XLA's
  // and StableHLO's lhs_dilation): the window reads position j of the dilated input, which is
  // x[j / l] where l divides j and 0 elsewhere. Default 1 (none). With window stride 1 this is a
  // transposed convolution (which convmat's front ends use); with a stride it is neither kind.
  Dims input_dilation;
};

// Per-dimension output size, the formulas above. No validation (ConvSpec does that); the results
// may be < 1 for an impossible layer.
Index conv_output_size(Index n, Index k, Index s, Index d, Index p0, Index p1);
// The size of an input of n positions dilated by l: (n − 1)l + 1.
Index dilated_input_size(Index n, Index l);
Index transposed_output_size(Index n, Index k, Index s, Index d, Index p0, Index p1, Index a);

class ConvSpec {
 public:
  // Validates `params` (throws std::invalid_argument with the rule and the values) and fills
  // the defaults. Rules:
  //  - rank 1, 2 or 3, and every given spatial vector has rank entries;
  //  - channels, groups, input size, kernel size, stride, dilation >= 1;
  //  - groups divides in_channels and out_channels;
  //  - padding may be negative with zeros padding: it crops instead of padding (a convolution
  //    then ignores input rows; a transposed convolution gains zero rows in its output, as ONNX
  //    ConvTranspose does for an output_shape larger than the natural one). The PyTorch and ONNX
  //    front ends (layer_args.hpp) reject negative padding where those frameworks do;
  //  - padding >= 0 with the reflect, replicate and circular padding modes;
  //  - output_padding only for a transposed convolution, >= 0, and smaller than the stride or
  //    the dilation in each dimension (PyTorch's rule);
  //  - padding modes other than zeros only for a convolution; reflect padding < input size;
  //    circular padding <= input size;
  //  - input_dilation >= 1; above 1 only for a convolution with padding_mode zeros;
  //  - every output size >= 1;
  //  - input, output and weight element counts < 2³¹ (the column index type), and the bound
  //    on the number of nonzeros fits in 64 bits.
  explicit ConvSpec(const ConvParams& params);

  // The common cases, PyTorch's argument order. Spatial vectors as in ConvParams.
  static ConvSpec convolution(Index in_channels, Index out_channels, const Dims& input_size,
                              const Dims& kernel_size, const Dims& stride = {},
                              const Dims& padding = {}, const Dims& dilation = {}, Index groups = 1,
                              PaddingMode mode = PaddingMode::zeros);
  static ConvSpec transposed(Index in_channels, Index out_channels, const Dims& input_size,
                             const Dims& kernel_size, const Dims& stride = {},
                             const Dims& padding = {}, const Dims& output_padding = {},
                             Index groups = 1, const Dims& dilation = {});

  ConvKind kind() const { return p_.kind; }
  bool is_transposed() const { return p_.kind == ConvKind::transposed; }
  int rank() const { return static_cast<int>(p_.input_size.size()); }
  Index in_channels() const { return p_.in_channels; }
  Index out_channels() const { return p_.out_channels; }
  Index groups() const { return p_.groups; }
  const Dims& input_size() const { return p_.input_size; }
  const Dims& kernel_size() const { return p_.kernel_size; }
  const Dims& stride() const { return p_.stride; }
  const Dims& dilation() const { return p_.dilation; }
  const Dims& pad_begin() const { return p_.pad_begin; }
  const Dims& pad_end() const { return p_.pad_end; }
  const Dims& output_padding() const { return p_.output_padding; }
  PaddingMode padding_mode() const { return p_.padding_mode; }
  const Dims& input_dilation() const { return p_.input_dilation; }
  // Whether some input_dilation is above 1 (a layer only XLA's general convolution expresses;
  // the spectral formulas, preconditioners and the distributed layout refuse it).
  bool has_input_dilation() const;
  const ConvParams& params() const { return p_; }

  const Dims& output_size() const { return output_size_; }

  // Tensor shapes of one sample, C order like NumPy and PyTorch.
  Dims input_shape() const;   // (C_in, *input_size)
  Dims output_shape() const;  // (C_out, *output_size)
  // PyTorch's weight layout: convolution (C_out, C_in/groups, *k),
  // transposed convolution (C_in, C_out/groups, *k).
  Dims weight_shape() const;

  Index input_numel() const { return input_numel_; }    // C_in · Π input_size
  Index output_numel() const { return output_numel_; }  // C_out · Π output_size
  Index kernel_numel() const { return kernel_numel_; }  // Π kernel_size
  Index weight_numel() const { return weight_numel_; }

  // For a transposed convolution: the convolution whose matrix W gives this layer as Wᵀ —
  // same kernel, stride, padding and dilation, channels swapped, input size = this layer's
  // output size. When output_padding < stride, this layer is exactly Wᵀ; otherwise (allowed when
  // output_padding < dilation) it is the first Π input_size·C_in rows of W, transposed.
  // For a convolution: a copy of *this.
  ConvSpec as_convolution() const;

  // One line, e.g. "conv2d in=1 out=1 groups=1 input=3x3 kernel=2x2 stride=1x1 ...".
  std::string to_string() const;

  friend bool operator==(const ConvSpec& a, const ConvSpec& b);

 private:
  ConvParams p_;
  Dims output_size_;
  Index input_numel_ = 0, output_numel_ = 0, kernel_numel_ = 0, weight_numel_ = 0;
};

bool operator==(const ConvSpec& a, const ConvSpec& b);
inline bool operator!=(const ConvSpec& a, const ConvSpec& b) { return !(a == b); }

// ----------------------------------------------------------------------------------------------
// The output-size formulas solved for the padding: the total p0 + p1 per dimension that gives the
// output size o (negative: o needs cropping).
//   convolution  P = (o − 1)s + d(k − 1) + 1 − n   the smallest such total: the floor in the
//                formula gives the same o for the s − 1 totals above it, and o − 1 below it
//   transposed   P = (n − 1)s + d(k − 1) + a + 1 − o   the only one
// How P is split between begin and end is the convention's (PyTorch's "same" and ONNX's
// SAME_UPPER put ⌊P/2⌋ at the begin, SAME_LOWER at the end; benchdnn takes P/2 rounded toward
// zero at the begin); the end padding for a given begin padding p0 is P − p0.
// Int is Index, or a wider integer where the terms may pass 2⁶³ (benchdnn's descriptors allow
// 31-bit sizes, strides and dilations). No validation: ConvSpec checks the layer it gives.
template <class Int>
constexpr Int conv_padding_for_output(Int n, Int k, Int s, Int d, Int o) {
  return (o - 1) * s + d * (k - 1) + 1 - n;
}
template <class Int>
constexpr Int transposed_padding_for_output(Int n, Int k, Int s, Int d, Int a, Int o) {
  return (n - 1) * s + d * (k - 1) + a + 1 - o;
}
// Either kind (`a`, the output_padding, counts for a transposed convolution only).
template <class Int>
constexpr Int padding_for_output(ConvKind kind, Int n, Int k, Int s, Int d, Int a, Int o) {
  return kind == ConvKind::transposed ? transposed_padding_for_output(n, k, s, d, a, o)
                                      : conv_padding_for_output(n, k, s, d, o);
}

// The name of spatial axis `axis` (0-based) of a layer of spatial rank `rank`: the last `rank` of
// d, h, w (1-d: w; 2-d: h, w; 3-d: d, h, w), as PyTorch's documentation and benchdnn name them.
std::string_view spatial_axis_name(int rank, int axis);

}  // namespace convmat
