// convmat_bench: times convmat's pieces for bench/run.py, one JSON object per line on stdout.
//
//   convmat_bench info    (threads, and the product kernels in use: detail/kernel_isa.hpp)
//   convmat_bench triad   --elements N --threads T --reps R
//   convmat_bench build   LAYER [--dtype float|double] --reps R
//   convmat_bench apply   LAYER [--dtype float|double] --batch B --reps R [--stored-transpose 1]
//                         [--triad-elements N] [--storage csr|channel_blocked|automatic]
//   convmat_bench refill  LAYER [--dtype float|double] --reps R
//   convmat_bench lsq     --method qr|cholesky|lsqr|lsmr [--problem gauss|multi|stride2] [--btol T]
//                         [--size N] [--sigma S] [--preconditioner none|auto|dct|circulant]
//                         [--delta D] [--noise L] [--damp-rule given|gcv] [--reference 1]
//                         [--best-error K] --reps R
//   convmat_bench oracle  --configs FILE --candidates FILE --reps R
//   LAYER: --kind conv|transposed --in C --out C --size N[xN..] --kernel K --stride S --pad P
//          [--output-padding A]   (PyTorch's arguments; one value per spatial axis or one for all)
//
// Every timing is a list of wall-clock seconds, one per repetition (bench/run.py takes medians).
// Data are integer-valued, the same formulas as bench/baselines.py, so the checksums of W·x and
// Wᵀ·y must equal SciPy's and PyTorch's exactly:
//   weight[i] = (37 i mod 7) − 3,  x[j] = (11 j mod 5) − 2  (j over the whole batch).

#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "convmat/core/buffer.hpp"
#include "convmat/core/conv_matrix.hpp"
#include "convmat/core/detail/kernel_isa.hpp"
#include "convmat/oracle/check.hpp"
#include "convmat/solve/deconvolve.hpp"
#include "convmat/solve/preconditioner.hpp"

using namespace convmat;
using namespace convmat::bench;

namespace {

// CPU time this process spent in the kernel so far, all threads: for a build, mostly the zeroing
// of fresh pages on first touch.
double system_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_stime.tv_sec) + 1e-6 * static_cast<double>(u.ru_stime.tv_usec);
}

template <class Scalar>
Buffer<Scalar> vector_data(Index n) {
  Buffer<Scalar> x(static_cast<std::size_t>(n));
#pragma omp parallel for schedule(static)
  for (Index j = 0; j < n; ++j)
    x[static_cast<std::size_t>(j)] = static_cast<Scalar>(input_value(j));
  return x;
}

// STREAM's triad a[i] = b[i] + s·c[i] on doubles, counted as 24 bytes per element (STREAM's
// convention; the write-allocate read of a is not counted).
class Triad {
 public:
  Triad(Index n, int threads) : n_(n), threads_(threads), a_(size(n)), b_(size(n)), c_(size(n)) {
#pragma omp parallel for schedule(static) num_threads(threads_)
    for (Index i = 0; i < n_; ++i) {
      a_[size(i)] = 0;
      b_[size(i)] = 1;
      c_[size(i)] = 2;
    }
  }
  double bytes() const { return 24.0 * double(n_); }
  double run() {  // seconds
    const auto t0 = Clock::now();
    double* __restrict pa = a_.data();
    const double* __restrict pb = b_.data();
    const double* __restrict pc = c_.data();
    const double s = 3;
#pragma omp parallel for schedule(static) num_threads(threads_)
    for (Index i = 0; i < n_; ++i) pa[i] = pb[i] + s * pc[i];
    const double t = seconds_since(t0);
    if (a_[size(n_ - 1)] != 7) throw std::runtime_error("triad computed a wrong value");
    return t;
  }

 private:
  static std::size_t size(Index n) { return static_cast<std::size_t>(n); }
  Index n_;
  int threads_;
  Buffer<double> a_, b_, c_;
};

void triad(const Args& args) {
  const Index reps = args.integer("reps", "10");
  const int threads = static_cast<int>(args.integer("threads", "2"));
  Triad triad(args.integer("elements", "40000000"), threads);
  std::vector<double> t;
  for (Index r = 0; r <= reps; ++r) {  // the first repetition warms up and is not reported
    const double s = triad.run();
    if (r > 0) t.push_back(s);
  }
  emit({{"command", quoted("triad")},
        {"threads", num(threads)},
        {"bytes", num(triad.bytes())},
        {"seconds", json_list(t)}});
}

