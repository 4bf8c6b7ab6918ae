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
// IEEE special values. The oracle's sums are IEEE sums: NaN and ±inf in the data propagate as
// they do in any implementation (inf·0 = NaN, inf − inf = NaN), and a NaN or an infinity in the
// candidate agrees with the same in the oracle. Two rules complete the comparison:
//  - Zero padding meets a non-finite weight. The layer's definition multiplies a padded tap by
//    the padding's zero, and 0·inf = 0·NaN = NaN, so the oracle's value is NaN there
//    (ConvPattern::nonfinite_padding_rows, as the direct loops, PyTorch and oneDNN compute). An
//    implementation that skips the padded taps gives the sum of the others; both are accepted
//    (the latter within the tolerance), and the report counts the elements (padded_nonfinite) and
//    how many of them the candidate computed without the padded taps (padding_skipped). A
//    transposed convolution is the same gather over its input with s − 1 zeros inserted between
//    positions, padded (its definition as a convolution; XLA's lhs_dilation): where a non-finite
//    weight meets an inserted zero or the padding there, NaN and the sum without those taps (W's
//    own value, which scatter implementations such as PyTorch's give) are both accepted.
//  - Overflow. A candidate's ±inf agrees with a finite oracle value o of the same sign when a
//    value within the tolerance of o rounds to infinity in the output precision,
//    |o| + atol_i + rtol_i·s_i >= overflow_threshold(storage). A partial sum may overflow the
//    arithmetic precision in some summation order even where o does not: every partial sum lies
//    in [−N_i, P_i], the sums of the negative and the positive terms (P_i = (s_i + o)/2,
//    N_i = (s_i − o)/2), so +inf agrees when P_i·(1 + rtol_i) + atol_i >=
//    overflow_threshold(arithmetic), −inf when N_i does, and NaN (inf − inf) when both do.
//    The report counts these elements (overflow).
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

#include "convmat/core/conv_spec.hpp"
#include "convmat/core/layer_args.hpp"
#include "convmat/core/memory_limit.hpp"

namespace convmat {

// The precision a candidate computed or stored in.
enum class Precision { float16, bfloat16, tfloat32, float32, float64 };
std::string to_string(Precision p);
// The names a precision answers to: its name and its aliases, the one list that every front end
// accepts (Python's precision=, the command line's --precision) and prints.
struct PrecisionName {
  Precision precision;
  std::string_view name;                  // "bfloat16"
  std::vector<std::string_view> aliases;  // "bf16"
};
const std::vector<PrecisionName>& precision_names();
// "float16 (or half, fp16, f16), bfloat16 (or bf16), …": the list for help texts and messages.
std::string precision_names_text();
// A name or an alias of precision_names(); anything else throws std::invalid_argument
// "precision must be one of <precision_names_text()>, got '<name>'".
Precision precision_from_string(std::string_view name);
double machine_epsilon(Precision p);  // 2^-(mantissa bits): 2⁻¹⁰, 2⁻⁷, 2⁻¹⁰, 2⁻²³, 2⁻⁵²
double smallest_normal(Precision p);  // 2⁻¹⁴, 2⁻¹²⁶, 2⁻¹²⁶, 2⁻¹²⁶, 2⁻¹⁰²²
// The smallest magnitude that rounds to infinity (round to nearest, ties to even): the largest
// finite number plus half its unit in the last place, (2 − ε/2)·2^emax with emax = 15 (float16),
// 127 (bfloat16, tfloat32, float32), 1023 (float64: infinity itself).
double overflow_threshold(Precision p);

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
  bool batched = true;         // false: the input and output have no batch axis (batch == 1)
  std::vector<double> input;   // batch × spec.input_numel()
  std::vector<double> weight;  // spec.weight_numel()
  std::vector<double> bias;    // spec.out_channels(), or empty for no bias

  Dims input_shape() const;   // (batch, C_in, *input_size) or (C_in, *input_size)
  Dims output_shape() const;  // (batch, C_out, *output_size) or (C_out, *output_size)
};

