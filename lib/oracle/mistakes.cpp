#include "mistakes.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "convmat/core/detail/assert.hpp"

namespace convmat::detail {

std::optional<LayerData> with_params(const LayerData& l, const ConvParams& p) {
  try {
    return LayerData(ConvSpec(p), l.batch, l.input, l.weight, l.bias, l.batched);
  } catch (const std::invalid_argument&) {
    return std::nullopt;  // the mistaken layer does not exist (e.g. an empty output)
  }
}

namespace {

std::string axis_name(int rank, int a) { return std::string(spatial_axis_name(rank, a)); }

// A mistake in the layer's parameters: the layer with `change` applied to its ConvParams.
Mistake params_mistake(std::string id, std::string description,
                       std::function<void(ConvParams&)> change) {
  Mistake m;
  m.id = std::move(id);
  m.description = std::move(description);
  m.make = [change = std::move(change)](const LayerData& l) {
    ConvParams q = l.spec.params();
    change(q);
    return with_params(l, q);
  };
  return m;
}

// One that may change the output size: also tried with the size kept (diagnose.hpp), unless
// `keep_shape_variant` is false.
Mistake geometry_mistake(std::string id, std::string description,
                         std::function<void(ConvParams&)> change, bool keep_shape_variant = true) {
  Mistake m = params_mistake(std::move(id), std::move(description), std::move(change));
  m.geometry = true;
  m.keep_shape_variant = keep_shape_variant;
  return m;
}

// A mistake in the data: the layer with `change` applied to a copy of its input, weight or bias.
Mistake data_mistake(std::string id, std::string description,
                     std::function<void(LayerData&)> change) {
  Mistake m;
  m.id = std::move(id);
  m.description = std::move(description);
  m.make = [change = std::move(change)](const LayerData& l) -> std::optional<LayerData> {
    LayerData r = l;
    change(r);
    return r;
  };
  return m;
}

// The weight (PyTorch's layout for `spec`) with its kernel reversed along the spatial axes whose
// flag in `axes` is set.
std::vector<double> kernel_reversed_along(const ConvSpec& spec, const std::vector<double>& weight,
                                          const std::vector<bool>& axes) {
  const Dims& k = spec.kernel_size();
  const Index taps = spec.kernel_numel();
  CONVMAT_ASSERT(axes.size() == k.size() && static_cast<Index>(weight.size()) % taps == 0,
                 "kernel_reversed_along: one flag per axis, whole kernels");
  std::vector<double> out(weight.size());
  for (Index base = 0; base < static_cast<Index>(weight.size()); base += taps) {
    for (Index t = 0; t < taps; ++t) {
      Dims idx = unravel_index(t, k);
      for (std::size_t a = 0; a < k.size(); ++a) {
        if (axes[a]) idx[a] = k[a] - 1 - idx[a];
      }
      Index src = 0;
      for (std::size_t a = 0; a < k.size(); ++a) src = src * k[a] + idx[a];
      out[static_cast<std::size_t>(base + t)] = weight[static_cast<std::size_t>(base + src)];
    }
  }
  return out;
}

// Channel c of a (g, C/g) channel axis read as (C/g, g): the implementation's group j, member i
// is channel i·g + j, where PyTorch's is j·(C/g) + i. permuted[j·(C/g) + i] = data[i·g + j].
void interleave_channels(std::vector<double>& data, Index outer, Index channels, Index groups,
                         Index inner, bool inverse) {
  CONVMAT_ASSERT(groups >= 1 && channels % groups == 0 &&
                     static_cast<Index>(data.size()) == outer * channels * inner,
                 "interleave_channels: whole groups of `outer` samples");
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

// --- the families, in the order of the table below ---------------------------------------------

// The kernel reversed along every spatial axis, and along one axis at a time (rank >= 2).
void kernel_flipped(const LayerData& layer, std::vector<Mistake>& out) {
  const ConvSpec& spec = layer.spec;
  const Dims& k = spec.kernel_size();
  if (std::none_of(k.begin(), k.end(), [](Index v) { return v > 1; })) return;
  const int rank = spec.rank();
  out.push_back(data_mistake(
      "kernel_flipped",
      spec.is_transposed()
          ? "kernel not flipped: the transposed convolution computed as a convolution of the "
            "stride-dilated input with the kernel unreversed (equivalently, the kernel "
            "reversed along every spatial axis)"
          : "kernel flipped: a true convolution (kernel reversed along every spatial axis) "
            "instead of PyTorch's cross-correlation",
      [rank](LayerData& l) {
        l.weight = kernel_reversed_along(l.spec, l.weight,
                                         std::vector<bool>(static_cast<std::size_t>(rank), true));
      }));
  if (rank == 1) return;
  for (int a = 0; a < rank; ++a) {
    if (k[static_cast<std::size_t>(a)] < 2) continue;
    out.push_back(data_mistake("kernel_flipped[" + axis_name(rank, a) + "]",
                               "kernel reversed along axis " + axis_name(rank, a) + " only",
                               [rank, a](LayerData& l) {
                                 std::vector<bool> axes(static_cast<std::size_t>(rank), false);
                                 axes[static_cast<std::size_t>(a)] = true;
                                 l.weight = kernel_reversed_along(l.spec, l.weight, axes);
                               }));
  }
}

// Begin and end padding swapped (ONNX SAME_UPPER <-> SAME_LOWER).
void pads_swapped(const LayerData& layer, std::vector<Mistake>& out) {
  const ConvParams& p = layer.spec.params();
  if (p.pad_begin == p.pad_end) return;
  out.push_back(geometry_mistake(
      "pads_swapped",
      "begin and end padding swapped (ONNX SAME_UPPER <-> SAME_LOWER): begin " +
          dims_to_list(p.pad_end) + ", end " + dims_to_list(p.pad_begin) + " instead of begin " +
          dims_to_list(p.pad_begin) + ", end " + dims_to_list(p.pad_end),
      [](ConvParams& q) { std::swap(q.pad_begin, q.pad_end); }));
}

// Padding off by one at the begin or the end: all axes, then one axis at a time (rank >= 2).
void padding_off_by_one(const LayerData& layer, std::vector<Mistake>& out) {
  const ConvParams& p = layer.spec.params();
  const int rank = layer.spec.rank();
  for (const bool begin : {true, false}) {
    for (const int delta : {+1, -1}) {
      for (int a = -1; a < (rank > 1 ? rank : 0); ++a) {
        const Dims& base = begin ? p.pad_begin : p.pad_end;
        Dims changed = base;
        for (int b = 0; b < rank; ++b) {
          if (a < 0 || a == b) changed[static_cast<std::size_t>(b)] += delta;
        }
        const std::string axis = a >= 0 ? axis_name(rank, a) : "";
        out.push_back(geometry_mistake(
            std::string(begin ? "pad_begin" : "pad_end") + (delta > 0 ? "+1" : "-1") +
                (a >= 0 ? "[" + axis + "]" : ""),
            std::string("padding off by one at the ") + (begin ? "begin" : "end") +
                (a >= 0 ? " of axis " + axis : "") + ": " + dims_to_list(changed) + " instead of " +
                dims_to_list(base),
            [begin, changed](ConvParams& q) { (begin ? q.pad_begin : q.pad_end) = changed; },
            /*keep_shape_variant=*/begin));  // the end padding only sets the output size
      }
    }
  }
}

// Transposed: output_padding added at the begin of the output instead of the end.
void output_padding_at_begin(const LayerData& layer, std::vector<Mistake>& out) {
  const ConvParams& p = layer.spec.params();
  if (!layer.spec.is_transposed()) return;
  const Dims& a = p.output_padding;
  if (std::none_of(a.begin(), a.end(), [](Index v) { return v > 0; })) return;
  out.push_back(geometry_mistake(
      "output_padding_at_begin",
      "output_padding " + dims_to_list(a) + " added at the begin of the output instead of the end",
      [](ConvParams& q) {
        for (std::size_t i = 0; i < q.pad_begin.size(); ++i) {
          q.pad_begin[i] -= q.output_padding[i];
          q.pad_end[i] += q.output_padding[i];
        }
      }));
}

// The weight's two channel axes swapped within each group.
void weight_channels_swapped(const LayerData& layer, std::vector<Mistake>& out) {
  const ConvSpec& spec = layer.spec;
  const Dims ws = spec.weight_shape();
  const Index g = spec.groups(), a_per = ws[0] / g, b = ws[1];
  if (a_per < 2 || b < 2) return;
  out.push_back(data_mistake(
      "weight_channels_swapped",
      spec.is_transposed()
          ? "in/out channels swapped in the transposed weight: read as (groups, C_out/groups, "
            "C_in/groups, k...) = " +
                dims_to_list({g, b, a_per}) +
                " (oneDNN's deconvolution layout) instead of PyTorch's (C_in, C_out/groups, "
                "k...) = " +
                dims_to_list({ws[0], b})
          : "in/out channels swapped in the weight: read as (groups, C_in/groups, C_out/groups, "
            "k...) = " +
                dims_to_list({g, b, a_per}) +
                " instead of (C_out, C_in/groups, k...) = " + dims_to_list({ws[0], b}),
      [g, a_per, b](LayerData& l) {
        // W'[gi·a + ai, bi, k] = buffer[((gi·b + bi)·a + ai)·K + k]
        const Index taps = l.spec.kernel_numel();
        const std::vector<double> buffer = l.weight;
        for (Index gi = 0; gi < g; ++gi) {
          for (Index ai = 0; ai < a_per; ++ai) {
            for (Index bi = 0; bi < b; ++bi) {
              const Index to = ((gi * a_per + ai) * b + bi) * taps,
                          from = ((gi * b + bi) * a_per + ai) * taps;
              std::copy(buffer.begin() + from, buffer.begin() + from + taps, l.weight.begin() + to);
            }
          }
        }
      }));
}

// Groups sliced along the wrong axis of the channel axis: on the input side, the output side, or
// both.
void groups_wrong_axis(const LayerData& layer, std::vector<Mistake>& out) {
  const ConvSpec& spec = layer.spec;
  const Index g = spec.groups();
  if (g < 2) return;
  const bool in_side = spec.in_channels() / g > 1, out_side = spec.out_channels() / g > 1;
  const Index in_inner = spec.input_numel() / spec.in_channels();
  const Index out_inner = spec.output_numel() / spec.out_channels();
  auto read_input_interleaved = [g, in_inner](LayerData& l) {
    interleave_channels(l.input, l.batch, l.spec.in_channels(), g, in_inner, false);
  };
  auto write_output_interleaved = [g, out_inner](const LayerData& l, std::vector<double>& y) {
    interleave_channels(y, l.batch, l.spec.out_channels(), g, out_inner, true);
  };
  const std::string rule = "(channel c in group c mod " + std::to_string(g) +
                           " instead of c / (C/" + std::to_string(g) + "))";
  if (in_side) {
    out.push_back(data_mistake("groups_wrong_axis_input",
                               "groups sliced along the wrong axis of the input channels " + rule,
                               read_input_interleaved));
  }
  if (out_side) {
    Mistake m = data_mistake("groups_wrong_axis_output",
                             "groups sliced along the wrong axis of the output channels " + rule,
                             [](LayerData&) {});
    m.rearrange_output = write_output_interleaved;
    out.push_back(m);
  }
  if (in_side && out_side) {
    Mistake m = data_mistake(
        "groups_wrong_axis_both",
        "groups sliced along the wrong axis of both the input and the output channels " + rule,
        read_input_interleaved);
    m.rearrange_output = write_output_interleaved;
    out.push_back(m);
  }
}

// Dilation taken as d − 1 (on the axes with d > 1) or d + 1.
void dilation_off_by_one(const LayerData& layer, std::vector<Mistake>& out) {
  const Dims& dilation = layer.spec.dilation();
  for (const int delta : {-1, +1}) {
    Dims changed = dilation;
    bool any = false;
    for (Index& d : changed) {
      if (delta < 0 && d == 1) continue;
      d += delta;
      any = true;
    }
    if (!any) continue;
    out.push_back(geometry_mistake(delta > 0 ? "dilation+1" : "dilation-1",
                                   std::string("dilation taken as d") + (delta > 0 ? "+1" : "-1") +
                                       ": " + dims_to_list(changed) + " instead of " +
                                       dims_to_list(dilation),
                                   [changed](ConvParams& q) { q.dilation = changed; }));
  }
}

bool has_nonzero_bias(const LayerData& layer) {
  return std::any_of(layer.bias.begin(), layer.bias.end(), [](double b) { return b != 0; });
}

void bias_missing(const LayerData& layer, std::vector<Mistake>& out) {
  if (!has_nonzero_bias(layer)) return;
  out.push_back(
      data_mistake("bias_missing", "bias left out", [](LayerData& l) { l.bias.clear(); }));
}

void bias_twice(const LayerData& layer, std::vector<Mistake>& out) {
  if (!has_nonzero_bias(layer)) return;
  out.push_back(data_mistake("bias_twice", "bias added twice", [](LayerData& l) {
    for (double& b : l.bias) b *= 2;
  }));
}

void stride_dilation_swapped(const LayerData& layer, std::vector<Mistake>& out) {
  const ConvParams& p = layer.spec.params();
  if (p.stride == p.dilation) return;
  out.push_back(geometry_mistake("stride_dilation_swapped",
                                 "stride and dilation swapped: stride " + dims_to_list(p.dilation) +
                                     ", dilation " + dims_to_list(p.stride) +
                                     " instead of stride " + dims_to_list(p.stride) +
                                     ", dilation " + dims_to_list(p.dilation),
                                 [](ConvParams& q) { std::swap(q.stride, q.dilation); }));
}

// Reflect, replicate or circular padding done as zeros.
void padding_mode_zeros(const LayerData& layer, std::vector<Mistake>& out) {
  const PaddingMode mode = layer.spec.padding_mode();
  if (mode == PaddingMode::zeros) return;
  out.push_back(params_mistake("padding_mode_zeros",
                               "padding_mode '" + to_string(mode) + "' done as zeros",
                               [](ConvParams& q) { q.padding_mode = PaddingMode::zeros; }));
}

// A family adds its entries for `layer` to `out` (none when it does not apply).
using Family = void (*)(const LayerData& layer, std::vector<Mistake>& out);

// The catalogue: the families in the order diagnose tries them.
constexpr Family families[] = {
    kernel_flipped,           // the kernel reversed (all axes, one axis)
    pads_swapped,             // begin and end padding swapped
    padding_off_by_one,       // pad_begin±1, pad_end±1 (all axes, one axis)
    output_padding_at_begin,  // transposed: output_padding at the begin
    weight_channels_swapped,  // the weight's two channel axes swapped within each group
    groups_wrong_axis,        // channels grouped as (C/g, g): input, output, both
    dilation_off_by_one,      // dilation−1, dilation+1
    bias_missing,             // the bias left out
    bias_twice,               // the bias added twice
    stride_dilation_swapped,  // stride and dilation swapped
    padding_mode_zeros,       // reflect/replicate/circular padding done as zeros
};

}  // namespace

std::vector<Mistake> mistake_catalogue(const LayerData& layer) {
  std::vector<Mistake> out;
  for (const Family add : families) add(layer, out);
  return out;
}

}  // namespace convmat::detail
