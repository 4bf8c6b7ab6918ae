#include "convmat/core/xla.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace convmat {

namespace {

constexpr const char* kOp = "xla_conv";

[[noreturn]] void fail(const std::string& message) {
  throw std::invalid_argument(std::string(kOp) + ": " + message);
}

// An attribute with one entry per spatial dimension (empty: `fill` everywhere).
Dims per_axis(const Dims& v, std::size_t rank, Index fill, const char* name, const char* rule) {
  if (v.empty()) return Dims(rank, fill);
  if (v.size() != rank) {
    fail(std::string(rule) + " size(" + name + ") = " + std::to_string(rank) +
         " (one per spatial dimension), got " + name + "=" + dims_to_list(v));
  }
  return v;
}

void require_positive(const Dims& v, const char* name, const char* rule) {
  for (Index x : v) {
    if (x < 1) fail(std::string(rule) + " 0 < " + name + ", got " + name + "=" + dims_to_list(v));
  }
}

// "NHWC,HWIO,NHWC" → the three strings; empty → convmat's order for `rank` spatial axes.
void split_dimension_numbers(const std::string& text, std::size_t rank, std::string out[3]) {
  if (text.empty()) {
    std::string spatial;
    for (std::size_t a = 0; a < rank; ++a) spatial += static_cast<char>('0' + a);
    out[0] = out[2] = "NC" + spatial;
    out[1] = "OI" + spatial;
    return;
  }
  std::size_t start = 0;
  for (int i = 0; i < 3; ++i) {
    const std::size_t comma = text.find(',', start);
    if ((i < 2) == (comma == std::string::npos)) {
      fail(
          "dimension_numbers must be three strings (lhs, rhs, out) such as "
          "'NHWC,HWIO,NHWC', got '" +
          text + "'");
    }
    out[i] = text.substr(start, i < 2 ? comma - start : std::string::npos);
    start = comma + 1;
  }
}

}  // namespace