template <class Scalar>
void build(const Args& args, const ConvSpec& spec) {
  const Index reps = args.integer("reps", "5");
  const auto weight = weight_data<Scalar>(spec.weight_numel());
  std::vector<double> t_structure, t_values, t_total, t_system;
  Index nnz = 0;
  double sum = 0;
  for (Index r = 0; r < reps; ++r) {
    const double s0 = system_seconds();
    const auto t0 = Clock::now();
    auto pattern = std::make_shared<const ConvPattern>(spec);
    const double ts = seconds_since(t0);
    const auto t1 = Clock::now();
    ConvMatrix<Scalar> w(pattern, weight.data());
    const double tv = seconds_since(t1);
    const double tt = seconds_since(t0);
    t_system.push_back(system_seconds() - s0);
    t_structure.push_back(ts);
    t_values.push_back(tv);
    t_total.push_back(tt);
    nnz = w.nnz();
    if (r == 0) {
      double s = 0;
      const Scalar* v = w.stored().values();
      const ColumnIndex* c = w.stored().col_index();
      for (Index k = 0; k < nnz; ++k) s += double(v[k]) * double(c[k] % 3 + 1);
      sum = s;
    }
  }
  emit({{"command", quoted("build")},
        {"layer", quoted(spec.to_string())},
        {"dtype", quoted(sizeof(Scalar) == 4 ? "float" : "double")},
        {"nnz", num(double(nnz))},
        {"values_checksum", num(sum)},
        {"structure_seconds", json_list(t_structure)},
        {"values_seconds", json_list(t_values)},
        {"seconds", json_list(t_total)},
        {"system_cpu_seconds", json_list(t_system)},
        {"peak_rss_bytes", num(peak_rss_bytes())}});
}

template <class Scalar>
void refill(const Args& args, const ConvSpec& spec) {
  const Index reps = args.integer("reps", "5");
  const auto weight = weight_data<Scalar>(spec.weight_numel());
  auto other = weight;
  std::reverse(other.begin(), other.end());
  std::vector<double> t_refill, t_rebuild;
  ConvMatrix<Scalar> w(spec, weight.data());
  for (Index r = 0; r < reps; ++r) {
    auto t0 = Clock::now();
    w.refill(r % 2 ? weight.data() : other.data());
    t_refill.push_back(seconds_since(t0));
    t0 = Clock::now();
    ConvMatrix<Scalar> fresh(spec, weight.data());
    t_rebuild.push_back(seconds_since(t0));
  }
  emit({{"command", quoted("refill")},
        {"layer", quoted(spec.to_string())},
        {"dtype", quoted(sizeof(Scalar) == 4 ? "float" : "double")},
        {"nnz", num(double(w.nnz()))},
        {"seconds", json_list(t_refill)},
        {"rebuild_seconds", json_list(t_rebuild)}});
}

