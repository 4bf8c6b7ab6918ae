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
#include "output_file.hpp"
#include "session.hpp"

namespace convmat::cli {

namespace {

constexpr std::string_view description =
    "Reads the layer's output (--observed) and weight, solves the least-squares problem below "
    "for the\n"
    "input and writes it (--output, atomically). --input, if given, is the true input: its "
    "shape\n"
    "describes the layer and the recovered one is compared with it; otherwise give "
    "--input-shape.";

constexpr std::string_view details =
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

struct Flags {
  LayerFlags layer;
  DataFlags data;  // --input is the true input, compared with the solution
  std::optional<std::string> observed, output, dtype;
  SolverFlags solver;
  std::optional<ByteSize> max_memory;
  bool json = false;
};

// The files, their headers read.
struct Inputs {
  std::optional<NpyInput> truth, weight, bias, observed;
};

Inputs read_headers(const Flags& f) {
  Inputs in{npy_input(f.data.input), npy_input(f.data.weight), npy_input(f.data.bias),
            npy_input(f.observed)};
  if (!in.weight) throw UsageError("deconv needs --weight W.npy (the layer's weight)");
  if (!in.observed)
    throw UsageError("deconv needs --observed Y.npy (the layer's output to invert)");
  return in;
}

// The solver's options; the iterative ones only with an iterative method.
LsqOptions solver_options(const Flags& f, LsqMethod method) {
  const bool iterative = method == LsqMethod::lsqr || method == LsqMethod::lsmr;
  for (const auto& [flag, given] :
       {std::pair{"--atol", f.solver.atol.has_value()},
        std::pair{"--btol", f.solver.btol.has_value()},
        std::pair{"--conlim", f.solver.conlim.has_value()},
        std::pair{"--max-iterations", f.solver.max_iterations.has_value()},
        std::pair{"--preconditioner", f.solver.preconditioner.has_value()},
        std::pair{"--preconditioner-delta", f.solver.preconditioner_delta.has_value()}}) {
    if (given && !iterative) {
      throw UsageError(std::string(flag) +
                       " applies to --method lsqr and lsmr (the iterative methods), not " +
                       to_string(method));
    }
  }
  LsqOptions options;
  if (f.solver.damp) options.damp = *f.solver.damp;
  if (f.solver.atol) options.atol = *f.solver.atol;
  if (f.solver.btol) options.btol = *f.solver.btol;
  if (f.solver.conlim) options.conlim = *f.solver.conlim;
  if (f.solver.max_iterations) options.iteration_limit = *f.solver.max_iterations;
  if (f.solver.preconditioner) options.preconditioner = *f.solver.preconditioner;
  if (f.solver.preconditioner_delta) options.preconditioner_delta = *f.solver.preconditioner_delta;
  return options;
}

// The layer: from --input (the true input) or --input-shape; with a --desc and neither, the
// batch is the observed output's. The observed output must have the layer's output shape.
LayerDescription deconv_layer(const Flags& f, const Inputs& in) {
  LayerDescription layer = [&] {
    if (!f.layer.desc || in.truth || f.data.input_shape)
      return layer_from(f.layer, f.data, in.truth, in.weight, in.bias);
    const LayerDescription probe = layer_from(f.layer, f.data, std::nullopt, in.weight, in.bias);
    const Dims& y = in.observed->header.shape;
    const Dims sample_out = probe.call.spec.output_shape();
    Dims input_shape = probe.call.spec.input_shape();
    if (y.size() == sample_out.size() + 1) input_shape.insert(input_shape.begin(), y[0]);
    return resolve_layer(f.layer, input_shape, in.weight->header.shape);
  }();
  if (in.observed->header.shape != layer.output_shape) {
    throw UsageError(in.observed->path + ": shape " + dims_to_tuple(in.observed->header.shape) +
                     " does not match the layer's output " + dims_to_tuple(layer.output_shape) +
                     " (from the input shape " + dims_to_tuple(layer.input_shape) +
                     " and the weight " + dims_to_tuple(layer.call.given_weight_shape()) + ")");
  }
  return layer;
}

// Memory: W, the weight, y as read and minus the bias, x̂ and its product (and the true x), the
// solver's own (solver_memory.hpp).
void require_deconv_memory(const Flags& f, const LayerDescription& layer, LsqMethod method,
                           const LsqOptions& options, bool truth) {
  const ConvSpec& s = layer.call.spec;
  const auto samples = static_cast<long double>(layer.call.batch);
  const long double arrays =
      8.0L * (static_cast<long double>(s.weight_numel()) +
              samples * static_cast<long double>(s.output_numel()) * 2 +
              samples * static_cast<long double>(s.input_numel()) * (truth ? 3 : 2));
  require_solver_memory(memory_limit(f.max_memory), s, sizeof(double), method, options,
                        layer.call.batch, arrays);
}

// y − b: one column per sample (column-major rows × batch = C-order (batch, C_out, *o)). The
// observed data is released.
DenseMatrix<double> observed_minus_bias(const ConvSpec& s, Index batch, NpyInput& observed,
                                        const std::optional<NpyInput>& bias) {
  const Index rows = s.output_numel();
  DenseMatrix<double> y = Eigen::Map<const DenseMatrix<double>>(observed.data.data(), rows, batch);
  const Index positions = rows / s.out_channels();
  if (bias) {
    for (Index n = 0; n < batch; ++n) {
      for (Index c = 0; c < s.out_channels(); ++c)
        y.col(n).segment(c * positions, positions).array() -=
            bias->data[static_cast<std::size_t>(c)];
    }
  }
  observed.data = {};
  return y;
}

// The true input: how far x̂ is from it, and whether y is consistent with it.
struct TruthComparison {
  double error = 0;     // |x̂ - x| / |x|
  double residual = 0;  // |M x - y| / |y|
};
TruthComparison compare_with_truth(const ConvMatrix<double>& m, const DenseMatrix<double>& y,
                                   const DenseMatrix<double>& x, const NpyInput& truth) {
  const Index rows = y.rows(), cols = x.rows(), batch = x.cols();
  const auto t = Eigen::Map<const DenseMatrix<double>>(truth.data.data(), cols, batch);
  TruthComparison c;
  const double norm = t.norm();
  c.error = norm > 0 ? (x - t).norm() / norm : (x - t).norm();
  DenseMatrix<double> mt(rows, batch);
  m.apply(t.data(), mt.data(), batch);
  const double norm_y = y.norm();
  c.residual = norm_y > 0 ? (mt - y).norm() / norm_y : (mt - y).norm();
  return c;
}

// What the run produced, for the report.
struct Outcome {
  const LayerDescription& layer;
  LsqMethod method;
  const LsqOptions& options;
  Index iteration_limit;
  const LsqResult<double>& result;
  double norm_y;
  bool bias;
  std::optional<TruthComparison> truth;
  std::string truth_path;
  std::string written;  // the file written, or empty
  bool float32;
  const std::vector<double>& x_given;  // result.x in the input's layout
  bool converged() const { return result.info.status == LsqStatus::success; }
  bool iterative() const { return method == LsqMethod::lsqr || method == LsqMethod::lsmr; }
};

// Written for success and for the iterative limits (the last iterate); not after a failed
// factorization (its x is zero) or a NaN. Returns the file, with whether it is stdout.
std::pair<std::string, bool> write_solution(const Flags& f, const LayerDescription& layer,
                                            const LsqResult<double>& result,
                                            const std::vector<double>& x_given, bool float32) {
  const LsqStatus status = result.info.status;
  const bool usable = status == LsqStatus::success || status == LsqStatus::iteration_limit ||
                      status == LsqStatus::condition_limit;
  if (!f.output || !usable || !result.x.allFinite()) return {"", false};
  AtomicOutput file(*f.output);
  file.write(npy_bytes(layer.input_shape, x_given.data(), float32));
  file.commit();
  return {file.target(), file.is_stdout()};
}

// The command's own keys, then the solver's report (LsqInfo's fields).
Json deconv_json(const Outcome& o) {
  const ConvSpec& s = o.layer.call.spec;
  const Index rows = s.output_numel(), cols = s.input_numel(), batch = o.layer.call.batch;
  Json j{{"op", o.layer.op},
         {"layer", s.to_string()},
         {"layer_is", s.is_transposed() ? "W^T" : "W"},
         {"damp", o.options.damp},
         {"converged", o.converged()},
         {"rows", rows},
         {"cols", cols},
         {"samples", batch}};
  add_fields(j, o.result.info);
  if (o.iterative()) {
    j["atol"] = o.options.atol;
    j["btol"] = o.options.btol;
    j["conlim"] = o.options.conlim;
    j["iteration_limit"] = o.iteration_limit;
  }
  if (o.truth) {
    j["error_vs_input"] = o.truth->error;
    j["input_residual"] = o.truth->residual;
  }
  j["output"] = o.written.empty() ? Json(nullptr) : Json(o.written);
  j["shape"] = o.layer.input_shape;
  j["dtype"] = o.float32 ? "float32" : "float64";
  if (batch * cols <= show_limit) {
    Json& x = j["x"] = Json::array();
    for (Index i = 0; i < batch * cols; ++i) x.push_back(o.x_given[static_cast<std::size_t>(i)]);
  }
  return j;
}

void print_report(std::ostream& o, const Outcome& r, bool output_given, const std::string& output) {
  const ConvSpec& s = r.layer.call.spec;
  const LsqInfo& info = r.result.info;
  const LsqOptions& options = r.options;
  const Index rows = s.output_numel(), cols = s.input_numel(), batch = r.layer.call.batch;
  const std::string spec = s.to_string();
  o << "layer: " << spec;
  if (spec.compare(0, r.layer.op.size(), r.layer.op) != 0) o << "  (" << r.layer.op << ")";
  o << "\n";
  o << "solve: x = argmin |M x - y|^2"
    << (options.damp > 0 ? " + " + short_number(options.damp) + "^2 |x|^2" : "")
    << " with M = " << (s.is_transposed() ? "W^T" : "W") << " (" << rows << " x " << cols
    << "), minimum norm, for " << batch << (batch == 1 ? " sample" : " samples")
    << (r.bias ? " (y minus the bias)" : "") << ", by " << to_string(r.method) << "\n";
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
  if (r.iterative()) {
    o << "iterations: " << info.iterations << " (limit " << r.iteration_limit
      << " per sample; atol " << short_number(options.atol) << ", btol "
      << short_number(options.btol) << ", conlim " << short_number(options.conlim) << ")\n";
    if (info.preconditioner != "none") {
      o << "preconditioner: " << info.preconditioner << " (" << info.preconditioner_side
        << ", delta " << short_number(info.preconditioner_delta) << ")\n";
    }
    if (info.residual_history.size() == 1)
      o << "  relative residual by iteration: " << history_text(info.residual_history[0], r.norm_y)
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
  if (r.truth) {
    o << "against " << r.truth_path << ": |x - input| / |input| = " << short_number(r.truth->error)
      << " (|M input - y| / |y| = " << short_number(r.truth->residual) << ")\n";
  }
  if (batch * cols <= show_limit) {
    o << "x " << dims_to_tuple(r.layer.input_shape) << ", by rows of the last axis:\n";
    const Index last = r.layer.input_shape.back();
    for (Index i = 0; i < batch * cols; ++i)
      o << (i % last ? " " : "  [") << short_number(r.x_given[static_cast<std::size_t>(i)])
        << (i % last == last - 1 ? "]\n" : "");
  }
  if (!r.written.empty()) {
    o << "wrote " << r.written << ": " << dims_to_tuple(r.layer.input_shape) << " "
      << (r.float32 ? "float32" : "float64") << (r.converged() ? "" : " (the last iterate)")
      << "\n";
  } else if (output_given) {
    o << "nothing written to " << output << "\n";
  } else if (batch * cols > show_limit) {
    o << "x not written (" << batch * cols << " values; --output X.npy writes it)\n";
  }
  if (!r.converged())
    o << "result: did not converge (exit status 1): " << advice(info.status) << "\n";
}

// The steps: headers and options (nothing read yet), the layer, the memory, the data, the
// solve, the comparison with the true input, the output, the report.
int run_deconv(const Flags& f, Context& ctx) {
  Inputs in = read_headers(f);
  const LsqMethod method = f.solver.method.value_or(LsqMethod::qr);
  const LsqOptions options = solver_options(f, method);
  const LayerDescription layer = deconv_layer(f, in);
  const ConvSpec& s = layer.call.spec;
  require_deconv_memory(f, layer, method, options, in.truth.has_value());

  const bool float32 = float32_output(f.dtype, {&in.observed, &in.weight, &in.bias});
  in.weight->load(ctx, layer.call, LayerCall::Tensor::weight);
  in.observed->load(ctx, layer.call, LayerCall::Tensor::output);
  if (in.bias) in.bias->load(ctx);
  if (in.truth) in.truth->load(ctx, layer.call, LayerCall::Tensor::input);

  const DenseMatrix<double> y = observed_minus_bias(s, layer.call.batch, *in.observed, in.bias);
  const ConvMatrix<double> m(s, in.weight->data.data());
  const LsqResult<double> result = deconvolve(m, y, method, options);
  // x̂ as the caller stores the input (--data-format): what is written and shown.
  const std::vector<double> x_given = layer.call.from_canonical(
      LayerCall::Tensor::input,
      std::vector<double>(result.x.data(), result.x.data() + result.x.size()));
  Outcome outcome{layer,
                  method,
                  options,
                  iteration_limit(options, s.input_numel()),
                  result,
                  y.norm(),
                  in.bias.has_value(),
                  std::nullopt,
                  "",
                  "",
                  float32,
                  x_given};
  if (in.truth) {
    outcome.truth = compare_with_truth(m, y, result.x, *in.truth);
    outcome.truth_path = in.truth->path;
  }
  const auto [written, to_stdout] = write_solution(f, layer, result, x_given, float32);
  outcome.written = written;
  // With the output on stdout (-o /dev/stdout), the report goes to stderr.
  Context report = to_stdout ? Context{ctx.err, ctx.err} : ctx;
  if (f.json) {
    emit(report, deconv_json(outcome));
  } else {
    print_report(report.out, outcome, f.output.has_value(), f.output.value_or(""));
  }
  return outcome.converged() ? exit_ok : exit_not_converged;
}

Runner declare(CLI::App& sub) {
  sub.description(std::string(description));
  sub.footer(std::string(details));
  auto f = std::make_shared<Flags>();
  add_layer_options(sub, f->layer);
  add_data_options(sub, f->data, data_input | data_input_shape);  // in the help's order
  add_data_options(sub, f->data, data_weight | data_bias);
  add_observed(sub, f->observed);
  add_output(sub, f->output);
  add_solver_options(sub, f->solver);
  add_dtype(sub, f->dtype);
  add_max_memory(sub, f->max_memory);
  add_json(sub, f->json);
  return [f](Context& ctx) { return run_deconv(*f, ctx); };
}

}  // namespace

const CommandDecl deconv_command{
    "deconv", "recover a layer's input from its output by least squares: qr, cholesky, lsqr, lsmr",
    declare};

}  // namespace convmat::cli