LayerCall xla_conv(const Dims& lhs_shape, const Dims& rhs_shape, const XlaConvArgs& args) {
  if (lhs_shape.size() != rhs_shape.size() || lhs_shape.size() < 3 || lhs_shape.size() > 5) {
    fail("(C1) rank(lhs) = rank(rhs) = 2 + the spatial rank (1 to 3), got lhs of shape " +
         dims_to_tuple(lhs_shape) + " and rhs of shape " + dims_to_tuple(rhs_shape));
  }
  const std::size_t rank = lhs_shape.size() - 2;
  std::string dn[3];
  split_dimension_numbers(args.dimension_numbers, rank, dn);
  if (dn[0].size() != lhs_shape.size()) {
    fail("dimension_numbers ('" + dn[0] + "', '" + dn[1] + "', '" + dn[2] + "') describe " +
         std::to_string(dn[0].size()) + "-d tensors, got lhs of shape " + dims_to_tuple(lhs_shape));
  }
  const ConvLayouts layouts = conv_dimension_numbers(dn[0], dn[1], dn[2]);
  const Dims lhs = layouts.input.to_canonical(lhs_shape);   // (N, C, *spatial)
  const Dims rhs = layouts.weight.to_canonical(rhs_shape);  // (O, I, *kernel)

  const Dims strides = per_axis(args.window_strides, rank, 1, "window_strides", "(C2)");
  require_positive(strides, "window_strides", "(C3)");
  const Dims lhs_dilation = per_axis(args.lhs_dilation, rank, 1, "lhs_dilation", "(C5)");
  require_positive(lhs_dilation, "lhs_dilation", "(C6)");
  const Dims rhs_dilation = per_axis(args.rhs_dilation, rank, 1, "rhs_dilation", "(C7)");
  require_positive(rhs_dilation, "rhs_dilation", "(C8)");
  const Dims reversal = per_axis(args.window_reversal, rank, 0, "window_reversal", "(C9)");
  for (Index r : reversal) {
    if (r != 0 && r != 1)
      fail("window_reversal holds booleans (0 or 1), got " + dims_to_list(reversal));
  }
  const Index fg = args.feature_group_count, bg = args.batch_group_count;
  if (fg < 1) fail("(C21) 0 < feature_group_count, got " + std::to_string(fg));
  if (bg < 1) fail("(C22) 0 < batch_group_count, got " + std::to_string(bg));
  if (fg > 1 && bg > 1) {
    fail("(C23) feature_group_count = 1 or batch_group_count = 1, got " + std::to_string(fg) +
         " and " + std::to_string(bg));
  }
  const Index n = lhs[0], c = lhs[1], o = rhs[0], i = rhs[1];
  if (n % bg != 0) {
    fail("(C10) dim(lhs, input_batch_dimension) % batch_group_count = 0, got " + std::to_string(n) +
         " and " + std::to_string(bg));
  }
  if (c % fg != 0) {
    fail("(C11) dim(lhs, input_feature_dimension) % feature_group_count = 0, got " +
         std::to_string(c) + " and " + std::to_string(fg));
  }
  if (i != c / fg) {
    fail(
        "(C14) dim(rhs, kernel_input_feature_dimension) = dim(lhs, input_feature_dimension) / "
        "feature_group_count, got " +
        std::to_string(i) + " and " + std::to_string(c) + " / " + std::to_string(fg));
  }
  if (o % bg != 0) {
    fail("(C15) dim(rhs, kernel_output_feature_dimension) % batch_group_count = 0, got " +
         std::to_string(o) + " and " + std::to_string(bg));
  }
  if (o % fg != 0) {
    fail("(C16) dim(rhs, kernel_output_feature_dimension) % feature_group_count = 0, got " +
         std::to_string(o) + " and " + std::to_string(fg));
  }
  const bool lhs_dilated =
      std::any_of(lhs_dilation.begin(), lhs_dilation.end(), [](Index l) { return l > 1; });

  // The padding: explicit pairs, or JAX's padtype_to_pads on the kernel's dilated size.
  Dims pad_begin(rank, 0), pad_end(rank, 0);
  const Dims n_spatial(lhs.begin() + 2, lhs.end()), k(rhs.begin() + 2, rhs.end());
  if (args.padding.empty()) {
    if (!args.pads.empty()) {
      if (args.pads.size() != 2 * rank) {
        fail("(C4) shape(padding) = [" + std::to_string(rank) +
             ", 2]: a (low, high) pair per "
             "spatial dimension, got padding=" +
             dims_to_list(args.pads));
      }
      for (std::size_t a = 0; a < rank; ++a) {
        pad_begin[a] = args.pads[2 * a];
        pad_end[a] = args.pads[2 * a + 1];
      }
    }
  } else {
    std::string name = args.padding;
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
    if (name != "SAME" && name != "SAME_LOWER" && name != "VALID") {
      fail("padding must be 'SAME', 'SAME_LOWER', 'VALID' or (low, high) pairs, got '" +
           args.padding + "'");
    }
    if (lhs_dilated) {  // jax.lax.conv_general_dilated's rule
      fail("string padding ('" + args.padding + "') is not defined with lhs_dilation " +
           dims_to_list(lhs_dilation) +
           " (jax: 'String padding is not implemented for "
           "transposed convolution'); give the (low, high) pairs");
    }
    if (name != "VALID") {
      for (std::size_t a = 0; a < rank; ++a) {
        const Index s = strides[a], out = (n_spatial[a] + s - 1) / s;
        const Index total = std::max<Index>(
            conv_padding_for_output<Index>(n_spatial[a], k[a], s, rhs_dilation[a], out), 0);
        const Index low = name == "SAME" ? total / 2 : total - total / 2;
        pad_begin[a] = low;
        pad_end[a] = total - low;
      }
    }
  }

  // StableHLO's output size: the number of windows in the padded, dilated input — 0 where the
  // dilated window is longer (jax: core.stride_dim) — and a padded input below 0 refused.
  Dims out_spatial(rank), padded_size(rank), window_size(rank);
  for (std::size_t a = 0; a < rank; ++a) {
    const Index dilated = n_spatial[a] == 0 ? 0 : dilated_input_size(n_spatial[a], lhs_dilation[a]);
    const Index padded = padded_size[a] = dilated + pad_begin[a] + pad_end[a];
    if (padded < 0) {
      fail("the padding (" + std::to_string(pad_begin[a]) + ", " + std::to_string(pad_end[a]) +
           ") of spatial dimension " + std::to_string(a) + " makes the padded input " +
           std::to_string(padded) + " long (input " + std::to_string(n_spatial[a]) +
           ", lhs_dilation " + std::to_string(lhs_dilation[a]) +
           "); jax: 'Negative padding is larger than the size of the corresponding dimension'");
    }
    const Index window = window_size[a] = rhs_dilation[a] * (k[a] - 1) + 1;
    out_spatial[a] = padded < window ? 0 : (padded - window) / strides[a] + 1;
  }
  const bool empty =
      n == 0 || std::any_of(out_spatial.begin(), out_spatial.end(), [](Index v) { return v == 0; });
  if (empty) {
    Dims out{n / bg, o};
    out.insert(out.end(), out_spatial.begin(), out_spatial.end());
    const Dims shape = layouts.output.shape_from_canonical(out);
    std::string why;
    if (n == 0) why = "a batch of 0";
    for (std::size_t a = 0; a < rank && why.empty(); ++a) {
      if (out_spatial[a] == 0) {
        why = "spatial dimension " + std::to_string(a) + "'s dilated window, " +
              std::to_string(window_size[a]) + ", is longer than its padded input, " +
              std::to_string(padded_size[a]);
      }
    }
    throw EmptyOutput(std::string(kOp) + ": the output is empty, of shape " + dims_to_tuple(shape) +
                          " (" + why + "): convmat builds no matrix for it",
                      shape, o);
  }

  // An input dilation with window strides of 1 is a transposed convolution (below), which every
  // part of convmat takes; with a window stride too it is neither kind: ConvSpec's input_dilation.
  const bool strided = std::any_of(strides.begin(), strides.end(), [](Index s) { return s > 1; });
  const bool transposed = lhs_dilated && !strided;

  ConvParams p;
  const Index groups = fg * bg;
  // Batch groups: the batch group g of lhs (batch indices g·N/G …) is channel group g of a
  // grouped layer over N/G samples of G·C channels, whose output channel group g is rhs's
  // output feature group g — StableHLO's split, convolve and concatenate.
  p.in_channels = c * bg;
  p.out_channels = o;
  p.groups = groups;
  p.input_size = n_spatial;
  p.kernel_size = k;
  p.stride = strides;
  p.dilation = rhs_dilation;
  p.pad_begin = pad_begin;
  p.pad_end = pad_end;
  if (lhs_dilated && strided) p.input_dilation = lhs_dilation;
  // An input dilated by l (window_strides 1) is the transposed convolution of stride l with
  // the kernel flipped: output o reads dilated position o + t·d − p0 = i·l, i.e. the
  // transposed layer's o = i·l + (k − 1 − t)·d − (d(k − 1) − p0), whose padding is
  // d(k − 1) − p0 at the begin (d(k − 1) − p1 at the end; negative: zero rows added).
  if (transposed) {
    p.kind = ConvKind::transposed;
    p.stride = lhs_dilation;
    for (std::size_t a = 0; a < rank; ++a) {
      p.pad_begin[a] = rhs_dilation[a] * (k[a] - 1) - pad_begin[a];
      p.pad_end[a] = rhs_dilation[a] * (k[a] - 1) - pad_end[a];
    }
  }
  LayerCall call(ConvSpec(p), n / bg, true);
  // Layouts act on convmat's axes: the input's channel groups are stored in its batch axis, and
  // a reversed window is the kernel read backwards along that axis.
  call.input_layout = bg > 1 ? layouts.input.with_group_move(1, 0, bg) : layouts.input;
  // The transposed layer's weight is (I·groups, O/groups, *k): rhs's (O, I, *k) with the two
  // channel axes swapped and the group moved from the first to the second, read backwards.
  Layout weight = layouts.weight;
  if (transposed) {
    std::vector<int> axes = weight.axes();
    for (int& ax : axes) ax = ax == 0 ? 1 : ax == 1 ? 0 : ax;
    weight = Layout(axes);
    if (groups > 1) weight = weight.with_group_move(0, 1, groups);
  }
  for (std::size_t a = 0; a < rank; ++a) {
    if ((reversal[a] != 0) != transposed)
      weight = weight.with_reversed_axis(static_cast<int>(a) + 2);
  }
  call.weight_layout = weight;
  call.output_layout = layouts.output;
  return call;
}

}  // namespace convmat