// W·x and Wᵀ·y on the stored W (for a transposed layer W·x is the adjoint convolution and Wᵀ·y the
// layer itself), `batch` samples each.
template <class Scalar>
void apply(const Args& args, const ConvSpec& spec) {
  const Index reps = args.integer("reps", "10");
  const Index batch = args.integer("batch", "1");
  const auto weight = weight_data<Scalar>(spec.weight_numel());
  // --storage csr (the baseline: today's CSR kernels) or channel_blocked: the same W, two layouts,
  // both through ConvMatrix.
  const ConvStorage storage = conv_storage_from_string(args.get("storage", "csr"));
  const auto t0 = Clock::now();
  const ConvMatrix<Scalar> conv(spec, weight.data(), storage);
  const double build_seconds = seconds_since(t0);
  // W's products, whichever kind of layer (ConvMatrix applies the layer map M: W or Wᵀ).
  struct Products {
    const ConvMatrix<Scalar>& c;
    bool t = c.spec().is_transposed();
    Index rows() const { return t ? c.cols() : c.rows(); }
    Index cols() const { return t ? c.rows() : c.cols(); }
    Index nnz() const { return c.nnz(); }
    void multiply(const Scalar* x, Scalar* y, Index b) const {  // W x
      t ? c.apply_adjoint(x, y, b) : c.apply(x, y, b);
    }
    void multiply_transposed(const Scalar* x, Scalar* y, Index b) const {  // Wᵀ x
      t ? c.apply(x, y, b) : c.apply_adjoint(x, y, b);
    }
  } w{conv};
  // Bytes a product must move at least: W's arrays once (measured before anything asks for a CSR
  // copy), the input and the output once.
  const double w_bytes = double(conv.memory_bytes());
  const Index m = w.rows(), n = w.cols();
  const Buffer<Scalar> x = vector_data<Scalar>(batch * n);
  const Buffer<Scalar> y = vector_data<Scalar>(batch * m);
  Buffer<Scalar> wx(static_cast<std::size_t>(batch * m)), wty(static_cast<std::size_t>(batch * n));
  // With --triad-elements, a triad on all threads after each pair of products: the bandwidth
  // baseline under the same load, moment by moment.
  const Index triad_elements = args.integer("triad-elements", "0");
  std::optional<Triad> triad;
  if (triad_elements > 0) triad.emplace(triad_elements, omp_get_max_threads());
  std::vector<double> t_wx, t_wty, t_triad;
  for (Index r = 0; r <= reps; ++r) {  // the first repetition warms up and is not reported
    auto t = Clock::now();
    w.multiply(x.data(), wx.data(), batch);
    if (r > 0) t_wx.push_back(seconds_since(t));
    t = Clock::now();
    w.multiply_transposed(y.data(), wty.data(), batch);
    if (r > 0) t_wty.push_back(seconds_since(t));
    if (triad) {
      const double s = triad->run();
      if (r > 0) t_triad.push_back(s);
    }
  }
  // Optionally Wᵀ stored as its own CSR (twice W's memory) and applied with the W·x kernels:
  // does a transposed copy pay against the scatter of multiply_transposed?
  std::vector<double> t_stored;
  std::string stored_checksum = "null";
  if (args.integer("stored-transpose", "0") != 0) {
    const auto e = conv.stored().to_eigen_transposed();
    auto s = std::make_shared<SparsityPattern>();
    s->rows = n;
    s->cols = m;
    s->row_ptr = Buffer<RowPointer>(static_cast<std::size_t>(n + 1));
    std::copy(e.outerIndexPtr(), e.outerIndexPtr() + n + 1, s->row_ptr.begin());
    s->col = Buffer<ColumnIndex>(static_cast<std::size_t>(w.nnz()));
    std::copy(e.innerIndexPtr(), e.innerIndexPtr() + w.nnz(), s->col.begin());
    Buffer<Scalar> v(static_cast<std::size_t>(w.nnz()));
    std::copy(e.valuePtr(), e.valuePtr() + w.nnz(), v.begin());
    const CsrMatrix<Scalar> wt(std::move(s), std::move(v));
    for (Index r = 0; r <= reps; ++r) {
      const auto t = Clock::now();
      wt.multiply(y.data(), wty.data(), batch);
      if (r > 0) t_stored.push_back(seconds_since(t));
    }
    stored_checksum = checksum(wty.data(), batch * n);
  }
  const double vector_bytes = double(batch) * double(m + n) * double(sizeof(Scalar));
  emit({{"command", quoted("apply")},
        {"layer", quoted(spec.to_string())},
        {"storage", quoted(to_string(conv.storage()))},
        {"dtype", quoted(sizeof(Scalar) == 4 ? "float" : "double")},
        {"batch", num(double(batch))},
        {"rows", num(double(m))},
        {"cols", num(double(n))},
        {"nnz", num(double(w.nnz()))},
        {"threads", num(omp_get_max_threads())},
        {"kernels", quoted(detail::to_string(detail::kernel_isa()))},
        {"w_bytes", num(w_bytes)},
        {"bytes", num(w_bytes + vector_bytes)},
        {"memory_bytes", num(w_bytes)},
        {"build_seconds", num(build_seconds)},
        {"wx_checksum", checksum(wx.data(), batch * m)},
        {"wty_checksum", checksum(wty.data(), batch * n)},
        {"wx_seconds", json_list(t_wx)},
        {"wty_seconds", json_list(t_wty)},
        {"wty_stored_transpose_seconds", json_list(t_stored)},
        {"triad_bytes", num(triad ? triad->bytes() : 0.0)},
        {"triad_seconds", json_list(t_triad)},
        {"wty_stored_transpose_checksum", stored_checksum},
        {"peak_rss_bytes", num(peak_rss_bytes())}});
}

// (splitmix64(state) >> 11)·2⁻⁵³: uniform in [0, 1); baselines.splitmix64_uniform draws the same.
double splitmix64_uniform(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return double(z >> 11) * 0x1.0p-53;
}

