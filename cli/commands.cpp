#include "commands.hpp"

#include <algorithm>
#include <cstdio>
#include <new>
#include <ostream>
#include <sstream>

#include "convmat/core/conv_matrix.hpp"
#include "demo.hpp"
#include "json.hpp"
#include "output_file.hpp"
#include "session.hpp"

namespace convmat::cli {

int run_check(const Arguments& args, Context& ctx);     // check.cpp
int run_diagnose(const Arguments& args, Context& ctx);  // check.cpp
int run_analyze(const Arguments& args, Context& ctx);   // analyze.cpp
int run_deconv(const Arguments& args, Context& ctx);    // deconv.cpp

namespace {

// ---------------------------------------------------------------------------------------------
// Help texts

const std::vector<Opt> layer_options{Opt::op,           Opt::stride,       Opt::padding,
                                     Opt::dilation,     Opt::groups,       Opt::output_padding,
                                     Opt::padding_mode, Opt::auto_pad,     Opt::pads,
                                     Opt::output_shape, Opt::kernel_shape, Opt::desc,
                                     Opt::deconv};

std::vector<Opt> options(std::vector<Opt> extra) {
  std::vector<Opt> all = layer_options;
  all.insert(all.end(), extra.begin(), extra.end());
  return all;
}

constexpr std::string_view shape_details =
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

constexpr std::string_view apply_details =
    "examples:\n"
    "  convmat apply --op conv2d --input x.npy --weight w.npy --bias b.npy --padding 1 -o y.npy\n"
    "  convmat apply --op conv_transpose1d --input x.npy --weight w.npy --stride 2 "
    "--output-padding 1 -o y.npy\n";

constexpr std::string_view matrix_details =
    "The rows of M flatten the output (C_out, *o) of one sample and the columns the input\n"
    "(C_in, *n), both in C order, so M @ x.reshape(-1) is the layer on one sample (without bias).\n"
    "Without --weight the file holds the structure only (Matrix Market 'pattern').\n"
    "Without --output, M is printed densely if it has at most 100 rows and columns.\n"
    "\n"
    "examples:\n"
    "  convmat matrix --op conv2d --input-shape 1,1,3,3 --weight k.npy          (seed 000's 4x9 "
    "W)\n"
    "  convmat matrix --op conv_transpose2d --input-shape 1,8,16,16 --weight-shape 8,4,4,4 "
    "--stride 2 -o w.mtx\n"
    "  python3 -c \"import scipy.io; W = scipy.io.mmread('w.mtx')\"\n";

constexpr std::string_view check_details =
    "Tolerance, for each output element i, which sums n_i products w*x (the kernel taps that meet "
    "it):\n"
    "  |candidate_i - oracle_i| <= atol + rtol * s_i,   s_i = sum over those taps of |w|*|x|, plus "
    "|bias|\n"
    "  rtol = (n_i + 1)*eps + eps_out and atol = (n_i + 1)*lambda, unless --rtol / --atol are "
    "given;\n"
    "  eps:     machine epsilon of the precision the candidate summed in (--precision; default "
    "its\n"
    "           dtype): float16 2^-10, bfloat16 2^-7, tfloat32 2^-10, float32 2^-23, float64 "
    "2^-52;\n"
    "  eps_out: that of the candidate's dtype (the rounding of the stored result);\n"
    "  lambda:  the smallest normal number (float16 2^-14; float32, bfloat16, tfloat32 2^-126;\n"
    "           float64 2^-1022), for products flushed to zero.\n"
    "  (n+1)*eps bounds the error of summing n+1 terms in that precision in any order (Higham,\n"
    "  Accuracy and Stability of Numerical Algorithms, sec. 3.1). Algorithms that transform the "
    "data\n"
    "  (Winograd, FFT) need a larger --rtol. NaN or infinity where the oracle has another value is "
    "an\n"
    "  error; the same NaN or infinity agrees. A (C, *o) candidate compares with a (1, C, *o) "
    "output.\n"
    "\n"
    "examples:\n"
    "  convmat check --op conv2d --input x.npy --weight w.npy --bias b.npy --padding 1 --candidate "
    "y.npy\n"
    "  convmat check --desc mb2ic16ih14oc32oh7kh3sh2ph1 --input x.npy --weight w.npy --candidate "
    "y.npy --json\n";

constexpr std::string_view diagnose_details =
    "The catalogue (single mistakes; the ids are what diagnose prints):\n"
    "  kernel_flipped            the kernel reversed along every spatial axis: a true convolution "
    "instead of\n"
    "                            cross-correlation, or a transposed convolution computed as a "
    "convolution of\n"
    "                            the stride-dilated input without flipping the kernel; "
    "kernel_flipped[h] etc.:\n"
    "                            along one axis only\n"
    "  pads_swapped              begin and end padding swapped (ONNX SAME_UPPER <-> SAME_LOWER)\n"
    "  pad_begin+1, pad_begin-1  padding off by one at the begin (all axes; [h], [w], ...: one "
    "axis)\n"
    "  pad_end+1, pad_end-1      padding off by one at the end\n"
    "  output_padding_at_begin   transposed: output_padding added at the begin instead of the end\n"
    "  weight_channels_swapped   in/out channels swapped in the weight within each group: a "
    "transposed\n"
    "                            weight read as (g, C_out/g, C_in/g, k...), oneDNN's deconvolution "
    "layout,\n"
    "                            instead of PyTorch's (C_in, C_out/g, k...); a convolution weight "
    "read as\n"
    "                            (g, C_in/g, C_out/g, k...)\n"
    "  groups_wrong_axis_input   groups sliced along the wrong axis: the channel axis seen as "
    "(C/g, g)\n"
    "  groups_wrong_axis_output  instead of (g, C/g), channel c in group c mod g; on the input "
    "side,\n"
    "  groups_wrong_axis_both    the output side, or both\n"
    "  dilation-1, dilation+1    dilation taken as d-1 (axes with d > 1) or d+1\n"
    "  bias_missing, bias_twice  the bias left out or added twice\n"
    "  stride_dilation_swapped   stride and dilation swapped\n"
    "  padding_mode_zeros        reflect/replicate/circular padding done as zeros\n"
    "A mistake that changes the output size is also tried \"(size kept)\": the mistaken loop run "
    "over\n"
    "the candidate's output positions. Each entry is recomputed by the oracle with the mistake\n"
    "injected and compared under check's tolerance (see convmat check --help); the ones that\n"
    "reproduce the candidate are named. Several can be named when they coincide for this layer.\n"
    "\n"
    "examples:\n"
    "  convmat diagnose --op conv_transpose2d --input x.npy --weight w.npy --stride 2 --padding 1 "
    "--candidate y.npy\n"
    "  convmat diagnose --op onnx_conv --input x.npy --weight w.npy --auto-pad SAME_UPPER "
    "--strides 2,2 --candidate y.npy --json\n";

constexpr std::string_view analyze_details =
    "M is the layer's map: W for a convolution, W^T for a transposed convolution (W and W^T have "
    "the\n"
    "same singular values, rank and distance from their pseudo-inverse, so either reads the "
    "same).\n"
    "  singular values  dense (LAPACK dgesdd, all of them) when M has at most 2^22 entries, e.g.\n"
    "                   2048 x 2048, and the dense work fits --max-memory; else Lanczos (Spectra) "
    "on the\n"
    "                   smaller Gram matrix G: the --count largest (matrix-free) and smallest "
    "(shift-invert,\n"
    "                   a sparse LDL^T of G; its memory is estimated as 8 x nnz(G) and the "
    "smallest are\n"
    "                   skipped, saying so, when that exceeds the limit). The output says which "
    "was used.\n"
    "  rank             dense: #{sigma_i > max(m, n)*eps*sigma_1} (MATLAB's rank); Lanczos: full "
    "when\n"
    "                   sigma_min > sqrt(max(m, n)*eps)*sigma_1, the rounding level of G, else "
    "unresolved\n"
    "                   (deficient, or within rounding of it; the condition number then bounded "
    "below).\n"
    "  condition        sigma_1/sigma_min (infinite when rank deficient).\n"
    "  transposed vs    ||M^T - M^+||_F / ||M^+||_F, and the tight-frame test: G = c*I with\n"
    "  inverse          c = trace(G)/min(m, n) (orthogonal rows, or columns, of equal norm; then\n"
    "                   M^T = c*M^+, e.g. stride = kernel size with one channel), and the "
    "reconstruction\n"
    "                   errors of x from y = M x by M^T, M^T/c and M^+. Dense: only within the "
    "2^22 limit;\n"
    "                   otherwise skipped, saying why.\n"
    "  checkerboard     transposed layers: the kernel taps reaching each output position, over "
    "the\n"
    "                   interior (positions every tap can reach): min, max, amplitude "
    "(max-min)/mean,\n"
    "                   one period of the pattern, the weight sums' amplitude per channel, and the "
    "whole\n"
    "                   pattern when the output has at most 1024 positions, at most 40 per row.\n"
    "The weight comes from --weight, or --weight-fill for a quick look without one.\n"
    "Exit status 0, also for rank-deficient layers; 1 when a singular value computation did not\n"
    "converge (the output says which); 2 on usage or input errors, or when W exceeds "
    "--max-memory.\n"
    "\n"
    "examples:\n"
    "  convmat analyze --op conv2d --input-shape 1,1,3,3 --weight k.npy      (seed 000: rank 4, "
    "nullity 5)\n"
    "  convmat analyze --op conv_transpose2d --input-shape 1,1,8,8 --weight-shape 1,1,3,3 --stride "
    "2 --weight-fill ones\n"
    "  convmat analyze --desc ic8ih32oc8oh32kh3ph1 --weight-fill random:1 --json\n";

constexpr std::string_view deconv_details =
    "For each sample, with M the layer's map (W for a convolution, W^T for a transposed one) and y "
    "the\n"
    "observed output minus the bias:\n"
    "  x = argmin |M x - y|^2 + damp^2 |x|^2, and among the minimizers the one of least |x|\n"
    "  (NumPy: np.linalg.lstsq(M, y)[0] for damp 0; MATLAB: lsqminnorm(M, y)).\n"
    "So a convolution recovers x from y = W x, and a transposed convolution recovers its input "
    "from\n"
    "its output. When M has a null space (more inputs than independent outputs, as seed 000's\n"
    "3x3 -> 2x2 convolution: rank 4 of 9), y does not determine x and the minimum-norm solution "
    "is\n"
    "returned; qr reports the rank.\n"
    "  qr        SuiteSparseQR, rank-revealing (SPQR's default tolerance), exact to rounding\n"
    "  cholesky  CHOLMOD on M^T M + damp^2 I or M M^T + damp^2 I (the smaller); squares cond(M);\n"
    "            a singular one (rank deficient, damp 0) is reported, not solved\n"
    "  lsqr      Paige & Saunders, matrix-free (one M x and one M^T y per iteration); stops at the "
    "first\n"
    "            of |r| <= btol*|y| + atol*|M|*|x|, |M^T r - damp^2 x| <= atol*|M|*|r|,\n"
    "            cond([M; damp*I]) >= conlim, or the iteration limit (SciPy's rules and defaults)\n"
    "  lsmr      Fong & Saunders, the same stopping rules; usually fewer iterations\n"
    "The report: rank (qr), iterations and the residual by iteration (lsqr, lsmr), the stop "
    "reason,\n"
    "|y - M x| and |M^T(y - M x) - damp^2 x| recomputed from x, and with --input (the true input)\n"
    "|x - input| / |input|. x is printed when it has at most 64 values, and written by --output.\n"
    "Memory: W, the arrays and the solver (lsqr, lsmr: a few vectors; qr, cholesky: the factor,\n"
    "estimated as 8 times the Gram matrix's nonzeros) must fit --max-memory, or nothing is read.\n"
    "Exit status 0 when the solver succeeded; 1 when it did not converge (the iteration limit or\n"
    "conlim of lsqr/lsmr: x is their last iterate and is written; a singular Gram matrix for\n"
    "cholesky: nothing is written), with the reason and what to try; 2 on usage or input errors.\n"
    "\n"
    "examples:\n"
    "  convmat deconv --op conv_transpose2d --input-shape 1,1,2,2 --weight k.npy --observed y.npy "
    "-o x.npy\n"
    "  convmat deconv --op conv2d --input x.npy --weight w.npy --observed y.npy --method lsmr "
    "--btol 1e-10 -o xhat.npy\n"
    "  convmat deconv --op conv2d --input-shape 1,1,128,128 --weight g.npy --observed y.npy "
    "--method lsqr --damp 0.01 -o x.npy\n";

int run_demo_command(const Arguments&, Context& ctx) {
  ctx.out.flush();
  return run_demo();
}

// ---------------------------------------------------------------------------------------------
// shape

int run_shape(const Arguments& args, Context& ctx) {
  std::optional<NpyInput> input = npy_input(args, Opt::input),
                          weight = npy_input(args, Opt::weight);
  const LayerDescription layer = layer_from(args, input, weight, std::nullopt);
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

  if (args.has(Opt::json)) {
    JsonWriter j;
    j.begin_object().field("op", layer.op).field("kind", to_string(s.kind()));
    j.field("input_shape", layer.input_shape)
        .field("weight_shape", s.weight_shape())
        .field("output_shape", layer.output_shape);
    j.field("groups", s.groups()).field("padding_mode", to_string(s.padding_mode()));
    j.key("axes").begin_array();
    for (int a = 0; a < rank; ++a) {
      const auto u = static_cast<std::size_t>(a);
      j.begin_object().field("axis", spatial_axis_name(rank, a)).field("input", s.input_size()[u]);
      j.field("kernel", s.kernel_size()[u])
          .field("stride", s.stride()[u])
          .field("dilation", s.dilation()[u]);
      j.field("pad_begin", s.pad_begin()[u]).field("pad_end", s.pad_end()[u]);
      if (t) j.field("output_padding", s.output_padding()[u]);
      j.field("output", s.output_size()[u]).end_object();
    }
    j.end_array();
    j.key("matrix")
        .begin_object()
        .field("layer_is", t ? "W^T" : "W")
        .field("rows", w_rows)
        .field("cols", w_cols);
    j.field(exact ? "nnz" : "nnz_at_most", static_cast<double>(nnz))
        .field("bytes_float64", static_cast<double>(bytes))
        .end_object();
    if (!descriptor.empty()) j.field("benchdnn", descriptor);
    j.end_object();
    emit(ctx, j);
    return exit_ok;
  }

  std::ostream& o = ctx.out;
  o << layer.op << ": input " << dims_to_tuple(layer.input_shape) << ", weight "
    << dims_to_tuple(s.weight_shape()) << " -> output " << dims_to_tuple(layer.output_shape)
    << "\n";
  o << "  groups " << s.groups();
  if (s.padding_mode() != PaddingMode::zeros) o << ", padding_mode " << to_string(s.padding_mode());
  o << "\n";
  o << (t ? "  per axis: o = (n-1)*s - p0 - p1 + d*(k-1) + a + 1\n"
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

// ---------------------------------------------------------------------------------------------
// apply

int run_apply(const Arguments& args, Context& ctx) {
  std::optional<NpyInput> input = npy_input(args, Opt::input),
                          weight = npy_input(args, Opt::weight), bias = npy_input(args, Opt::bias);
  if (!input) throw UsageError("apply needs --input X.npy");
  if (!weight) throw UsageError("apply needs --weight W.npy");
  if (!args.has(Opt::output)) throw UsageError("apply needs --output Y.npy");
  const LayerDescription layer = layer_from(args, input, weight, bias);
  const ConvSpec& s = layer.call.spec;
  const bool float32 = float32_output(args, {&input, &weight, &bias});
  const auto in_bytes = static_cast<std::uint64_t>(layer.call.batch * s.input_numel()) * 8;
  const auto out_bytes = static_cast<std::uint64_t>(layer.call.batch * s.output_numel()) * 8;
  require_memory(memory_limit(args), s,
                 in_bytes + 2 * out_bytes + static_cast<std::uint64_t>(s.weight_numel()) * 8);

  input->load(ctx);
  weight->load(ctx);
  if (bias) bias->load(ctx);
  const ConvMatrix<double> m(s, weight->data.data());
  std::vector<double> y(static_cast<std::size_t>(layer.call.batch * s.output_numel()));
  m.forward(input->data.data(), bias ? bias->data.data() : nullptr, y.data(), layer.call.batch);

  AtomicOutput file(args.get(Opt::output));
  file.write(npy_bytes(layer.output_shape, y.data(), float32));
  file.commit();

  Context report = report_context(ctx, file);
  if (args.has(Opt::json)) {
    JsonWriter j;
    j.begin_object().field("output", file.target()).field("shape", layer.output_shape);
    j.field("dtype", float32 ? "float32" : "float64").field("nnz", m.nnz()).end_object();
    emit(report, j);
  } else {
    report.out << "wrote " << file.target() << ": " << dims_to_tuple(layer.output_shape) << " "
               << (float32 ? "float32" : "float64") << ", computed as "
               << (s.is_transposed() ? "W^T" : "W") << " x" << (bias ? " + b" : "") << " (W "
               << m.stored().rows() << " x " << m.stored().cols() << ", " << m.nnz()
               << " nonzeros)\n";
  }
  return exit_ok;
}

// ---------------------------------------------------------------------------------------------
// matrix

int run_matrix(const Arguments& args, Context& ctx) {
  std::optional<NpyInput> input = npy_input(args, Opt::input),
                          weight = npy_input(args, Opt::weight);
  const LayerDescription layer = layer_from(args, input, weight, std::nullopt);
  const ConvSpec& s = layer.call.spec;
  const bool pattern_only = !weight;
  // M = W for a convolution, W^T for a transposed one; --transpose writes M^T.
  const bool swap = s.is_transposed() != args.has(Opt::transpose);
  const Index rows = args.has(Opt::transpose) ? s.input_numel() : s.output_numel();
  const Index cols = args.has(Opt::transpose) ? s.output_numel() : s.input_numel();
  const bool to_file = args.has(Opt::output);
  constexpr Index print_limit = 100;
  if (!to_file && (rows > print_limit || cols > print_limit)) {
    throw UsageError("the matrix is " + std::to_string(rows) + " x " + std::to_string(cols) +
                     ", too large to print (at most " + std::to_string(print_limit) + " x " +
                     std::to_string(print_limit) + "); write it with --output FILE.mtx");
  }
  require_memory(memory_limit(args), s, static_cast<std::uint64_t>(s.weight_numel()) * 8);
  if (weight) weight->load(ctx);
  const std::vector<double> ones(pattern_only ? static_cast<std::size_t>(s.weight_numel()) : 0,
                                 1.0);
  const ConvMatrix<double> m(s, pattern_only ? ones.data() : weight->data.data());
  const CsrMatrix<double>& w = m.stored();
  auto for_each_entry = [&](auto&& f) {  // f(row of the written matrix, col, value)
    for (Index r = 0; r < w.rows(); ++r) {
      for (RowPointer k = w.row_ptr()[r]; k < w.row_ptr()[r + 1]; ++k) {
        const Index c = w.col_index()[k];
        if (swap) {
          f(c, r, w.values()[k]);
        } else {
          f(r, c, w.values()[k]);
        }
      }
    }
  };
  const std::string what = std::string(args.has(Opt::transpose) ? "the transpose of " : "") +
                           "the layer's matrix " + (s.is_transposed() ? "W^T" : "W");

  if (to_file) {
    AtomicOutput file(args.get(Opt::output));
    std::ostringstream head;
    head << "%%MatrixMarket matrix coordinate " << (pattern_only ? "pattern" : "real")
         << " general\n";
    head << "% convmat: " << what << " of " << s.to_string() << "\n";
    head << "% rows: " << (args.has(Opt::transpose) ? "input (C_in, *n)" : "output (C_out, *o)")
         << ", columns: " << (args.has(Opt::transpose) ? "output (C_out, *o)" : "input (C_in, *n)")
         << ", flattened in C order (1-based here)\n";
    head << rows << " " << cols << " " << m.nnz() << "\n";
    file.write(head.str());
    const char* format = weight && weight->header.item_size <= 4 && weight->header.is_float()
                             ? "%lld %lld %.9g\n"
                             : "%lld %lld %.17g\n";
    std::string buffer;
    buffer.reserve(1 << 20);
    char line[96];
    for_each_entry([&](Index r, Index c, double v) {
      const int n =
          pattern_only ? std::snprintf(line, sizeof line, "%lld %lld\n",
                                       static_cast<long long>(r + 1), static_cast<long long>(c + 1))
                       : std::snprintf(line, sizeof line, format, static_cast<long long>(r + 1),
                                       static_cast<long long>(c + 1), v);
      buffer.append(line, static_cast<std::size_t>(n));
      if (buffer.size() > (1 << 20) - 128) {
        file.write(buffer);
        buffer.clear();
      }
    });
    file.write(buffer);
    file.commit();
    Context report = report_context(ctx, file);
    if (args.has(Opt::json)) {
      JsonWriter j;
      j.begin_object()
          .field("output", file.target())
          .field("matrix", s.is_transposed() != args.has(Opt::transpose) ? "W^T" : "W");
      j.field("rows", rows)
          .field("cols", cols)
          .field("nnz", m.nnz())
          .field("pattern", pattern_only)
          .end_object();
      emit(report, j);
    } else {
      report.out << "wrote " << file.target() << ": " << what << ", " << rows << " x " << cols
                 << ", " << m.nnz() << " nonzeros"
                 << (pattern_only ? " (structure only: no --weight)" : "") << "\n";
    }
    return exit_ok;
  }

  std::vector<double> dense(static_cast<std::size_t>(rows * cols), 0.0);
  std::vector<bool> present(dense.size(), false);
  for_each_entry([&](Index r, Index c, double v) {
    dense[static_cast<std::size_t>(r * cols + c)] = v;
    present[static_cast<std::size_t>(r * cols + c)] = true;
  });
  if (args.has(Opt::json)) {
    JsonWriter j;
    j.begin_object().field("matrix", s.is_transposed() != args.has(Opt::transpose) ? "W^T" : "W");
    j.field("rows", rows).field("cols", cols).field("nnz", m.nnz()).field("pattern", pattern_only);
    j.key("dense").begin_array();
    for (Index r = 0; r < rows; ++r) {
      j.begin_array();
      for (Index c = 0; c < cols; ++c) {
        const auto i = static_cast<std::size_t>(r * cols + c);
        j.value(pattern_only ? (present[i] ? 1.0 : 0.0) : dense[i]);
      }
      j.end_array();
    }
    j.end_array().end_object();
    emit(ctx, j);
    return exit_ok;
  }
  ctx.out << what << " of " << layer.op << ": " << rows << " x " << cols << ", " << m.nnz()
          << " nonzeros"
          << (pattern_only ? " (* marks a nonzero; give --weight for the values)" : "") << "\n";
  std::vector<std::string> cells(dense.size());
  std::size_t width = 1;
  for (std::size_t i = 0; i < dense.size(); ++i) {
    char b[32];
    if (pattern_only) {
      std::snprintf(b, sizeof b, "%s", present[i] ? "*" : ".");
    } else {
      std::snprintf(b, sizeof b, "%.6g", dense[i]);
    }
    cells[i] = b;
    width = std::max(width, cells[i].size());
  }
  for (Index r = 0; r < rows; ++r) {
    ctx.out << "  [";
    for (Index c = 0; c < cols; ++c) {
      const std::string& cell = cells[static_cast<std::size_t>(r * cols + c)];
      ctx.out << (c ? " " : "") << std::string(width - cell.size(), ' ') << cell;
    }
    ctx.out << "]\n";
  }
  return exit_ok;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The table

const std::vector<Command>& command_table() {
  static const std::vector<Command> table{
      {"demo",
       "the seeds' worked examples, computed by W and by the direct loops, with a verdict each",
       "Prints every numeric example of the three teaching notes (trans_conv, the 4x9 "
       "kernel2matrix,\n"
       "W^T y, the shape cases, the pixel-splatting steps), each computed by the sparse matrix W "
       "and\n"
       "by the independent direct loops and compared with the seed's numbers.\n"
       "Exit status 0 when every example agrees, 1 otherwise.",
       {},
       "",
       run_demo_command},
      {"shape",
       "a layer's output shape with the formula's terms, W's size and its benchdnn descriptor",
       "Shapes come from --input/--weight (.npy headers only; the data is not read), from\n"
       "--input-shape/--weight-shape, or from a --desc descriptor.",
       options({Opt::input, Opt::weight, Opt::input_shape, Opt::weight_shape, Opt::json}),
       shape_details, run_shape},
      {"apply", "y = layer(x) from .npy files, computed as W x + b",
       "Reads x, the weight and the bias, computes the layer as W x + b (W^T x + b for a "
       "transposed\n"
       "convolution) in float64 and writes y (the output dtype: see --dtype).",
       options({Opt::input, Opt::weight, Opt::bias, Opt::output, Opt::dtype, Opt::max_memory,
                Opt::json}),
       apply_details, run_apply},
      {"matrix",
       "the layer's matrix (W, or W^T for a transposed convolution) as Matrix Market, or printed",
       "Writes the layer's matrix M (W for a convolution, W^T for a transposed convolution; "
       "--transpose\n"
       "for M^T) as a Matrix Market coordinate file that scipy.io.mmread reads, or prints it "
       "densely\n"
       "when it is small.",
       options({Opt::input, Opt::weight, Opt::input_shape, Opt::weight_shape, Opt::output,
                Opt::transpose, Opt::max_memory, Opt::json}),
       matrix_details, run_matrix},
      {"check",
       "compare another implementation's output with the oracle W x + b; blame the worst elements",
       "Reads the layer's inputs and --candidate, the output of the implementation under test, "
       "computes\n"
       "the oracle W x + b in float64 and compares element by element under the tolerance below.\n"
       "For the worst elements outside it: the index, the candidate's value, the oracle's sum, and "
       "the\n"
       "input positions and kernel taps that feed the element (read off W's row), largest first.\n"
       "Exit status 0 when every element agrees, 1 when some do not (or the shape differs), 2 on\n"
       "usage or input errors.",
       options({Opt::input, Opt::weight, Opt::bias, Opt::candidate, Opt::atol, Opt::rtol,
                Opt::precision, Opt::blame, Opt::blame_terms, Opt::max_memory, Opt::json}),
       check_details, run_check},
      {"diagnose", "name the common mistake(s) that reproduce a wrong output",
       "Runs check; when the candidate disagrees, recomputes the layer with each mistake of the\n"
       "catalogue below injected and names those that reproduce the candidate within the "
       "tolerance.\n"
       "Exit status 0 when the candidate agrees with the oracle (nothing to diagnose), 1 when it "
       "does\n"
       "not (whether or not a mistake was named), 2 on usage or input errors.",
       options({Opt::input, Opt::weight, Opt::bias, Opt::candidate, Opt::atol, Opt::rtol,
                Opt::precision, Opt::max_memory, Opt::json}),
       diagnose_details, run_diagnose},
      {"analyze",
       "singular values, rank, condition, transposed vs inverse, checkerboard, nnz and memory of W",
       "Analyzes the layer's matrix M for one sample: its size, nonzeros and memory; its singular "
       "values,\n"
       "rank and condition number; how far the transposed layer is from the inverse (||M^T - M^+|| "
       "and\n"
       "the tight-frame test); and, for a transposed layer, the checkerboard of its output.",
       options({Opt::input, Opt::weight, Opt::input_shape, Opt::weight_shape, Opt::weight_fill,
                Opt::spectrum, Opt::count, Opt::max_memory, Opt::json}),
       analyze_details, run_analyze},
      {"deconv",
       "recover a layer's input from its output by least squares: qr, cholesky, lsqr, lsmr",
       "Reads the layer's output (--observed) and weight, solves the least-squares problem below "
       "for the\n"
       "input and writes it (--output, atomically). --input, if given, is the true input: its "
       "shape\n"
       "describes the layer and the recovered one is compared with it; otherwise give "
       "--input-shape.",
       options({Opt::input, Opt::input_shape, Opt::weight, Opt::bias, Opt::observed, Opt::output,
                Opt::method, Opt::damp, Opt::lsq_atol, Opt::lsq_btol, Opt::conlim,
                Opt::max_iterations, Opt::dtype, Opt::max_memory, Opt::json}),
       deconv_details, run_deconv},
  };
  return table;
}

std::string program_help() {
  std::ostringstream s;
  s << "usage: convmat <command> [options]\n\n"
       "A verification oracle for convolution layers: the layer as an explicit sparse matrix W\n"
       "(convolution = W x, transposed convolution = W^T y) with PyTorch's and ONNX's "
       "semantics.\n\n"
       "commands:\n";
  for (const Command& c : command_table()) {
    s << "  " << c.name << std::string(10 - c.name.size(), ' ') << c.summary << "\n";
  }
  s << "\nconvmat <command> --help describes a command.\n"
       "exit status: 0 ok, 1 the check found a disagreement (check, diagnose, demo) or a "
       "computation did\n"
       "not converge (deconv, analyze), 2 usage or input error.\n";
  return s.str();
}

std::string command_help(const Command& c) {
  std::ostringstream s;
  s << "usage: convmat " << c.name << (c.options.empty() ? "" : " [options]") << "\n\n"
    << c.description << "\n";
  if (!c.options.empty()) {
    s << "\noptions:\n";
    for (Opt o : c.options) {
      const OptionSpec& spec = option_spec(o);
      std::string left = "  --" + std::string(spec.name);
      if (!spec.alias.empty())
        left += spec.alias.size() == 1 ? ", -" + std::string(spec.alias)
                                       : ", --" + std::string(spec.alias);
      if (!spec.metavar.empty()) left += " " + std::string(spec.metavar);
      s << left;
      // Wrap the help at 100 columns, indented at column 32.
      std::size_t column = left.size();
      std::istringstream words{std::string(spec.help)};
      std::string word;
      bool first = true;
      if (column >= 31) {
        s << "\n" << std::string(32, ' ');
        column = 32;
      } else {
        s << std::string(32 - column, ' ');
        column = 32;
      }
      while (words >> word) {
        if (!first && column + 1 + word.size() > 100) {
          s << "\n" << std::string(32, ' ');
          column = 32;
        } else if (!first) {
          s << ' ';
          ++column;
        }
        s << word;
        column += word.size();
        first = false;
      }
      s << "\n";
    }
    s << "  --help, -h                    describe the command\n";
  }
  if (!c.details.empty()) s << "\n" << c.details;
  return s.str();
}

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Context ctx{out, err};
  if (args.empty()) {
    err << program_help();
    return exit_usage;
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    out << program_help();
    return exit_ok;
  }
  const Command* command = nullptr;
  for (const Command& c : command_table()) {
    if (c.name == args[0]) command = &c;
  }
  // Errors are JSON too with --json, also those of the flags and of the command's name.
  const bool json = std::find(args.begin(), args.end(), "--json") != args.end();
  if (!command) {
    std::string what = "unknown command '" + args[0] + "'";
    if (args[0].rfind("-", 0) == 0) {  // an option before the command
      what = "the command must come first, got '" + args[0] + "'";
      for (const std::string& a : args) {
        for (const Command& c : command_table()) {
          if (c.name == a) what += " before '" + a + "'";
        }
      }
    }
    err << "convmat: " << what << "\n\n" << program_help();
    if (json) {
      JsonWriter j;
      j.begin_object().field("error", what).field("exit_status", exit_usage).end_object();
      out << j.str() << "\n";
    }
    return exit_usage;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  try {
    std::vector<Opt> allowed = command->options;
    allowed.push_back(Opt::help);
    const Arguments parsed = parse_arguments(command->name, rest, allowed);
    if (parsed.has(Opt::help)) {
      out << command_help(*command);
      return exit_ok;
    }
    return command->run(parsed, ctx);
  } catch (const std::bad_alloc&) {
    err << "convmat " << command->name
        << ": out of memory (lower the problem size, or check --max-memory)\n";
    if (json) out << "{\"error\":\"out of memory\",\"exit_status\":2}\n";
    return exit_usage;
  } catch (const std::exception& e) {
    err << "convmat " << command->name << ": " << e.what() << "\n";
    if (json) {
      JsonWriter j;
      j.begin_object()
          .field("error", std::string(e.what()))
          .field("exit_status", exit_usage)
          .end_object();
      out << j.str() << "\n";
    }
    return exit_usage;
  }
}

}  // namespace convmat::cli
