#pragma once
// Quantized convolution as ONNX defines it, computed exactly: ConvInteger and QLinearConv.
//
//   ConvInteger   acc[n, m, o] = Σ_taps (x − x_zero_point)·(w[m, …] − w_zero_point[m])    int32
//   QLinearConv   acc = the same sum + B[m]                                                 int32
//                 y = saturate(round_half_to_even(acc · x_scale·w_scale[m] / y_scale)
//                              + y_zero_point)                         int8 / uint8
// over the taps of ONNX Conv with the same attributes (layer_args.hpp: onnx_conv). Padding holds
// x_zero_point, so a padded tap adds 0. w_zero_point and w_scale hold one value (per tensor) or
// one per output channel m; x_zero_point, x_scale, y_scale and y_zero_point one value.
//
// Exactness: the accumulators are computed by W (conv_matrix.hpp) in float64, where every partial
// sum of 8-bit products is an integer below 2⁵³, so they are the exact integers; one outside the
// int32 range is refused. The requantization multiplies in float64 (the scales are float32, their
// product and quotient are computed in float64 and rounded once more by the product with acc),
// rounds half to even (ONNX's rule) and saturates to the output type's range. Implementations
// that multiply in float32 (ONNX Runtime; PyTorch's fbgemm and qnnpack) can differ by one unit
// where acc · multiplier lies within float32's rounding of a tie; compare_quantized reports every
// mismatch with its accumulator and the real value acc · multiplier, so such a unit reads as what
// it is.

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "convmat/core/conv_spec.hpp"
#include "convmat/core/layer_args.hpp"