// The least-squares problems. --problem (default gauss):
//   gauss    issue 6's (and the README's deconvolution table's): an N×N input (default 128), a 7×7
//            Gaussian (σ default 1) normalized to sum 1, no padding — W is (N−6)² × N²;
//   multi    3 → 3 channels, N×N (default 64), 5×5 kernels uniform in [−1, 1) (splitmix64, seed
//            5), no padding;
//   stride2  the Gaussian of gauss with stride 2, no padding: W is ((N−7)/2+1)² × N².
// x is uniform in [0, 1) (splitmix64, seed 3) and y = W x, as baselines.lsq_problem builds them for
// SciPy; with --noise L, y += e with e Gaussian (Box–Muller on splitmix64, seed 11) scaled to
// ‖e‖ = L·‖W x‖. Times one method; LSQR and LSMR run with atol = 0, conlim = 0, btol the target
// relative residual, the preconditioner --preconditioner (none|auto|dct|circulant; δ --delta,
// default automatic) and, with --noise, the discrepancy principle at that noise level. Reports
// the residual (recomputed from x̂), ‖x̂ − x‖/‖x‖ and, with --reference 1, ‖x̂ − x_qr‖/‖x_qr‖
// against QR's minimum-norm solution. With --best-error K (noisy data), also plain LSQR's best
// ‖x_k − x‖/‖x‖ over k <= K (LSQR run to each k).
struct LsqProblem {
  std::unique_ptr<ConvMatrix<double>> w;
  Eigen::VectorXd x, y;
  std::string name;
};

LsqProblem lsq_problem(const Args& args) {
  const std::string problem = args.get("problem", "gauss");
  const double sigma = std::stod(args.get("sigma", "1"));
  LsqProblem p;
  p.name = problem;
  std::vector<double> kernel;
  ConvSpec spec = ConvSpec::convolution(1, 1, {1}, {1});
  if (problem == "gauss" || problem == "stride2") {
    const Index n = args.integer("size", "128");
    kernel.resize(49);
    double sum = 0;
    for (int i = 0; i < 7; ++i) {
      for (int j = 0; j < 7; ++j) {
        const double d2 = double((i - 3) * (i - 3) + (j - 3) * (j - 3));
        sum += kernel[std::size_t(i * 7 + j)] = std::exp(-d2 / (2 * sigma * sigma));
      }
    }
    for (double& k : kernel) k /= sum;
    spec = ConvSpec::convolution(1, 1, {n, n}, {7, 7}, {problem == "stride2" ? 2 : 1});
  } else if (problem == "multi") {
    const Index n = args.integer("size", "64");
    spec = ConvSpec::convolution(3, 3, {n, n}, {5, 5});
    std::uint64_t state = 5;
    kernel.resize(static_cast<std::size_t>(spec.weight_numel()));
    for (double& k : kernel) k = 2 * splitmix64_uniform(state) - 1;
  } else {
    throw std::invalid_argument("--problem must be gauss, multi or stride2, got '" + problem + "'");
  }
  p.w = std::make_unique<ConvMatrix<double>>(spec, kernel.data());
  std::uint64_t state = 3;
  p.x.resize(p.w->cols());
  for (Index i = 0; i < p.x.size(); ++i) p.x(i) = splitmix64_uniform(state);
  p.y = p.w->apply(p.x);
  const double noise = std::stod(args.get("noise", "0"));
  if (noise > 0) {
    std::uint64_t s = 11;
    Eigen::VectorXd e(p.y.size());
    for (Index i = 0; i < e.size(); ++i) {
      const double u1 = 1 - splitmix64_uniform(s), u2 = splitmix64_uniform(s);
      e(i) = std::sqrt(-2 * std::log(u1)) * std::cos(2 * 3.141592653589793 * u2);
    }
    p.y += e * (noise * p.y.norm() / e.norm());
  }
  return p;
}

