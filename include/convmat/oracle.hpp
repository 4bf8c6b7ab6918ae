#pragma once
// The oracle: a layer's output computed as W·x + b, compared with another implementation's output
// (the candidate), with blame for the elements that disagree and a catalogue of the mistakes
// people really make, each recomputed with the mistake injected.
//
// Everything is computed in float64 from the caller's data (float32 data converts exactly), by
// the sparse matrix W of conv_matrix.hpp. Tensors are C order: input (batch, C_in, *spatial),
// weight in PyTorch's layout (ConvSpec::weight_shape), bias (C_out), output (batch, C_out, *o).
//
// Tolerance. Output element i sums n_i products w_t·x_t (the kernel taps that meet it: the
// entries of W's row, counting taps that padding folds onto one input position separately) and
// the bias. With s_i = Σ_t |w_t|·|x_t| + |b_c| (the magnitude of what is summed) an element agrees
// when
//     |candidate_i − oracle_i| ≤ atol_i + rtol_i · s_i,
//     rtol_i = (n_i + 1)·ε + ε_out   unless given,   atol_i = (n_i + 1)·λ   unless given,
// where ε is the machine epsilon of the precision the candidate summed in (float16 2⁻¹⁰,
// bfloat16 2⁻⁷, tfloat32 2⁻¹⁰, float32 2⁻²³, float64 2⁻⁵²), ε_out that of the precision it stored
// its output in, and λ the larger of the two precisions' smallest normal numbers (2⁻¹⁴ for
// float16, 2⁻¹²⁶ for bfloat16/tfloat32/float32, 2⁻¹⁰²² for float64).
// Why: summing n + 1 terms in precision u = ε/2, in any order, errs by at most
// γ_{n+1}·s_i with γ_m = m·u/(1 − m·u) ≤ 2m·u = m·ε while m·u ≤ 1/2 (Higham, Accuracy and
// Stability of Numerical Algorithms, §3.1); rounding the result to the output type adds at most
// u_out·|y_i| ≤ ε_out·s_i; atol covers products that flush to zero below λ. The bound holds for
// every summation order (pairwise, blocked, split-K); algorithms that transform the data
// (Winograd, FFT) or round inputs (TF32) need a larger rtol or the matching precision.
//
// Blame. For the worst elements outside the tolerance: the output index, the oracle's sum, the
// candidate's value, and the terms read off W: input position, kernel tap (weight index), their
// values — for a convolution row i of W (ConvPattern::for_each_tap), for a transposed
// convolution column i of the stored W.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convmat/conv_spec.hpp"

namespace convmat {

// The precision a candidate computed or stored in.
enum class Precision { float16, bfloat16, tfloat32, float32, float64 };
std::string to_string(Precision p);
// "float16" | "bfloat16" | "tfloat32" | "float32" | "float64" (also "half", "float", "double",
// "fp16", "bf16", "tf32", "fp32", "fp64"); anything else throws std::invalid_argument.
Precision precision_from_string(std::string_view name);
double machine_epsilon(Precision p);  // 2^-(mantissa bits): 2⁻¹⁰, 2⁻⁷, 2⁻¹⁰, 2⁻²³, 2⁻⁵²
double smallest_normal(Precision p);  // 2⁻¹⁴, 2⁻¹²⁶, 2⁻¹²⁶, 2⁻¹²⁶, 2⁻¹⁰²²

// The tolerance formula at the top of this file.
struct Tolerance {
  Precision arithmetic = Precision::float32;  // the precision the candidate summed in
  Precision storage = Precision::float32;     // the precision its output was stored in
  std::optional<double> atol;                 // replaces (n + 1)·λ
  std::optional<double> rtol;                 // replaces (n + 1)·ε + ε_out

  double atol_for(Index terms) const;
  double rtol_for(Index terms) const;
  double bound(Index terms, double magnitude) const {
    return atol_for(terms) + rtol_for(terms) * magnitude;
  }
};

// A layer and the data it is applied to, all float64. The constructor checks the sizes against
// the spec (std::invalid_argument naming the array, the expected and the given size).
struct LayerData {
  LayerData(ConvSpec spec, Index batch, std::vector<double> input, std::vector<double> weight,
            std::vector<double> bias = {}, bool batched = true);

