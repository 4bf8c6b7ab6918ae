#include "convmat/oracle/diagnose.hpp"

#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "evaluation.hpp"
#include "mistakes.hpp"

namespace convmat {

namespace {

using detail::Mistake;
using detail::mistake_catalogue;
using detail::with_params;

// The mistaken layer with its end padding changed so that its spatial output size equals the
// candidate's: the begin padding kept, the end padding the rest of padding_for_output (for a
// convolution the smallest end padding that gives that size).
std::optional<LayerData> keep_output_size(const LayerData& l, const Dims& candidate_shape) {
  const ConvSpec& s = l.spec;
  const int rank = s.rank();
  if (candidate_shape.size() < static_cast<std::size_t>(rank) + 1) return std::nullopt;
  ConvParams q = s.params();
  for (int a = 0; a < rank; ++a) {
    const auto u = static_cast<std::size_t>(a);
    const Index o = candidate_shape[candidate_shape.size() - static_cast<std::size_t>(rank) + u];
    // A convolution's window runs over the input dilated by input_dilation (1: none).
    const Index n = s.is_transposed() ? q.input_size[u]
                                      : dilated_input_size(q.input_size[u], q.input_dilation[u]);
    q.pad_end[u] = padding_for_output(s.kind(), n, q.kernel_size[u], q.stride[u], q.dilation[u],
                                      q.output_padding[u], o) -
                   q.pad_begin[u];
  }
  return with_params(l, q);
}

}  // namespace

using detail::compare;
using detail::Comparison;
using detail::evaluate;
using detail::pattern_for;
using detail::report;
using detail::validate;

Diagnosis diagnose(const LayerData& layer, const double* candidate, const Dims& candidate_shape,
                   const CheckOptions& options) {
  validate(options);
  Diagnosis dg;
  const auto pattern = pattern_for(layer.spec, nullptr);
  dg.check = report(layer, evaluate(layer, pattern), *pattern, candidate, candidate_shape, options);
  if (dg.check.passed) return dg;

  auto try_layer = [&](const std::string& id, const std::string& description,
                       const LayerData& mistaken, const Mistake& m) {
    Hypothesis h;
    h.id = id;
    h.description = description;
    OracleOutput y = evaluate(mistaken, pattern_for(mistaken.spec, pattern));
    if (m.rearrange_output) {
      // n_i is the same for every channel (each reads channels_per_group · taps), so only the
      // values and magnitudes move.
      m.rearrange_output(mistaken, y.value);
      m.rearrange_output(mistaken, y.magnitude);
      if (!y.without_padded_taps.empty()) m.rearrange_output(mistaken, y.without_padded_taps);
    }
    h.shape = y.shape;
    h.comparable = shapes_match(y.shape, candidate_shape);
    if (h.comparable) {
      const Comparison c = compare(y, candidate, options.tolerance, 0);
      h.bad = c.bad;
      h.max_error_ratio = c.max_ratio;
      h.reproduces = c.bad == 0;
    } else {
      h.max_error_ratio = std::numeric_limits<double>::infinity();
    }
    if (h.reproduces) dg.reproducing.push_back(h.id);
    dg.tried.push_back(std::move(h));
  };

  for (const Mistake& m : mistake_catalogue(layer)) {
    const std::optional<LayerData> mistaken = m.make(layer);
    if (!mistaken) continue;
    try_layer(m.id, m.description, *mistaken, m);
    if (m.geometry && m.keep_shape_variant && !dg.tried.back().comparable) {
      const std::optional<LayerData> kept = keep_output_size(*mistaken, candidate_shape);
      if (kept) {
        try_layer(m.id + " (size kept)",
                  m.description + ", looping over the output positions of size " +
                      dims_to_string(kept->spec.output_size()),
                  *kept, m);
      }
    }
  }
  return dg;
}

void report_in_given_layouts(const LayerCall& call, const Dims& candidate_shape, Diagnosis& d) {
  report_in_given_layouts(call, candidate_shape, d.check);
  if (!call.has_layouts()) return;
  for (Hypothesis& h : d.tried) h.shape = call.given_index(LayerCall::Tensor::output, h.shape);
}

}  // namespace convmat
