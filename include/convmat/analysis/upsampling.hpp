#pragma once
// Upsampling (and resampling) as a sparse matrix U, exactly as PyTorch defines it:
// y = U x for one sample, x of shape (C, *input_size), y of shape (C, *output_size), C order —
// torch.nn.functional.interpolate(x, size | scale_factor, mode, align_corners,
// recompute_scale_factor) with mode "nearest", "nearest-exact", "linear", "bilinear", "trilinear"
// (nn.Upsample, nn.UpsamplingNearest2d, nn.UpsamplingBilinear2d = bilinear, align_corners=True).
//
// U = I_C ⊗ U_0 ⊗ U_1 ⊗ U_2: one matrix per axis (n_a → o_a), each channel alike. Per axis, with
// n input and o output positions (PyTorch's aten/src/ATen/native/UpSample.h):
//
//   output size   o = size, or ⌊n · scale_factor⌋ (in double, like F.interpolate)
//   scale         r = 1 / scale_factor when a scale factor is given (and not recomputed),
//                     else n / o                     (align_corners = false, and nearest)
//                 r = (n − 1)/(o − 1), 0 when o = 1  (linear with align_corners = true)
//   nearest        src(j) = min(⌊j · r⌋, n − 1)                   r and the product in float32
//   nearest-exact  src(j) = min(⌊(j + ½) · r⌋, n − 1)             r in float32, the product in
//   double linear         s(j) = r·j (align_corners), else max(r·(j + ½) − ½, 0);
//                  i₀ = ⌊s⌋, i₁ = min(i₀ + 1, n − 1), λ = s − i₀:  y[j] = (1 − λ)·x[i₀] + λ·x[i₁]
//                  (o = n: the identity, whatever the scale factor — PyTorch's shortcut)
//
// So with a scale factor the source positions use 1/scale_factor, not n/o: for n = 4 and
// scale_factor 2.2, o = 8 and r = 1/2.2 ≠ 4/8. (PyTorch 1.13's channels-last nearest kernel —
// also taken by 2-d and 3-d inputs with one channel, which are channels-last contiguous too —
// instead copies when o = n and takes ⌊j/2⌋ when o = 2n; U follows the channels-first kernel.)
// Arithmetic follows PyTorch's CPU kernels in the matrix's scalar type (float for float, double for
// double), so a float U reproduces torch's float32 results to within float32 rounding; the linear
// weights are products of the per-axis (1 − λ, λ), exact zeros are not stored.

#include <string>
#include <string_view>
#include <vector>

#include "convmat/core/conv_spec.hpp"
#include "convmat/core/csr_matrix.hpp"

namespace convmat {

// linear = PyTorch's "linear" (1-d), "bilinear" (2-d), "trilinear" (3-d).
enum class Interpolation { nearest, nearest_exact, linear };

// PyTorch's name for the mode at spatial rank `rank`: "nearest", "nearest-exact", "linear",
// "bilinear", "trilinear".
std::string to_string(Interpolation mode, int rank);
// Parses PyTorch's names; "linear", "bilinear" and "trilinear" require rank 1, 2 and 3 (as
// F.interpolate does). Anything else throws std::invalid_argument.
Interpolation interpolation_from_string(std::string_view name, int rank);

struct UpsamplingParams {
  Index channels = 1;
  Dims input_size;                   // spatial size, sets the rank (1 to 3)
  Dims output_size;                  // PyTorch's size: one entry for all axes or one per axis
  std::vector<double> scale_factor;  // or PyTorch's scale_factor (exactly one of the two)
  Interpolation mode = Interpolation::nearest;
  bool align_corners = false;           // linear only (PyTorch rejects it for nearest)
  bool recompute_scale_factor = false;  // use n/o instead of 1/scale_factor (needs scale_factor)
};

// The validated geometry, like ConvSpec: the constructor throws std::invalid_argument naming the
// rule and the values (PyTorch's rules: exactly one of size and scale_factor; sizes >= 1;
// scale factors finite and > 0 with ⌊n·scale⌋ >= 1; align_corners only for linear;
// recompute_scale_factor only with a scale factor; channels >= 1; rank 1 to 3).
class UpsamplingSpec {
 public:
  explicit UpsamplingSpec(const UpsamplingParams& params);

  int rank() const { return static_cast<int>(input_size_.size()); }
  Index channels() const { return channels_; }
  const Dims& input_size() const { return input_size_; }
  const Dims& output_size() const { return output_size_; }
  Interpolation mode() const { return mode_; }
  bool align_corners() const { return align_corners_; }
  // The scale factors PyTorch passes to its kernels (per axis), or empty: size given, or
  // recompute_scale_factor.
  const std::vector<double>& scale_factor() const { return scale_factor_; }
  Index input_numel() const;   // C · Π input_size
  Index output_numel() const;  // C · Π output_size
  // One line, e.g. "upsample bilinear channels=1 input=3x3 -> output=6x6 align_corners=true".
  std::string to_string() const;

 private:
  Index channels_ = 1;
  Dims input_size_, output_size_;
  std::vector<double> scale_factor_;
  Interpolation mode_ = Interpolation::nearest;
  bool align_corners_ = false;
};

// U (output_numel × input_numel), row-major.
template <class Scalar>
typename CsrMatrix<Scalar>::RowMajorEigen upsampling_matrix(const UpsamplingSpec& spec);

// The bilinear ×2 kernel of a transposed convolution: [1, 3, 3, 1]/4 along each of `rank` axes,
// their outer product (4^rank taps), for ConvSpec::transposed(C, C, n, {4}, {2}, {1}, {}, C) —
// groups = C, one copy per channel, weight shape (C, 1, 4, …). Away from the border it equals
// bilinear (linear / trilinear) ×2 upsampling with align_corners = false; on the first and last
// position of each axis the upsampling gives the edge value weight 1, the transposed
// convolution only 3/4 (tests/analysis/test_upsampling.cpp).
template <class Scalar>
std::vector<Scalar> bilinear_kernel(Index channels, int rank);

}  // namespace convmat