  ConvSpec spec;
  Index batch = 1;
  bool batched = true;          // false: the input and output have no batch axis (batch == 1)
  std::vector<double> input;    // batch × spec.input_numel()
  std::vector<double> weight;   // spec.weight_numel()
  std::vector<double> bias;     // spec.out_channels(), or empty for no bias

  Dims input_shape() const;   // (batch, C_in, *input_size) or (C_in, *input_size)
  Dims output_shape() const;  // (batch, C_out, *output_size) or (C_out, *output_size)
};

// y = M x + b for every sample (M = W or Wᵀ), with what the tolerance of each element needs.
struct OracleOutput {
  Dims shape;                     // LayerData::output_shape()
  std::vector<double> value;      // M x + b
  std::vector<double> magnitude;  // s_i = Σ_t |w_t|·|x_t| + |b_c|
  std::vector<Index> terms;       // n_i for the elements of one sample (output_numel entries)
};
OracleOutput oracle_forward(const LayerData& layer);

// Shapes "match" when they are equal after dropping leading dimensions of size 1, so an
// unbatched (C, H, W) candidate compares with a (1, C, H, W) output.
bool shapes_match(const Dims& expected, const Dims& candidate);

struct CheckOptions {
  Tolerance tolerance;
  Index max_blamed = 5;  // elements blamed, worst first
  Index max_terms = 8;   // terms listed per blamed element, largest |input·weight| first
};

// One product w·x summed into a blamed element.
struct BlameTerm {
  Dims input_index;   // in LayerData::input_shape()
  Dims weight_index;  // in spec.weight_shape()
  double input = 0;
  double weight = 0;
};

struct Blame {
  Dims index;              // in the expected output shape
  double oracle = 0;       // the oracle's sum, Σ input·weight + bias
  double candidate = 0;
  double error = 0;        // |candidate − oracle| (infinite when exactly one is NaN or infinite)
  double tolerance = 0;    // atol_i + rtol_i·s_i
  Index term_count = 0;    // n_i
  std::vector<BlameTerm> terms;  // at most max_terms
  bool has_bias = false;
  double bias = 0;
};

struct CheckReport {
  bool passed = false;          // shape_matches and bad == 0
  Dims expected_shape;
  Dims candidate_shape;
  bool shape_matches = false;
  Index elements = 0;           // compared (0 when the shapes differ)
  Index bad = 0;                // outside the tolerance, non-finite mismatches included
  Index nonfinite = 0;          // of those: NaN or infinity in the candidate or the oracle, not
                                // alike in both
  double max_abs_error = 0;     // max |c − o|
  double max_rel_error = 0;     // max |c − o| / |o| over o ≠ 0
  double max_error_ratio = 0;   // max |c − o| / tolerance_i (> 1 fails)
  Index min_terms = 0, max_terms = 0;  // range of n_i (for stating the tolerance used)
  std::vector<Blame> worst;     // failing elements, worst error/tolerance first
};

// Compares `candidate` (Π candidate_shape values, C order) with the oracle's output.
CheckReport check_output(const LayerData& layer, const double* candidate,
                         const Dims& candidate_shape, const CheckOptions& options = {});

// ---------------------------------------------------------------------------------------------
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
// A geometry mistake that changes the output size is also tried "with the output size kept"
// (the buggy loop runs over the candidate's output positions): same begin padding, the end
// padding chosen so that the output has the candidate's spatial size.
// Single mistakes only; combinations are not tried.

struct Hypothesis {
  std::string id;           // e.g. "pad_begin+1", "kernel_flipped[h]", "dilation+1 (size kept)"
  std::string description;  // one sentence with the values, e.g. "padding off by one at the begin: …"
  Dims shape;               // the output shape with the mistake
  bool comparable = false;  // the shape matches the candidate's
  bool reproduces = false;  // comparable and every element within the tolerance
  Index bad = 0;            // elements outside the tolerance (when comparable)
  double max_error_ratio = 0;
};

struct Diagnosis {
  CheckReport check;                // the candidate against the correct layer
  std::vector<Hypothesis> tried;    // every applicable entry, catalogue order
  std::vector<std::string> reproducing;  // ids of the hypotheses that reproduce the candidate
};

// Runs check_output and, when it fails, the catalogue. Memory: one W at a time.
Diagnosis diagnose(const LayerData& layer, const double* candidate, const Dims& candidate_shape,
                   const CheckOptions& options = {});

}  // namespace convmat
