#pragma once
// diagnose: the catalogue of mistakes.
//
// Each applicable entry is recomputed by the oracle with the mistake injected and compared with
// the candidate under the same tolerance rule; those that reproduce it are named. The families:
//   kernel_flipped            the kernel reversed along every spatial axis (a true convolution
//                             instead of cross-correlation; or a transposed convolution computed
//                             as a convolution of the stride-dilated input without the flip),
//                             and along one axis only (rank >= 2)
//   pads_swapped              begin and end padding swapped (ONNX SAME_UPPER ↔ SAME_LOWER)
//   pad_begin±1, pad_end±1    padding off by one at the begin or the end (all axes, and one
//                             axis at a time for rank >= 2)
//   output_padding_at_begin   transposed: output_padding added at the begin instead of the end
//   weight_channels_swapped   the weight's two channel axes swapped within each group: a
//                             transposed weight read as (g, C_out/g, C_in/g, k…) (oneDNN's
//                             deconvolution layout) instead of (C_in, C_out/g, k…); a
//                             convolution weight read as (g, C_in/g, C_out/g, k…)
//   groups_wrong_axis_*       the channel axis seen as (C/g, g) instead of (g, C/g): channel c in
//                             group c mod g, on the input side, the output side, or both
//   dilation-1, dilation+1    dilation taken as d − 1 (axes with d > 1) or d + 1
//   bias_missing, bias_twice  the bias left out or added twice
//   stride_dilation_swapped   stride and dilation swapped
//   padding_mode_zeros        reflect/replicate/circular padding done as zeros
//   negative_padding_clamped  negative padding clamped to 0: ONNX Runtime's reading of
//                             ConvTranspose with auto_pad SAME_UPPER/SAME_LOWER and no
//                             output_shape when the full splat is shorter than n·stride (the
//                             total padding is negative). convmat reads ONNX's rule literally:
//                             the output is n·stride, the missing rows are zeros (+ bias)
//   output_padding_clamped    transposed: output_padding >= stride (valid in PyTorch below the
//                             dilation) clamped to stride − 1, as runtimes that require
//                             output_padding < stride would compute it
// A geometry mistake that changes the output size is also tried "with the output size kept"
// (the buggy loop runs over the candidate's output positions): same begin padding, the end
// padding chosen so that the output has the candidate's spatial size.
// Single mistakes only; combinations are not tried.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "convmat/core/quantized.hpp"
#include "convmat/oracle/check.hpp"

namespace convmat {

struct Hypothesis {
  std::string id;  // e.g. "pad_begin+1", "kernel_flipped[h]", "dilation+1 (size kept)"
  std::string
      description;  // one sentence with the values, e.g. "padding off by one at the begin: …"
  Dims shape;       // the output shape with the mistake
  bool comparable = false;  // the shape matches the candidate's
  bool reproduces = false;  // comparable and every element within the tolerance
  Index bad = 0;            // elements outside the tolerance (when comparable)
  double max_error_ratio = 0;
};

template <class Visit>
void for_each_field(const Hypothesis& h, Visit&& visit) {
  visit("id", h.id);
  visit("description", h.description);
  visit("shape", h.shape);
  visit("comparable", h.comparable);
  visit("reproduces", h.reproduces);
  visit("bad", h.bad);
  visit("max_error_ratio", h.max_error_ratio);
}

struct Diagnosis {
  CheckReport check;                     // the candidate against the correct layer
  std::vector<Hypothesis> tried;         // every applicable entry, catalogue order
  std::vector<std::string> reproducing;  // ids of the hypotheses that reproduce the candidate
};
// Its fields (core/fields.hpp).
template <class Visit>
void for_each_field(const Diagnosis& d, Visit&& visit) {
  visit("check", d.check);
  visit("tried", d.tried);
  visit("reproducing", d.reproducing);
}

// Runs check_output and, when it fails, the catalogue. Memory: one W at a time.
Diagnosis diagnose(const LayerData& layer, const double* candidate, const Dims& candidate_shape,
                   const CheckOptions& options = {});

// The diagnosis in the call's layouts (check.hpp: report_in_given_layouts): its check, and each
// hypothesis's output shape.
void report_in_given_layouts(const LayerCall& call, const Dims& candidate_shape, Diagnosis& d);

// ---------------------------------------------------------------------------------------------
// diagnose for the quantized ops (core/quantized.hpp: ONNX's ConvInteger and QLinearConv). Their
// outputs are integers, so each mistake is recomputed exactly and compared exactly: a hypothesis
// reproduces the candidate when every element is equal. The catalogue, the mistakes int8
// implementations make against ONNX's definition (ConvInteger and QLinearConv subtract the zero
// points; their backend case test_convinteger_with_padding shows the padding holding
// x_zero_point; QLinearConv's B is quantized with scale x_scale·w_scale and zero point 0, so it
// belongs to the int32 accumulator; QuantizeLinear, which QLinearConv's requantization is,
// rounds half to even and saturates):
struct QuantizedMistake {
  std::string_view id;
  std::string_view summary;  // one line, for the front ends' help
};
const std::vector<QuantizedMistake>& quantized_mistakes();

struct QuantizedHypothesis {
  std::string id;           // one of quantized_mistakes()
  std::string description;  // one sentence with this layer's values
  bool reproduces = false;  // every element equal to the candidate's
  Index mismatches = 0;     // elements where it differs from the candidate
  std::int64_t max_difference = 0;
};
template <class Visit>
void for_each_field(const QuantizedHypothesis& h, Visit&& visit) {
  visit("id", h.id);
  visit("description", h.description);
  visit("reproduces", h.reproduces);
  visit("mismatches", h.mismatches);
  visit("max_difference", h.max_difference);
}

struct QuantizedDiagnosis {
  QuantizedOutput expected;                // ONNX's output (quantized_apply)
  QuantizedComparison check;               // the candidate against it
  std::vector<QuantizedHypothesis> tried;  // every applicable mistake, catalogue order
  std::vector<std::string> reproducing;    // ids of those equal to the candidate
};

// Compares the candidate (the op's output values, C order) with quantized_apply's and, when they
// differ, recomputes each applicable mistake. std::invalid_argument for the inputs' rules
// (quantized_apply's) and a candidate of another size; `max_listed` as compare_quantized's.
QuantizedDiagnosis diagnose_quantized(const QuantizedOp& op, const QuantizedData& data,
                                      const std::vector<std::int64_t>& candidate,
                                      Index max_listed = 5);
// The same on tensors in the caller's layouts (quantized.hpp: quantized_apply with a call): x,
// w and the candidate as the caller stores them; the expected output and the comparison (its
// flat indices) in the call's output layout.
QuantizedDiagnosis diagnose_quantized(const QuantizedOp& op, const QuantizedData& data,
                                      const std::vector<std::int64_t>& candidate,
                                      Index max_listed, const LayerCall& call);

}  // namespace convmat