void lsq(const Args& args) {
  const Index reps = args.integer("reps", "1");
  const std::string method_name = args.get("method");
  const double btol = std::stod(args.get("btol", "1e-8"));
  const double noise = std::stod(args.get("noise", "0"));
  const LsqProblem p = lsq_problem(args);
  const ConvMatrix<double>& w = *p.w;
  const LsqMethod method = lsq_method_from_string(method_name);
  LsqOptions o;
  o.cholesky_form = CholeskyForm::automatic;  // the smaller Gram matrix: W Wᵀ for a wide W
  o.atol = 0;
  o.btol = btol;
  o.conlim = 0;
  o.iteration_limit = args.integer("iteration-limit", "1000000");
  o.preconditioner = preconditioner_kind_from_string(args.get("preconditioner", "none"));
  o.preconditioner_delta = std::stod(args.get("delta", "-1"));
  o.noise_level = method == LsqMethod::lsqr || method == LsqMethod::lsmr ? noise : 0.0;
  o.damp_rule = damp_rule_from_string(args.get("damp-rule", "given"));
  std::vector<double> t;
  LsqInfo info;
  Eigen::VectorXd xhat;
  for (Index r = 0; r < reps; ++r) {
    const auto t0 = Clock::now();
    auto result = deconvolve(w, p.y, method, o);
    t.push_back(seconds_since(t0));
    info = result.info;
    xhat = result.x.col(0);
  }
  const double error = (xhat - p.x).norm() / p.x.norm();
  double reference_error = -1;
  if (args.integer("reference", "0") != 0) {
    LsqOptions q;
    const auto ref = deconvolve(w, p.y, LsqMethod::qr, q);
    reference_error = (xhat - ref.x.col(0)).norm() / ref.x.col(0).norm();
  }
  // Plain LSQR's best error to x over its first K iterates (each run from the start to k).
  const Index best_k = args.integer("best-error", "0");
  double best_error = -1;
  Index best_at = 0;
  if (best_k > 0) {
    LsqOptions plain;
    plain.atol = 0;
    plain.btol = 0;
    plain.conlim = 0;
    for (Index k = 1; k <= best_k; ++k) {
      plain.iteration_limit = k;
      const auto r = deconvolve(w, p.y, LsqMethod::lsqr, plain);
      const double e = (r.x.col(0) - p.x).norm() / p.x.norm();
      if (best_error < 0 || e < best_error) {
        best_error = e;
        best_at = k;
      }
    }
  }
  emit({{"command", quoted("lsq")},
        {"problem", quoted(p.name)},
        {"method", quoted(method_name)},
        {"preconditioner", quoted(info.preconditioner)},
        {"preconditioner_delta", num(info.preconditioner_delta)},
        {"damp", num(info.damp)},
        {"rows", num(double(w.rows()))},
        {"cols", num(double(w.cols()))},
        {"nnz", num(double(w.nnz()))},
        {"btol", num(btol)},
        {"noise", num(noise)},
        {"status", quoted(to_string(info.status))},
        {"stop_code", num(info.stop_code)},
        {"iterations", num(double(info.iterations))},
        {"rank", num(double(info.rank))},
        {"relative_residual", num(info.relative_residual)},
        {"error", num(error)},
        {"reference_error", num(reference_error)},
        {"best_error", num(best_error)},
        {"best_error_iteration", num(double(best_at))},
        {"seconds", json_list(t)}});
}

