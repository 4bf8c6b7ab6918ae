#pragma once
// The oracle's evaluation, shared by check_output (check.cpp) and diagnose (diagnose.cpp): the
// layer computed as W·x + b with the magnitudes and term counts of its elements, and the candidate
// compared with it under the tolerance rule of oracle/check.hpp.

#include <memory>
#include <utility>
#include <vector>

#include "convmat/core/conv_pattern.hpp"
#include "convmat/oracle/check.hpp"

namespace convmat::detail {

// `cached` when it is the structure of `spec`, else a new one.
std::shared_ptr<const ConvPattern> pattern_for(const ConvSpec& spec,
                                               const std::shared_ptr<const ConvPattern>& cached);

// y = M x + b with s_i and n_i (OracleOutput).
OracleOutput evaluate(const LayerData& layer, const std::shared_ptr<const ConvPattern>& pattern);

// The candidate against one oracle output: counts, maxima and the worst elements.
struct Comparison {
  Index bad = 0, nonfinite = 0, overflow = 0, padded_nonfinite = 0, padding_skipped = 0;
  double max_abs = 0, max_rel = 0, max_ratio = 0;
  Index min_terms = 0, max_terms = 0;
  std::vector<std::pair<double, Index>> worst;  // (error / tolerance, flat index), failing only
};
// Keeps the `keep` worst failing elements.
Comparison compare(const OracleOutput& oracle, const double* candidate, const Tolerance& tol,
                   Index keep);

// The CheckReport of `candidate` against `oracle`, with blame read off `pattern`.
CheckReport report(const LayerData& layer, const OracleOutput& oracle, const ConvPattern& pattern,
                   const double* candidate, const Dims& candidate_shape,
                   const CheckOptions& options);

// Throws std::invalid_argument for a tolerance or blame count that could only hide disagreements.
void validate(const CheckOptions& options);

}  // namespace convmat::detail