// y = M x + b for every sample (M = W or Wᵀ), with what the tolerance of each element needs.
struct OracleOutput {
  Dims shape;                     // LayerData::output_shape()
  std::vector<double> value;      // M x + b
  std::vector<double> magnitude;  // s_i = Σ_t |w_t|·|x_t| + |b_c|
  std::vector<Index> terms;       // n_i for the elements of one sample (output_numel entries)
  // Empty unless a non-finite weight meets zero padding (value is NaN there, see the top of this
  // file); then the value of every element without the padded taps (equal to value elsewhere).
  std::vector<double> without_padded_taps;
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
// diagnose's defaults: its report lists the catalogue too, so it blames 3 elements, 4 terms each.
CheckOptions diagnose_check_options();

// The rule for max_blamed and max_terms: a count >= 0 (a negative one could only hide
// disagreements). std::invalid_argument "<name> must be >= 0, got <count>" otherwise, `name` as
// the caller spells it.
void require_blame_count(const std::string& name, Index count);

// One product w·x summed into a blamed element.
struct BlameTerm {
  Dims input_index;   // in LayerData::input_shape()
  Dims weight_index;  // in spec.weight_shape()
  double input = 0;
  double weight = 0;
};

template <class Visit>
void for_each_field(const BlameTerm& t, Visit&& visit) {
  visit("input_index", t.input_index);
  visit("weight_index", t.weight_index);
  visit("input", t.input);
  visit("weight", t.weight);
}

struct Blame {
  Dims index;         // in the expected output shape
  double oracle = 0;  // the oracle's sum, Σ input·weight + bias
  double candidate = 0;
  double error = 0;      // |candidate − oracle| (infinite when exactly one is NaN or infinite)
  double tolerance = 0;  // atol_i + rtol_i·s_i
  Index term_count = 0;  // n_i
  std::vector<BlameTerm> terms;  // at most max_terms
  bool has_bias = false;
  double bias = 0;
};

template <class Visit>
void for_each_field(const Blame& b, Visit&& visit) {
  visit("index", b.index);
  visit("oracle", b.oracle);
  visit("candidate", b.candidate);
  visit("error", b.error);
  visit("tolerance", b.tolerance);
  visit("term_count", b.term_count);
  visit("terms", b.terms);
  visit("bias", b.has_bias ? std::optional<double>(b.bias) : std::nullopt);
}

struct CheckReport {
  bool passed = false;  // shape_matches and bad == 0
  Dims expected_shape;
  Dims candidate_shape;
  bool shape_matches = false;
  Index elements = 0;          // compared (0 when the shapes differ)
  Index bad = 0;               // outside the tolerance, non-finite mismatches included
  Index nonfinite = 0;         // of those: NaN or infinity in the candidate or the oracle, not
                               // alike in both
  Index overflow = 0;          // accepted as overflow: the candidate's ±inf (or NaN) where the
                               // oracle's finite value overflows the candidate's precision
  Index padded_nonfinite = 0;  // NaN in the oracle because a non-finite weight meets zero padding
  Index padding_skipped = 0;   // of those, computed by the candidate without the padded taps
  double max_abs_error = 0;    // max |c − o|
  double max_rel_error = 0;    // max |c − o| / |o| over o ≠ 0
  double max_error_ratio = 0;  // max |c − o| / tolerance_i (> 1 fails)
  Index min_terms = 0, max_terms = 0;  // range of n_i (for stating the tolerance used)
  std::vector<Blame> worst;            // failing elements, worst error/tolerance first
};

// Its fields (core/fields.hpp).
template <class Visit>
void for_each_field(const CheckReport& r, Visit&& visit) {
  visit("passed", r.passed);
  visit("expected_shape", r.expected_shape);
  visit("candidate_shape", r.candidate_shape);
  visit("shape_matches", r.shape_matches);
  visit("elements", r.elements);
  visit("bad", r.bad);
  visit("nonfinite", r.nonfinite);
  visit("overflow", r.overflow);
  visit("padded_nonfinite", r.padded_nonfinite);
  visit("padding_skipped", r.padding_skipped);
  visit("max_abs_error", r.max_abs_error);
  visit("max_rel_error", r.max_rel_error);
  visit("max_error_ratio", r.max_error_ratio);
  visit("min_terms", r.min_terms);
  visit("max_terms", r.max_terms);
  visit("worst", r.worst);
}

// The tolerance a check used, as the reports state it: the precisions and their epsilons, atol
// and rtol when given (absent: the formulas), and the formulas' values at the report's largest
// term count — the loosest bound it applied.
struct ToleranceReport {
  Precision arithmetic = Precision::float32;
  Precision storage = Precision::float32;
  double eps = 0, eps_out = 0;  // machine_epsilon of arithmetic and storage
  std::optional<double> rtol, atol;
  double rtol_at_max_terms = 0, atol_at_max_terms = 0;
};
ToleranceReport tolerance_report(const Tolerance& tolerance, const CheckReport& report);
template <class Visit>
void for_each_field(const ToleranceReport& t, Visit&& visit) {
  visit("arithmetic", t.arithmetic);
  visit("storage", t.storage);
  visit("eps", t.eps);
  visit("eps_out", t.eps_out);
  visit("rtol", t.rtol);
  visit("atol", t.atol);
  visit("rtol_at_max_terms", t.rtol_at_max_terms);
  visit("atol_at_max_terms", t.atol_at_max_terms);
}

// The report's sentence on the IEEE rules that applied (the top of this file), for the front
// ends to print: e.g. "1 element is NaN in the oracle because an infinite or NaN weight meets zero
// padding (IEEE: 0·inf = NaN), accepted as NaN or as the sum without the padded taps (1 computed
// so); 1 element overflows: the candidate's infinity accepted (float32 output, float32
// arithmetic)". Empty when none applied.
std::string ieee_note(const CheckReport& report, const Tolerance& tolerance);

// Compares `candidate` (Π candidate_shape values, C order) with the oracle's output.
CheckReport check_output(const LayerData& layer, const double* candidate,
                         const Dims& candidate_shape, const CheckOptions& options = {});

// An empty expected output (core/xla.hpp: EmptyOutput — XLA's general convolution where no
// window fits): nothing to compare, so the candidate passes when its shape matches
// `expected_shape` (shapes_match) and fails on its shape otherwise. Both shapes as given.
CheckReport check_empty_output(const Dims& expected_shape, const Dims& candidate_shape);

// Tensors in the caller's layouts (LayerCall's data_format / weight_format, layout.hpp). The
// oracle computes in convmat's order; the front ends translate the data into it
// (LayerCall::to_canonical), the candidate with candidate_to_canonical, and the report back with
// report_in_given_layouts, so that every index and shape it states is in the caller's layouts.
//
// The candidate (C order, `candidate_shape` as the caller stores it) in convmat's order, and the
// shape to compare: its shape read in the call's output layout — leading axes of size 1 dropped
// or added to give the layout's number of axes — so that a candidate of another size still
// compares with the mistakes that change the size (diagnose). A candidate whose number of axes
// cannot be read so is left as it is, with a shape that matches no output.
Dims candidate_to_canonical(const LayerCall& call, std::vector<double>& candidate,
                            const Dims& candidate_shape);
// The report in the call's layouts: the expected shape, the candidate's as given, and every
// blamed index (the output's, and each term's input and weight index).
void report_in_given_layouts(const LayerCall& call, const Dims& candidate_shape,
                             CheckReport& report);

// The memory guard of check_output (diagnose = false) and diagnose (true), before the data is read:
// W in float64 and the float64 arrays they hold — x and |x|, the weight, |w| and its ones, the
// output's values, magnitudes and term counts, and the candidate; diagnose holds a second layer
// (one mistaken layer at a time). Throws MemoryLimitExceeded as require_memory does.
void require_oracle_memory(const MemoryLimit& limit, const ConvSpec& spec, Index batch,
                           Index candidate_numel, bool diagnose);

}  // namespace convmat