// The oracle's throughput: `check_output` (what `convmat check` runs after reading its files) on
// a list of layers, each against a candidate output computed by another implementation
// (bench/run.py: PyTorch). --configs: one layer per line, key=value fields:
//   kind=conv|transposed cin= cout= groups= batch= bias=0|1 mode=zeros|reflect|replicate|circular
//   size= kernel= stride= dilation= pad= output_padding=   (comma lists, one entry per axis)
// with symmetric padding, PyTorch's arguments. --candidates: every candidate's values, float64,
// back to back in the order of the lines. Data: weight[i] = (37 i mod 7) − 3, input
// x[j] = (11 j mod 5) − 2, bias[c] = (13 c mod 5) − 2 (baselines.OracleCase.data). Reports the time
// of each pass over all layers and how many passed (every one must: the data are integers).
void oracle(const Args& args) {
  const Index reps = args.integer("reps", "3");
  struct Case {
    LayerData layer;
    Dims shape;
    std::size_t offset;
  };
  std::vector<Case> cases;
  std::ifstream configs(args.get("configs"));
  if (!configs) throw std::invalid_argument("cannot read --configs " + args.get("configs"));
  std::string line;
  std::size_t offset = 0;
  while (std::getline(configs, line)) {
    if (line.empty()) continue;
    std::map<std::string, std::string> f;
    std::stringstream in(line);
    std::string field;
    while (in >> field) {
      const auto eq = field.find('=');
      if (eq == std::string::npos) throw std::invalid_argument("bad config field '" + field + "'");
      f[field.substr(0, eq)] = field.substr(eq + 1);
    }
    ConvParams p;
    p.kind = f.at("kind") == "transposed" ? ConvKind::transposed : ConvKind::convolution;
    p.in_channels = std::stoll(f.at("cin"));
    p.out_channels = std::stoll(f.at("cout"));
    p.groups = std::stoll(f.at("groups"));
    p.input_size = dims(f.at("size"), ',');
    p.kernel_size = dims(f.at("kernel"), ',');
    p.stride = dims(f.at("stride"), ',');
    p.dilation = dims(f.at("dilation"), ',');
    p.pad_begin = p.pad_end = dims(f.at("pad"), ',');
    if (p.kind == ConvKind::transposed) p.output_padding = dims(f.at("output_padding"), ',');
    p.padding_mode = padding_mode_from_string(f.at("mode"));
    const ConvSpec spec(p);
    const Index batch = std::stoll(f.at("batch"));
    const Buffer<double> x = vector_data<double>(batch * spec.input_numel());
    std::vector<double> input(x.begin(), x.end());
    std::vector<double> weight = weight_data<double>(spec.weight_numel());
    std::vector<double> bias;
    if (f.at("bias") == "1") {
      for (Index c = 0; c < spec.out_channels(); ++c) bias.push_back(double((13 * c) % 5 - 2));
    }
    LayerData layer(spec, batch, std::move(input), std::move(weight), std::move(bias));
    Dims shape = layer.output_shape();
    Index elements = 1;
    for (Index d : shape) elements *= d;
    cases.push_back({std::move(layer), std::move(shape), offset});
    offset += static_cast<std::size_t>(elements);
  }
  std::vector<double> candidates(offset);
  std::ifstream bin(args.get("candidates"), std::ios::binary);
  bin.read(reinterpret_cast<char*>(candidates.data()), std::streamsize(offset * sizeof(double)));
  if (!bin || bin.peek() != std::char_traits<char>::eof()) {
    throw std::invalid_argument("--candidates must hold exactly " + std::to_string(offset) +
                                " float64 values, one output per config line");
  }
  std::vector<double> t;
  Index passed = 0;
  for (Index r = 0; r <= reps; ++r) {  // the first pass warms up and is not reported
    passed = 0;
    const auto t0 = Clock::now();
    for (const Case& c : cases) {
      passed += check_output(c.layer, candidates.data() + c.offset, c.shape).passed ? 1 : 0;
    }
    if (r > 0) t.push_back(seconds_since(t0));
  }
  emit({{"command", quoted("oracle")},
        {"configs", num(double(cases.size()))},
        {"elements", num(double(offset))},
        {"passed", num(double(passed))},
        {"seconds", json_list(t)}});
}

template <template <class> class F>
void by_dtype(const Args& args) {
  const ConvSpec spec = layer(args);
  if (args.get("dtype", "float") == "double") {
    F<double>::run(args, spec);
  } else {
    F<float>::run(args, spec);
  }
}

template <class S>
struct Build {
  static void run(const Args& a, const ConvSpec& s) { build<S>(a, s); }
};
template <class S>
struct Refill {
  static void run(const Args& a, const ConvSpec& s) { refill<S>(a, s); }
};
template <class S>
struct Apply {
  static void run(const Args& a, const ConvSpec& s) { apply<S>(a, s); }
};

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args args =
        parse(argc, argv,
              "usage: convmat_bench info|triad|build|apply|refill|lsq|oracle [--option value]...");
    if (args.opt.count("threads") && args.command != "triad") {
      omp_set_num_threads(static_cast<int>(args.integer("threads")));
    }
    if (args.command == "info") {
      emit({{"command", quoted("info")},
            {"threads", num(omp_get_max_threads())},
            {"kernels", quoted(detail::to_string(detail::kernel_isa()))},
            {"best_kernels", quoted(detail::to_string(detail::best_kernel_isa()))}});
    } else if (args.command == "triad") {
      triad(args);
    } else if (args.command == "build") {
      by_dtype<Build>(args);
    } else if (args.command == "refill") {
      by_dtype<Refill>(args);
    } else if (args.command == "apply") {
      by_dtype<Apply>(args);
    } else if (args.command == "lsq") {
      lsq(args);
    } else if (args.command == "oracle") {
      oracle(args);
    } else {
      throw std::invalid_argument("unknown command '" + args.command + "'");
    }
  } catch (const std::exception& e) {
    std::cerr << "convmat_bench: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
