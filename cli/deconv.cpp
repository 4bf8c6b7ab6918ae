// `convmat deconv`: the least-squares inverse of a layer (deconvolve.hpp) applied to an output
// .npy — x̂ = argmin ‖M x − (y − b)‖² + λ²‖x‖², minimum norm among the minimizers, per sample —
// written atomically as .npy, with the solver's report.

#include <algorithm>
#include <cmath>
#include <ostream>
#include <sstream>

#include "commands.hpp"
#include "convmat/solve/deconvolve.hpp"
#include "convmat/solve/solver_memory.hpp"
#include "json.hpp"
#include "output_file.hpp"
#include "session.hpp"

namespace convmat::cli {

namespace {

// Printed (and in the JSON) when the recovered input has at most this many values.
constexpr Index show_limit = 64;

// What an unsuccessful status means for the user, and what to try.
std::string advice(LsqStatus status) {
  switch (status) {
    case LsqStatus::success: return "";
    case LsqStatus::condition_limit:
      return "the estimate of cond([M; damp*I]) passed --conlim: the problem is too "
             "ill-conditioned for these "
             "tolerances; raise --conlim (0: no limit), add --damp, or use --method qr";
    case LsqStatus::iteration_limit:
      return "the iteration limit was reached before the tolerances: raise --max-iterations, "
             "loosen --atol/--btol, "
             "or add --damp";
    case LsqStatus::not_positive_definite:
      return "the Gram matrix is singular (M is rank deficient and damp = 0): use --method qr for "
             "the minimum-norm "
             "solution, or add --damp";
    case LsqStatus::cancelled: return "the solve was cancelled";
    case LsqStatus::numerical_issue:
      return "a NaN or infinity appeared, or SuiteSparse failed (out of memory?)";
  }
  return "";
}

// The residual history at iterations 0, 1, 2, 5, 10, 20, 50, … and the last, relative to |y|.
std::string history_text(const std::vector<double>& h, double norm_y) {
  if (h.empty()) return "";
  const std::size_t last = h.size() - 1;
  std::vector<std::size_t> marks{0};
  for (std::size_t decade = 1; decade < last; decade *= 10) {
    for (std::size_t step : {1, 2, 5}) {
      if (step * decade < last) marks.push_back(step * decade);
    }
  }
  if (last > 0) marks.push_back(last);
  std::string text;
  for (std::size_t i : marks)
    text += (i ? ", " : "") + std::to_string(i) + ": " +
            short_number(norm_y > 0 ? h[i] / norm_y : h[i]);
  return text;
}

}  // namespace

int run_deconv(const Arguments& args, Context& ctx) {
  std::optional<NpyInput> truth = npy_input(args, Opt::input),
                          weight = npy_input(args, Opt::weight), bias = npy_input(args, Opt::bias),
                          observed = npy_input(args, Opt::observed);
  if (!weight) throw UsageError("deconv needs --weight W.npy (the layer's weight)");
  if (!observed) throw UsageError("deconv needs --observed Y.npy (the layer's output to invert)");

  // The method and its options, checked before anything is read.
  const LsqMethod method = [&] {
    if (!args.has(Opt::method)) return LsqMethod::qr;
    const std::string& m = args.get(Opt::method);
    if (m != "qr" && m != "cholesky" && m != "lsqr" && m != "lsmr") {
      throw UsageError("--method: expected qr, cholesky, lsqr or lsmr, got '" + m + "'");
    }
    return lsq_method_from_string(m);
  }();
  const bool iterative = method == LsqMethod::lsqr || method == LsqMethod::lsmr;
  LsqOptions options;
  if (args.has(Opt::damp)) options.damp = parse_nonnegative(Opt::damp, args.get(Opt::damp));
  for (Opt o : {Opt::lsq_atol, Opt::lsq_btol, Opt::conlim, Opt::max_iterations}) {
    if (args.has(o) && !iterative) {
      throw UsageError(option_name(o) +
                       " applies to --method lsqr and lsmr (the iterative methods), not " +
                       to_string(method));
    }
  }
  if (args.has(Opt::lsq_atol))
    options.atol = parse_nonnegative(Opt::lsq_atol, args.get(Opt::lsq_atol));
  if (args.has(Opt::lsq_btol))
    options.btol = parse_nonnegative(Opt::lsq_btol, args.get(Opt::lsq_btol));
  if (args.has(Opt::conlim)) options.conlim = parse_nonnegative(Opt::conlim, args.get(Opt::conlim));
  if (args.has(Opt::max_iterations)) {
    options.iteration_limit = parse_index(Opt::max_iterations, args.get(Opt::max_iterations));
    if (options.iteration_limit < 1) {
      throw UsageError("--max-iterations: expected at least 1, got " +
                       args.get(Opt::max_iterations));
    }
  }

  // The layer: from --input (the true input, compared with x̂ at the end) or --input-shape; with a
  // --desc and neither, the batch is the observed output's.
  LayerDescription layer = [&] {
    if (!args.has(Opt::desc) || truth || args.has(Opt::input_shape))
      return layer_from(args, truth, weight, bias);
    const LayerDescription probe = layer_from(args, std::nullopt, weight, bias);
    const Dims& y = observed->header.shape;
    const Dims sample_out = probe.call.spec.output_shape();
    Dims input_shape = probe.call.spec.input_shape();
    if (y.size() == sample_out.size() + 1) input_shape.insert(input_shape.begin(), y[0]);
    return resolve_layer(args, input_shape, weight->header.shape);
  }();
  const ConvSpec& s = layer.call.spec;
  const Index batch = layer.call.batch;
  if (observed->header.shape != layer.output_shape) {
    throw UsageError(observed->path + ": shape " + dims_to_tuple(observed->header.shape) +
                     " does not match the layer's output " + dims_to_tuple(layer.output_shape) +
                     " (from the input shape " + dims_to_tuple(layer.input_shape) +
                     " and the weight " + dims_to_tuple(s.weight_shape()) + ")");
  }
  const Index rows = s.output_numel(), cols = s.input_numel();
  const Index limit = iteration_limit(options, cols);

  // Memory: W, the weight, y as read and minus the bias, x̂ and its product (and the true x), the
  // solver's own (solver_memory.hpp).
  const auto samples = static_cast<long double>(batch);
  const long double arrays = 8.0L * (static_cast<long double>(s.weight_numel()) +
                                     samples * static_cast<long double>(rows) * 2 +
                                     samples * static_cast<long double>(cols) * (truth ? 3 : 2));
  require_solver_memory(memory_limit(args), s, sizeof(double), method, options, batch, arrays);

  const bool float32 = float32_output(args, {&observed, &weight, &bias});
  weight->load(ctx);
  observed->load(ctx);
  if (bias) bias->load(ctx);
  if (truth) truth->load(ctx);

  // y − b: one column per sample (column-major rows × batch = C-order (batch, C_out, *o)).
  DenseMatrix<double> y = Eigen::Map<const DenseMatrix<double>>(observed->data.data(), rows, batch);
  const Index positions = rows / s.out_channels();
  if (bias) {
    for (Index n = 0; n < batch; ++n) {
      for (Index c = 0; c < s.out_channels(); ++c)
        y.col(n).segment(c * positions, positions).array() -=
            bias->data[static_cast<std::size_t>(c)];
    }
  }
  observed->data = {};
  const ConvMatrix<double> m(s, weight->data.data());
  const LsqResult<double> result = deconvolve(m, y, method, options);
  const LsqInfo& info = result.info;
  const DenseMatrix<double>& x = result.x;

  // The true input: how far x̂ is from it, and whether y is consistent with it.
  double error = 0, truth_residual = 0;
  if (truth) {
    const auto t = Eigen::Map<const DenseMatrix<double>>(truth->data.data(), cols, batch);
    const double norm = t.norm();
    error = norm > 0 ? (x - t).norm() / norm : (x - t).norm();
    DenseMatrix<double> mt(rows, batch);
    m.apply(t.data(), mt.data(), batch);
    const double norm_y = y.norm();
    truth_residual = norm_y > 0 ? (mt - y).norm() / norm_y : (mt - y).norm();
  }

  // Written for success and for the iterative limits (the last iterate); not after a failed
  // factorization (its x is zero) or a NaN.
  const bool usable = info.status == LsqStatus::success ||
                      info.status == LsqStatus::iteration_limit ||
                      info.status == LsqStatus::condition_limit;
  std::string written;
  bool written_to_stdout = false;
  if (args.has(Opt::output) && usable && x.allFinite()) {
    AtomicOutput file(args.get(Opt::output));
    file.write(npy_bytes(layer.input_shape, x.data(), float32));
    file.commit();
    written = file.target();
    written_to_stdout = file.is_stdout();
  }
  // With the output on stdout (-o /dev/stdout), the report goes to stderr.
  Context report = written_to_stdout ? Context{ctx.err, ctx.err} : ctx;
  const bool ok = info.status == LsqStatus::success;
  const double norm_y = y.norm();
  const std::string map = s.is_transposed() ? "W^T" : "W";

  if (args.has(Opt::json)) {
    // The command's own keys, then the solver's report (LsqInfo's fields).
    JsonWriter j;
    j.begin_object().field("op", layer.op).field("layer", s.to_string()).field("layer_is", map);
    j.field("damp", options.damp).field("converged", ok);
    j.field("rows", rows).field("cols", cols).field("samples", batch);
    write_fields(j, info);
    if (iterative) {
      j.field("atol", options.atol)
          .field("btol", options.btol)
          .field("conlim", options.conlim)
          .field("iteration_limit", limit);
    }
    if (truth) j.field("error_vs_input", error).field("input_residual", truth_residual);
    j.key("output");
    if (written.empty())
      j.null();
    else
      j.value(written);
    j.field("shape", layer.input_shape).field("dtype", float32 ? "float32" : "float64");
    if (batch * cols <= show_limit) {
      j.key("x").begin_array();
      for (Index i = 0; i < batch * cols; ++i) j.value(x.data()[i]);
      j.end_array();
    }
    j.end_object();
    emit(report, j);
    return ok ? exit_ok : exit_not_converged;
  }

  std::ostream& o = report.out;
  const std::string spec = s.to_string();
  o << "layer: " << spec;
  if (spec.compare(0, layer.op.size(), layer.op) != 0) o << "  (" << layer.op << ")";
  o << "\n";
  o << "solve: x = argmin |M x - y|^2"
    << (options.damp > 0 ? " + " + short_number(options.damp) + "^2 |x|^2" : "")
    << " with M = " << map << " (" << rows << " x " << cols << "), minimum norm, for " << batch
    << (batch == 1 ? " sample" : " samples") << (bias ? " (y minus the bias)" : "") << ", by "
    << to_string(method) << "\n";
  if (info.rank >= 0) {
    o << "rank: " << info.rank << " of " << cols << " unknowns"
      << (options.damp > 0 ? " (of [M; damp*I])" : "") << " (tolerance "
      << short_number(info.qr_tolerance) << ")";
    if (info.rank < cols && options.damp == 0) {
      o << ": y does not determine x (a null space of dimension " << cols - info.rank
        << "); x is the minimum-norm solution, the part of the input in M's row space";
    } else if (options.damp == 0) {
      o << ": M is injective, x is determined by y";
    }
    o << "\n";
  }
  if (iterative) {
    o << "iterations: " << info.iterations << " (limit " << limit << " per sample; atol "
      << short_number(options.atol) << ", btol " << short_number(options.btol) << ", conlim "
      << short_number(options.conlim) << ")\n";
    if (info.residual_history.size() == 1)
      o << "  relative residual by iteration: " << history_text(info.residual_history[0], norm_y)
        << "\n";
  }
  o << "stop: " << to_string(info.status)
    << (info.stop_code >= 0 ? " (istop " + std::to_string(info.stop_code) + ")" : "") << ": "
    << info.message << "\n";
  o << "residual: |y - M x| = " << short_number(info.residual_norm) << ", relative "
    << short_number(info.relative_residual) << "; |M^T(y - M x)"
    << (options.damp > 0 ? " - damp^2 x" : "") << "| = " << short_number(info.normal_residual_norm)
    << "\n";
  if (info.condition_estimate > 0)
    o << "condition estimate: " << short_number(info.condition_estimate) << "\n";
  if (truth) {
    o << "against " << truth->path << ": |x - input| / |input| = " << short_number(error)
      << " (|M input - y| / |y| = " << short_number(truth_residual) << ")\n";
  }
  if (batch * cols <= show_limit) {
    o << "x " << dims_to_tuple(layer.input_shape) << ", by rows of the last axis:\n";
    const Index last = layer.input_shape.back();
    for (Index i = 0; i < batch * cols; ++i)
      o << (i % last ? " " : "  [") << short_number(x.data()[i])
        << (i % last == last - 1 ? "]\n" : "");
  }
  if (!written.empty()) {
    o << "wrote " << written << ": " << dims_to_tuple(layer.input_shape) << " "
      << (float32 ? "float32" : "float64") << (ok ? "" : " (the last iterate)") << "\n";
  } else if (args.has(Opt::output)) {
    o << "nothing written to " << args.get(Opt::output) << "\n";
  } else if (batch * cols > show_limit) {
    o << "x not written (" << batch * cols << " values; --output X.npy writes it)\n";
  }
  if (!ok) o << "result: did not converge (exit status 1): " << advice(info.status) << "\n";
  return ok ? exit_ok : exit_not_converged;
}

}  // namespace convmat::cli
