// `convmat shape`: a layer's output shape with the formula's terms, W's size and its benchdnn
// descriptor, from the .npy headers, the shapes or a descriptor (no data is read).

#include <cstdio>
#include <ostream>

#include "commands.hpp"
#include "convmat/core/conv_matrix.hpp"
#include "session.hpp"

namespace convmat::cli {

namespace {

constexpr std::string_view description =
    "Shapes come from --input/--weight (.npy headers only; the data is not read), from\n"
    "--input-shape/--weight-shape, or from a --desc descriptor.";

constexpr std::string_view details =
    "Output size per spatial axis (n input, k kernel, s stride, d dilation, p0/p1 padding at the\n"
    "begin/end, a output_padding):\n"
    "  convolution            o = floor((n + p0 + p1 - d*(k-1) - 1) / s) + 1\n"
    "  transposed convolution o = (n-1)*s - p0 - p1 + d*(k-1) + a + 1\n"
    "\n"
    "benchdnn descriptors (--desc, oneDNN's conv driver; --deconv for its deconv driver):\n"
    "  gXmbX_icXidXihXiwX_ocXodXohXowX_kdXkhXkwX_sdXshXswX_pdXphXpwX_ddXdhXdwX_nNAME\n"
    "  - entries in any order, '_' ignored, 'n' starts the name (the rest of the string);\n"
    "    values are decimal digits (no sign), at most 2147483647; an entry given twice is "
    "refused;\n"
    "  - defaults: g 1, mb 2, strides 1, dilations 0; dilation is benchdnn's: PyTorch's d = "
    "dd/dh/dw + 1;\n"
    "  - output omitted: padding 0 and o from the formula; padding omitted with o given:\n"
    "    p = ((o-1)*s - i + (k-1)*(d+1) + 1) / 2 (deconv: ((i-1)*s - o + ...) / 2), toward zero;\n"
    "  - the end padding is implied by o: (o-1)*s - i + (k-1)*(d+1) + 1 - p (deconv: (i-1)*s - o\n"
    "    + (k-1)*(d+1) + 1 - p) and must be > -s (oneDNN's rule);\n"
    "  - axes: w only is 1-d, h (w = h) or h and w is 2-d, d (h = w = d) or d, h and w is 3-d;\n"
    "    an axis is used when its i, o, k or d is nonzero, its s is not 1 or its p >= 1, and then\n"
    "    needs i and k;\n"
    "  - refused: unknown entries, signs, other axis combinations, negative begin padding, ic/oc\n"
    "    missing; weights stay in PyTorch's layout (also for --deconv).\n"
    "  mb sets the batch when there is no --input; with --input, the input's batch is used (and "
    "must\n"
    "  equal mb when mb is written).\n"
    "\n"
    "examples:\n"
    "  convmat shape --op conv2d --input-shape 1,3,7,7 --weight-shape 16,3,3,3 --stride 2 "
    "--padding 1\n"
    "  convmat shape --op conv_transpose2d --input-shape 1,20,5,5 --weight-shape 20,10,5,5 "
    "--stride 3 --padding 2\n"
    "  convmat shape --op onnx_conv --input-shape 1,1,8,8 --weight-shape 1,1,3,3 --strides 2,2 "
    "--auto-pad SAME_UPPER\n"
    "  convmat shape --desc g1mb1ic16ih7iw7oc16kh3kw3sh1sw1ph1pw1\n";

struct Flags {
  LayerFlags layer;
  DataFlags data;
  bool json = false;
};

int run_shape(const Flags& f, Context& ctx) {
  std::optional<NpyInput> input = npy_input(f.data.input), weight = npy_input(f.data.weight);
  const LayerDescription layer = layer_from(f.layer, f.data, input, weight, std::nullopt);
  const ConvSpec& s = layer.call.spec;
  const bool t = s.is_transposed();
  const int rank = s.rank();

  // W's size: exact when counting is cheap (O(Σ rows per axis)), else the upper bound.
  const Dims& rows_size = t ? s.input_size() : s.output_size();
  Index axis_rows = 0;
  for (Index r : rows_size) axis_rows += r;
  const bool exact = axis_rows <= 10'000'000;
  const long double nnz =
      exact ? static_cast<long double>(conv_matrix_nnz(s)) : conv_matrix_nnz_bound(s);
  const Index w_rows = t ? s.input_numel() : s.output_numel(),
              w_cols = t ? s.output_numel() : s.input_numel();
  const long double bytes = nnz * 12 + static_cast<long double>(w_rows + 1) * 8;
  std::string descriptor;
  try {
    descriptor = format_benchdnn_descriptor(s, layer.call.batch);
  } catch (const std::invalid_argument&) {
    // padding modes and negative padding have no benchdnn spelling
  }

  if (f.json) {
    Json j{{"op", layer.op},
           {"kind", to_string(s.kind())},
           {"input_shape", layer.input_shape},
           {"weight_shape", layer.call.given_weight_shape()},
           {"output_shape", layer.output_shape},
           {"groups", s.groups()},
           {"padding_mode", to_string(s.padding_mode())}};
    Json& axes = j["axes"] = Json::array();
    for (int a = 0; a < rank; ++a) {
      const auto u = static_cast<std::size_t>(a);
      Json axis{{"axis", spatial_axis_name(rank, a)}, {"input", s.input_size()[u]},
                {"kernel", s.kernel_size()[u]},       {"stride", s.stride()[u]},
                {"dilation", s.dilation()[u]},        {"pad_begin", s.pad_begin()[u]},
                {"pad_end", s.pad_end()[u]}};
      if (t) axis["output_padding"] = s.output_padding()[u];
      if (s.has_input_dilation()) axis["input_dilation"] = s.input_dilation()[u];
      axis["output"] = s.output_size()[u];
      axes.push_back(std::move(axis));
    }
    j["matrix"] = Json{{"layer_is", t ? "W^T" : "W"},
                       {"rows", w_rows},
                       {"cols", w_cols},
                       {exact ? "nnz" : "nnz_at_most", static_cast<double>(nnz)},
                       {"bytes_float64", static_cast<double>(bytes)}};
    if (!descriptor.empty()) j["benchdnn"] = descriptor;
    emit(ctx, j);
    return exit_ok;
  }

  std::ostream& o = ctx.out;
  o << layer.op << ": input " << dims_to_tuple(layer.input_shape) << ", weight "
    << dims_to_tuple(layer.call.given_weight_shape()) << " -> output "
    << dims_to_tuple(layer.output_shape) << "\n";
  o << "  groups " << s.groups();
  if (s.padding_mode() != PaddingMode::zeros) o << ", padding_mode " << to_string(s.padding_mode());
  o << "\n";
  const bool dilated = s.has_input_dilation();
  o << (t         ? "  per axis: o = (n-1)*s - p0 - p1 + d*(k-1) + a + 1\n"
        : dilated ? "  per axis: o = floor(((n-1)*l+1 + p0 + p1 - d*(k-1) - 1) / s) + 1"
                    " (l: input dilation)\n"
                  : "  per axis: o = floor((n + p0 + p1 - d*(k-1) - 1) / s) + 1\n");
  for (int a = 0; a < rank; ++a) {
    const auto u = static_cast<std::size_t>(a);
    const Index n = s.input_size()[u], k = s.kernel_size()[u], st = s.stride()[u],
                d = s.dilation()[u];
    const Index p0 = s.pad_begin()[u], p1 = s.pad_end()[u];
    o << "    " << spatial_axis_name(rank, a) << ": ";
    if (t) {
      o << "(" << n << "-1)*" << st << " - " << p0 << " - " << p1 << " + " << d << "*(" << k
        << "-1) + " << s.output_padding()[u] << " + 1 = " << s.output_size()[u] << "\n";
    } else if (dilated) {
      o << "floor(((" << n << "-1)*" << s.input_dilation()[u] << "+1 + " << p0 << " + " << p1
        << " - " << d << "*(" << k << "-1) - 1) / " << st << ") + 1 = " << s.output_size()[u]
        << "\n";
    } else {
      o << "floor((" << n << " + " << p0 << " + " << p1 << " - " << d << "*(" << k << "-1) - 1) / "
        << st << ") + 1 = " << s.output_size()[u] << "\n";
    }
  }
  char nnz_text[64];
  std::snprintf(nnz_text, sizeof nnz_text, "%.0Lf", nnz);
  o << "  matrix: the layer is " << (t ? "W^T" : "W") << "; W is " << w_rows << " x " << w_cols
    << " with " << (exact ? "" : "at most ") << nnz_text << " nonzeros, "
    << human_bytes(static_cast<double>(bytes)) << " in float64\n";
  if (!descriptor.empty())
    o << "  benchdnn" << (t ? " (--deconv)" : "") << ": " << descriptor << "\n";
  return exit_ok;
}

Runner declare(CLI::App& sub) {
  sub.description(std::string(description));
  sub.footer(std::string(details));
  auto f = std::make_shared<Flags>();
  add_layer_options(sub, f->layer);
  add_data_options(sub, f->data, data_input | data_weight | data_input_shape | data_weight_shape);
  add_json(sub, f->json);
  return [f](Context& ctx) { return run_shape(*f, ctx); };
}

}  // namespace

const CommandDecl shape_command{
    "shape",
    "a layer's output shape with the formula's terms, W's size and its benchdnn descriptor",
    declare};

}  // namespace convmat::cli
