#include "convmat/oracle/diagnose.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "convmat/core/conv_matrix.hpp"
#include "convmat/core/layer_args.hpp"
#include "evaluation.hpp"

namespace convmat {

namespace {

// "[h]": one axis of a mistake's id.
std::string axis_suffix(int rank, int a) {
  std::string s = "[";
  s += spatial_axis_name(rank, a);
  return s += "]";
}

// A catalogue entry made concrete: how to build the mistaken layer, and how the mistaken
// implementation rearranges its output.
struct Mistake {
  std::string id, description;
  bool geometry = false;  // changes ConvParams: also tried with the output size kept
  bool keep_shape_variant = true;
  std::function<std::optional<LayerData>(const LayerData&)> make;
  std::function<void(const LayerData&, std::vector<double>&)> rearrange_output;  // or empty
};

std::optional<LayerData> with_params(const LayerData& l, const ConvParams& p) {
  try {
    return LayerData(ConvSpec(p), l.batch, l.input, l.weight, l.bias, l.batched);
  } catch (const std::invalid_argument&) {
    return std::nullopt;  // the mistaken layer does not exist (e.g. an empty output)
  }
}

// Reverses the weight along the spatial axes in `flip` (one flag per axis).
std::vector<double> flipped_weight(const ConvSpec& spec, const std::vector<double>& w,
                                   const std::vector<bool>& flip) {
  const Dims& k = spec.kernel_size();
  const Index taps = spec.kernel_numel();
  std::vector<double> out(w.size());
  for (Index base = 0; base < static_cast<Index>(w.size()); base += taps) {
    for (Index t = 0; t < taps; ++t) {
      Dims idx = unravel_index(t, k);
      for (std::size_t a = 0; a < k.size(); ++a) {
        if (flip[a]) idx[a] = k[a] - 1 - idx[a];
      }
      Index src = 0;
      for (std::size_t a = 0; a < k.size(); ++a) src = src * k[a] + idx[a];
      out[static_cast<std::size_t>(base + t)] = w[static_cast<std::size_t>(base + src)];
    }
  }
  return out;
}

// Channel c of a (g, C/g) channel axis read as (C/g, g): the implementation's group j, member i
// is channel i·g + j, where PyTorch's is j·(C/g) + i. permuted[j·(C/g) + i] = data[i·g + j].
void interleave_channels(std::vector<double>& data, Index outer, Index channels, Index groups,
                         Index inner, bool inverse) {
  const Index per = channels / groups;
  std::vector<double> tmp(static_cast<std::size_t>(channels * inner));
  for (Index n = 0; n < outer; ++n) {
    double* base = data.data() + n * channels * inner;
    std::copy(base, base + channels * inner, tmp.begin());
    for (Index j = 0; j < groups; ++j) {
      for (Index i = 0; i < per; ++i) {
        const Index grouped = j * per + i, interleaved = i * groups + j;
        const Index to = inverse ? interleaved : grouped, from = inverse ? grouped : interleaved;
        std::copy(tmp.begin() + from * inner, tmp.begin() + (from + 1) * inner, base + to * inner);
      }
    }
  }
}

std::vector<Mistake> catalogue(const LayerData& layer) {
  const ConvSpec& spec = layer.spec;
  const ConvParams& p = spec.params();
  const int rank = spec.rank();
  const bool t = spec.is_transposed();
  std::vector<Mistake> out;

  // Kernel flipped / not flipped.
  {
    bool any = false;
    for (Index k : p.kernel_size) any = any || k > 1;
    if (any) {
      Mistake m;
      m.id = "kernel_flipped";
      m.description =
          t ? "kernel not flipped: the transposed convolution computed as a convolution of the "
              "stride-dilated input with the kernel unreversed (equivalently, the kernel "
              "reversed along every spatial axis)"
            : "kernel flipped: a true convolution (kernel reversed along every spatial axis) "
              "instead of PyTorch's cross-correlation";
      m.make = [](const LayerData& l) -> std::optional<LayerData> {
        LayerData r = l;
        r.weight = flipped_weight(l.spec, l.weight,
                                  std::vector<bool>(static_cast<std::size_t>(l.spec.rank()), true));
        return r;
      };
      out.push_back(m);
      if (rank > 1) {
        for (int a = 0; a < rank; ++a) {
          if (p.kernel_size[static_cast<std::size_t>(a)] < 2) continue;
          Mistake ma;
          ma.id = "kernel_flipped" + axis_suffix(rank, a);
          ma.description = "kernel reversed along axis ";
          ma.description.append(spatial_axis_name(rank, a)).append(" only");
          ma.make = [a](const LayerData& l) -> std::optional<LayerData> {
            std::vector<bool> flip(static_cast<std::size_t>(l.spec.rank()), false);
            flip[static_cast<std::size_t>(a)] = true;
            LayerData r = l;
            r.weight = flipped_weight(l.spec, l.weight, flip);
            return r;
          };
          out.push_back(ma);
        }
      }
    }
  }

  // Begin and end padding swapped.
  if (p.pad_begin != p.pad_end) {
    Mistake m;
    m.id = "pads_swapped";
    m.description = "begin and end padding swapped (ONNX SAME_UPPER <-> SAME_LOWER): begin " +
                    dims_to_list(p.pad_end) + ", end " + dims_to_list(p.pad_begin) +
                    " instead of begin " + dims_to_list(p.pad_begin) + ", end " +
                    dims_to_list(p.pad_end);
    m.geometry = true;
    m.make = [](const LayerData& l) {
      ConvParams q = l.spec.params();
      std::swap(q.pad_begin, q.pad_end);
      return with_params(l, q);
    };
    out.push_back(m);
  }

  // Padding off by one at the begin or the end: all axes, then one axis at a time.
  for (int side = 0; side < 2; ++side) {
    for (int delta : {+1, -1}) {
      for (int a = -1; a < (rank > 1 ? rank : 0); ++a) {
        const bool begin = side == 0;
        const std::string which = begin ? "pad_begin" : "pad_end";
        const Dims& base = begin ? p.pad_begin : p.pad_end;
        Dims changed = base;
        for (int b = 0; b < rank; ++b) {
          if (a < 0 || a == b) changed[static_cast<std::size_t>(b)] += delta;
        }
        Mistake m;
        m.id = which + (delta > 0 ? "+1" : "-1") + (a >= 0 ? axis_suffix(rank, a) : "");
        m.description = std::string("padding off by one at the ") + (begin ? "begin" : "end");
        if (a >= 0) m.description.append(" of axis ").append(spatial_axis_name(rank, a));
        m.description += ": " + dims_to_list(changed) + " instead of " + dims_to_list(base);
        m.geometry = true;
        m.keep_shape_variant = begin;  // the end padding only sets the output size
        m.make = [begin, changed](const LayerData& l) {
          ConvParams q = l.spec.params();
          (begin ? q.pad_begin : q.pad_end) = changed;
          return with_params(l, q);
        };
        out.push_back(m);
      }
    }
  }

  // output_padding at the begin.
  if (t) {
    bool any = false;
    for (Index a : p.output_padding) any = any || a > 0;
    if (any) {
      Mistake m;
      m.id = "output_padding_at_begin";
      m.description = "output_padding " + dims_to_list(p.output_padding) +
                      " added at the begin of the output instead of the end";
      m.geometry = true;
      m.make = [](const LayerData& l) {
        ConvParams q = l.spec.params();
        for (std::size_t a = 0; a < q.pad_begin.size(); ++a) {
          q.pad_begin[a] -= q.output_padding[a];
          q.pad_end[a] += q.output_padding[a];
        }
        return with_params(l, q);
      };
      out.push_back(m);
    }
  }

  // The weight's channel axes swapped within each group.
  {
    const Dims ws = spec.weight_shape();
    const Index g = spec.groups(), a_per = ws[0] / g, b = ws[1];
    if (a_per > 1 && b > 1) {
      Mistake m;
      m.id = "weight_channels_swapped";
      m.description =
          t ? "in/out channels swapped in the transposed weight: read as (groups, C_out/groups, "
              "C_in/groups, k...) = " +
                  dims_to_list({g, b, a_per}) +
                  " (oneDNN's deconvolution layout) "
                  "instead of PyTorch's (C_in, C_out/groups, k...) = " +
                  dims_to_list({ws[0], b})
            : "in/out channels swapped in the weight: read as (groups, C_in/groups, C_out/groups, "
              "k...) "
              "= " +
                  dims_to_list({g, b, a_per}) +
                  " instead of (C_out, C_in/groups, k...) = " + dims_to_list({ws[0], b});
      m.make = [g, a_per, b](const LayerData& l) -> std::optional<LayerData> {
        // W'[gi·a + ai, bi, k] = buffer[((gi·b + bi)·a + ai)·K + k]
        const Index taps = l.spec.kernel_numel();
        LayerData r = l;
        for (Index gi = 0; gi < g; ++gi) {
          for (Index ai = 0; ai < a_per; ++ai) {
            for (Index bi = 0; bi < b; ++bi) {
              const Index to = ((gi * a_per + ai) * b + bi) * taps,
                          from = ((gi * b + bi) * a_per + ai) * taps;
              std::copy(l.weight.begin() + from, l.weight.begin() + from + taps,
                        r.weight.begin() + to);
            }
          }
        }
        return r;
      };
      out.push_back(m);
    }
  }

  // Groups sliced along the wrong axis of the channel axis.
  if (spec.groups() > 1) {
    const Index g = spec.groups();
    const bool in_side = spec.in_channels() / g > 1, out_side = spec.out_channels() / g > 1;
    const Index in_inner = spec.input_numel() / spec.in_channels();
    const Index out_inner = spec.output_numel() / spec.out_channels();
    auto input_mistake = [g, in_inner](const LayerData& l) -> std::optional<LayerData> {
      LayerData r = l;
      interleave_channels(r.input, l.batch, l.spec.in_channels(), g, in_inner, false);
      return r;
    };
    auto output_rearrange = [g, out_inner](const LayerData& l, std::vector<double>& y) {
      interleave_channels(y, l.batch, l.spec.out_channels(), g, out_inner, true);
    };
    const std::string rule = "(channel c in group c mod " + std::to_string(g) +
                             " instead of c / (C/" + std::to_string(g) + "))";
    if (in_side) {
      Mistake m;
      m.id = "groups_wrong_axis_input";
      m.description = "groups sliced along the wrong axis of the input channels " + rule;
      m.make = input_mistake;
      out.push_back(m);
    }
    if (out_side) {
      Mistake m;
      m.id = "groups_wrong_axis_output";
      m.description = "groups sliced along the wrong axis of the output channels " + rule;
      m.make = [](const LayerData& l) -> std::optional<LayerData> { return l; };
      m.rearrange_output = output_rearrange;
      out.push_back(m);
    }
    if (in_side && out_side) {
      Mistake m;
      m.id = "groups_wrong_axis_both";
      m.description =
          "groups sliced along the wrong axis of both the input and the output channels " + rule;
      m.make = input_mistake;
      m.rearrange_output = output_rearrange;
      out.push_back(m);
    }
  }

  // Dilation off by one.
  for (int delta : {-1, +1}) {
    Dims changed = p.dilation;
    bool any = false;
    for (Index& d : changed) {
      if (delta < 0 && d == 1) continue;
      d += delta;
      any = true;
    }
    if (!any) continue;
    Mistake m;
    m.id = delta > 0 ? "dilation+1" : "dilation-1";
    m.description = std::string("dilation taken as d") + (delta > 0 ? "+1" : "-1") + ": " +
                    dims_to_list(changed) + " instead of " + dims_to_list(p.dilation);
    m.geometry = true;
    m.make = [changed](const LayerData& l) {
      ConvParams q = l.spec.params();
      q.dilation = changed;
      return with_params(l, q);
    };
    out.push_back(m);
  }

  // Bias missing or added twice.
  bool nonzero_bias = false;
  for (double b : layer.bias) nonzero_bias = nonzero_bias || b != 0;
  if (nonzero_bias) {
    Mistake missing;
    missing.id = "bias_missing";
    missing.description = "bias left out";
    missing.make = [](const LayerData& l) -> std::optional<LayerData> {
      LayerData r = l;
      r.bias.clear();
      return r;
    };
    out.push_back(missing);
    Mistake twice;
    twice.id = "bias_twice";
    twice.description = "bias added twice";
    twice.make = [](const LayerData& l) -> std::optional<LayerData> {
      LayerData r = l;
      for (double& b : r.bias) b *= 2;
      return r;
    };
    out.push_back(twice);
  }

  // Stride and dilation swapped.
  if (p.stride != p.dilation) {
    Mistake m;
    m.id = "stride_dilation_swapped";
    m.description = "stride and dilation swapped: stride " + dims_to_list(p.dilation) +
                    ", dilation " + dims_to_list(p.stride) + " instead of stride " +
                    dims_to_list(p.stride) + ", dilation " + dims_to_list(p.dilation);
    m.geometry = true;
    m.make = [](const LayerData& l) {
      ConvParams q = l.spec.params();
      std::swap(q.stride, q.dilation);
      return with_params(l, q);
    };
    out.push_back(m);
  }

  // Padding mode ignored.
  if (p.padding_mode != PaddingMode::zeros) {
    Mistake m;
    m.id = "padding_mode_zeros";
    m.description = "padding_mode '" + to_string(p.padding_mode) + "' done as zeros";
    m.make = [](const LayerData& l) {
      ConvParams q = l.spec.params();
      q.padding_mode = PaddingMode::zeros;
      return with_params(l, q);
    };
    out.push_back(m);
  }
  return out;
}

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
    q.pad_end[u] = padding_for_output(s.kind(), q.input_size[u], q.kernel_size[u], q.stride[u],
                                      q.dilation[u], q.output_padding[u], o) -
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

  for (const Mistake& m : catalogue(layer)) {
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

}  // namespace convmat