namespace convmat {

// The quantized ops, by name and ONNX alias: onnx_conv_integer (ConvInteger) and
// onnx_qlinear_conv (QLinearConv, which requantizes). Their geometry is ONNX Conv's (the op
// table's onnx_conv row); their check compares integers exactly (compare_quantized), so they are
// not rows of the op table, whose ops the floating-point oracle serves.
struct QuantizedOp {
  std::string_view name, alias;
  bool requantizes = false;
};
const std::vector<QuantizedOp>& quantized_ops();

// The int32 accumulators acc (batch × spec.output_numel(), C order) of ConvInteger, plus
// bias[m] when given (QLinearConv's B). x: batch × spec.input_numel(); w: spec.weight_numel();
// w_zero_point: 1 or spec.out_channels() values; bias: empty or spec.out_channels() values.
// std::invalid_argument for sizes that do not fit the layer and for an accumulator outside
// int32 (naming the element and its value). spec must be a convolution.
std::vector<std::int64_t> conv_integer(const ConvSpec& spec, Index batch,
                                       const std::vector<std::int64_t>& x,
                                       std::int64_t x_zero_point,
                                       const std::vector<std::int64_t>& w,
                                       const std::vector<std::int64_t>& w_zero_point,
                                       const std::vector<std::int64_t>& bias = {});

// QLinearConv's output type's range: int8 [−128, 127] or uint8 [0, 255].
struct QuantizedRange {
  std::int64_t lo = -128, hi = 127;
};

// round_half_to_even(acc · multiplier) + zero_point, saturated to [range.lo, range.hi].
std::int64_t requantize(std::int64_t acc, double multiplier, std::int64_t zero_point,
                        QuantizedRange range);

// The multiplier of output channel m: x_scale · w_scale[m] / y_scale (w_scale: 1 or C_out
// values). std::invalid_argument unless every scale is finite and > 0.
std::vector<double> requantization_multipliers(double x_scale, const std::vector<double>& w_scale,
                                               double y_scale, Index out_channels);

// QLinearConv's output for the accumulators `acc` of conv_integer (with B): batch × output_numel
// values of the output type.
std::vector<std::int64_t> qlinear_requantize(const ConvSpec& spec,
                                             const std::vector<std::int64_t>& acc,
                                             const std::vector<double>& multipliers,
                                             std::int64_t y_zero_point, QuantizedRange range);

// A candidate's quantized output against the expected one, exactly: every mismatch counted, the
// worst `max_listed` listed (largest |difference| first, then by index) with the accumulator and
// the real value acc · multiplier before rounding (NaN for ConvInteger, which does not round).
struct QuantizedMismatch {
  Index index = 0;  // flat, C order
  std::int64_t expected = 0, candidate = 0, accumulator = 0;
  double real = 0;
};
struct QuantizedComparison {
  Index elements = 0, mismatches = 0, off_by_one = 0;  // off_by_one: |difference| == 1
  std::int64_t max_difference = 0;
  std::vector<QuantizedMismatch> worst;
};
QuantizedComparison compare_quantized(const std::vector<std::int64_t>& expected,
                                      const std::vector<std::int64_t>& candidate,
                                      const std::vector<std::int64_t>& accumulators,
                                      const std::vector<double>& real, Index max_listed = 5);

// ---------------------------------------------------------------------------------------------
// The quantized ops as front ends take them: ONNX's inputs by name, with their types, checked
// here once (Python's keywords, the command line's --x-scale VALUE|FILE.npy, ...).

// The op named `name` or its ONNX alias, or nullptr.
const QuantizedOp* find_quantized_op(std::string_view name);

// What an input holds: a zero point (of x's, w's or the output's 8-bit type), a scale (ONNX's
// tensor(float): float32), or QLinearConv's bias B (int32).
enum class QuantizedInputType { x_type, w_type, output_type, scale, int32 };
struct QuantizedInput {
  std::string_view name;  // ONNX's: "x_scale", "x_zero_point", ..., "B"
  QuantizedInputType type;
  bool per_channel = false;   // one value or one per output channel (w_scale, w_zero_point);
                              // B has one per output channel always
  bool requantizing = false;  // QLinearConv's only
  bool required = false;      // QLinearConv requires it (ConvInteger's zero points default to 0)
  // A single value that the command line may give as a number instead of a file.
  bool scalar_flag = true;
};
// In ONNX's input order: x_scale, x_zero_point, w_scale, w_zero_point, y_scale, y_zero_point, B.
const std::vector<QuantizedInput>& quantized_inputs();
// The input named `name` (ONNX's), or nullptr.
const QuantizedInput* find_quantized_input(std::string_view name);

// The range of ONNX's 8-bit types: "int8" [−128, 127], "uint8" [0, 255]; std::invalid_argument
// "<what> must have dtype int8 or uint8 (ONNX's T1/T2/T3), got <type>" otherwise.
QuantizedRange quantized_range(std::string_view type, std::string_view what);

// A quantized op's data: x and w (spec's input and weight, C order) with their dtypes ("int8",
// "uint8"), and the quantization inputs by ONNX name with their dtypes ("int8", "float32", …;
// a value given as a number has the type its input needs, checked against its range).
struct QuantizedValue {
  std::vector<double> values;
  std::string type;
};
// A quantization input given as plain numbers (the command line's "0.5" or "1,-2", Python's int,
// float or list), typed as ONNX types that input, since numbers carry no type: a scale float32
// (each number rounded to float32, ONNX's tensor(float)), x_zero_point x's type, w_zero_point w's,
// y_zero_point x's (QLinearConv's output type is y_zero_point's; given as a number it is taken to
// be x's), B int32. The values themselves (integers, ranges, counts) are checked by
// quantized_apply like those of a typed tensor.
QuantizedValue quantized_value_from_numbers(const QuantizedInput& input,
                                            const std::vector<double>& numbers,
                                            std::string_view x_type, std::string_view w_type);

// The dtype rules (an input or tensor of another type than ONNX's) throw this, so that front ends
// can tell a wrong type (Python's TypeError) from a wrong value (ValueError).
struct QuantizedTypeError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

struct QuantizedData {
  ConvSpec spec;
  Index batch = 1;
  std::vector<std::int64_t> x, w;
  std::string x_type, w_type;
  std::map<std::string, QuantizedValue, std::less<>> inputs;
};
// The op's output: ConvInteger's int32 accumulators, or QLinearConv's requantized values of the
// output type, with the accumulators (+ B) and the real values acc · multiplier before rounding
// (empty for ConvInteger).
struct QuantizedOutput {
  std::string type;  // "int32", "int8", "uint8"
  std::vector<std::int64_t> values, accumulators;
  std::vector<double> real;
};
// Every rule of the inputs checked (std::invalid_argument naming the input, the rule and the
// values; QuantizedTypeError for a type): x and w int8/uint8 holding integers of their types; a
// zero point of its tensor's type and within its range, one value (w_zero_point: or one per
// output channel); scales float32, finite and > 0; B int32, one per output channel; QLinearConv's
// required inputs present, ConvInteger's requantizing ones absent.
QuantizedOutput quantized_apply(const QuantizedOp& op, const QuantizedData& data);

// The inputs of `data` checked as quantized_apply checks them, as numbers: the zero points
// (absent ones 0), B (empty when absent), and QLinearConv's scales, output type and its range
// (ConvInteger: int32, the scales 1).
struct QuantizedParameters {
  std::int64_t x_zero_point = 0;
  std::vector<std::int64_t> w_zero_point{0};  // 1 or C_out values
  std::vector<std::int64_t> bias;             // B: empty or C_out values
  double x_scale = 1, y_scale = 1;
  std::vector<double> w_scale{1};  // 1 or C_out values
  std::int64_t y_zero_point = 0;
  std::string output_type = "int32";
  QuantizedRange output_range{std::numeric_limits<std::int32_t>::min(),
                              std::numeric_limits<std::int32_t>::max()};
};
QuantizedParameters quantized_parameters(const QuantizedOp& op, const QuantizedData& data);

// Tensors in the caller's layouts (the call's data_format / weight_format, layer_args.hpp: an
// int8 kernel's NHWC data and OHWI weights, say): `data` holds x and w as the caller stores them
// (spec and batch the call's); the output — values, accumulators and the real values — comes
// back in the call's output layout, so compare_quantized's flat indices are the caller's. The
// per-channel inputs (w_scale, w_zero_point, B) are per output channel in every layout. With
// convmat's own layouts this is quantized_apply.
QuantizedOutput quantized_apply(const QuantizedOp& op, const QuantizedData& data,
                                const LayerCall& call);
// The parts: x and w in the caller's layouts → convmat's order; an output in convmat's order →
// the caller's output layout.
QuantizedData quantized_data_to_canonical(const LayerCall& call, QuantizedData data);
void quantized_output_to_given(const LayerCall& call, QuantizedOutput& out);

// A candidate output (check, diagnose) has ONNX's output type, `output_type` (QuantizedOutput's
// or QuantizedParameters's: int32 for ConvInteger, y_zero_point's for QLinearConv): integers of
// another type are another output even where the values agree, and floats are no quantized
// output. QuantizedTypeError naming the op, both types and where the output type comes from.
void require_quantized_output_type(const QuantizedOp& op, std::string_view output_type,
                                   std::string_view candidate_type);

}  // namespace convmat
