#pragma once
// Direct loops: the reference every matrix is checked against.
//
// Written from the definitions and sharing nothing with the matrix builder except ConvSpec's shape
// arithmetic:
//  - convolution as a gather (a sliding window over the explicitly padded input, d2l's corr2d);
//  - transposed convolution as a scatter ("pixel splatting": every input element times the
//    kernel, added into the output at stride spacing, then cropped by the padding — seed 000's
//    trans_conv, seed 002's walk-through).
// Their adjoints (the gradient with respect to the input) are written the same way, so the loops
// also serve as a matrix-free operator: the convolution's adjoint scatters into the padded input
// and folds the padding back; the transposed convolution's adjoint gathers.
//
// Tensors are C order: input (batch, C_in, *input_size), output (batch, C_out, *output_size),
// weight in PyTorch's layout (ConvSpec::weight_shape), bias (C_out) or nullptr.

#include <vector>

#include "convmat/core/conv_spec.hpp"
#include "convmat/core/linear_operator.hpp"

namespace convmat {

// Convolution by gathering; spec must be a convolution.
template <class Scalar>
void direct_convolution(const ConvSpec& spec, const Scalar* input, Index batch,
                        const Scalar* weight, const Scalar* bias, Scalar* output);

// Transposed convolution by scattering; spec must be a transposed convolution.
template <class Scalar>
void direct_transposed_convolution(const ConvSpec& spec, const Scalar* input, Index batch,
                                   const Scalar* weight, const Scalar* bias, Scalar* output);

// The layer, whichever kind spec is.
template <class Scalar>
void direct_forward(const ConvSpec& spec, const Scalar* input, Index batch, const Scalar* weight,
                    const Scalar* bias, Scalar* output);

// The adjoint of the layer's linear part: input_grad = Mᵀ output_grad (no bias).
template <class Scalar>
void direct_adjoint(const ConvSpec& spec, const Scalar* output_grad, Index batch,
                    const Scalar* weight, Scalar* input_grad);

// The same layer map M with no matrix at all: the loops above (direct_forward
// without bias, direct_adjoint). Keeps its own copy of the spec and the weight.
template <class Scalar>
class DirectLoopsOperator final : public LinearOperator<Scalar> {
 public:
  // weight: spec.weight_numel() values in PyTorch's layout (ConvSpec::weight_shape).
  DirectLoopsOperator(const ConvSpec& spec, const Scalar* weight)
      : spec_(spec), weight_(weight, weight + spec.weight_numel()) {}
  Index rows() const override { return spec_.output_numel(); }
  Index cols() const override { return spec_.input_numel(); }
  void apply(const Scalar* x, Scalar* y) const override {
    direct_forward(spec_, x, 1, weight_.data(), static_cast<const Scalar*>(nullptr), y);
  }
  void apply_adjoint(const Scalar* y, Scalar* x) const override {
    direct_adjoint(spec_, y, 1, weight_.data(), x);
  }

 private:
  ConvSpec spec_;
  std::vector<Scalar> weight_;
};

}  // namespace convmat
