// The C interface of the teaching page (web/): convmat's core compiled to WebAssembly.
//
// The page draws; every number it shows comes from here: the layer's geometry and its validation
// message (ConvSpec), W's entries with the kernel tap behind each (ConvPattern, ConvMatrix), the
// layer applied as a matrix product and checked against the direct loops (loops.hpp), and the
// "transposed is not inverse" panel (the layer's matrix, its singular values and the least-squares
// inverse, by Eigen's dense SVD: SuiteSparse is not needed for a 16×16 image).
//
// One layer and one panel at a time live in this module (the page has one of each). Arrays passed
// in or out are allocated by the caller with _malloc, except the entry arrays, which stay owned
// here until the next cm_set_weight.
//
// Two matrices are named below:
//  - M, the layer's map (what the page draws): W for a convolution, Wᵀ for a transposed one;
//    rows = output positions (channel, *position), columns = input positions, C order;
//  - W, the stored convolution (ConvPattern): its rows are the windows of the sliding-window
//    picture — for a convolution the output positions, for a transposed convolution its input
//    positions, whose patches are splatted. Row o of W reads (or, transposed, writes) the padded
//    grid at o·s + t·d for each kernel tap t (loops.hpp: the window walk and the splat walk).

#include <emscripten/emscripten.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "convmat/core/conv_matrix.hpp"
#include "convmat/core/loops.hpp"

namespace {

using convmat::ConvMatrix;
using convmat::ConvPattern;
using convmat::ConvSpec;
using convmat::Dims;
using convmat::Index;

struct Layer {
  std::shared_ptr<const ConvPattern> pattern;
  std::unique_ptr<ConvMatrix<double>> matrix;
  std::vector<double> weight;
  std::string description;
  // M's entries, one per nonzero: row, column, the weight index of its kernel tap, the value.
  std::vector<int> entry_row, entry_col, entry_weight;
  std::vector<double> entry_value;
  double loops_difference = 0;
};

Layer layer;
std::string last_error;

Dims dims(const int* v, int rank) { return Dims(v, v + rank); }

// Runs `f`, turning an exception into -1 and its message into cm_error().
template <class F>
int guarded(F&& f) {
  try {
    last_error.clear();
    return f();
  } catch (const std::exception& e) {
    last_error = e.what();
    return -1;
  }
}

const ConvSpec& spec() { return layer.pattern->spec(); }

// The stored convolution W (its input = the padded grid of the windows).
ConvSpec stored_spec() { return spec().as_convolution(); }

// ---------------------------------------------------------------------------------------------
// The panel: a small image, a layer on it, and what Wᵀ and the least-squares inverse make of it.

struct Panel {
  int n = 0;    // the image is n × n
  int out = 0;  // the layer's output is out × out
  Eigen::VectorXd image;
  std::unique_ptr<ConvMatrix<double>> matrix;
  Eigen::BDCSVD<Eigen::MatrixXd> svd;
  int rank = 0;
};

Panel panel;

std::vector<double> gaussian(int size, double sigma) {
  std::vector<double> g(static_cast<std::size_t>(size)), k;
  double sum = 0;
  for (int i = 0; i < size; ++i) {
    const double t = i - (size - 1) / 2.0;
    g[static_cast<std::size_t>(i)] = std::exp(-t * t / (2 * sigma * sigma));
    sum += g[static_cast<std::size_t>(i)];
  }
  for (double a : g)
    for (double b : g) k.push_back(a * b / (sum * sum));
  return k;
}

}  // namespace

extern "C" {

// The message of the last failed call (ConvSpec's rule and values), or "".
EMSCRIPTEN_KEEPALIVE const char* cm_error() { return last_error.c_str(); }

// Sets the layer: a convolution (transposed = 0) or a transposed convolution, `rank` spatial
// dimensions, each spatial argument an array of `rank` ints. Returns 0, or -1 when ConvSpec
// refuses it (cm_error() says why).
EMSCRIPTEN_KEEPALIVE int cm_set_layer(int transposed, int rank, int in_channels, int out_channels,
                                      const int* input_size, const int* kernel, const int* stride,
                                      const int* dilation, const int* pad_begin, const int* pad_end,
                                      const int* output_padding) {
  return guarded([&] {
    convmat::ConvParams p;
    p.kind = transposed ? convmat::ConvKind::transposed : convmat::ConvKind::convolution;
    p.in_channels = in_channels;
    p.out_channels = out_channels;
    p.input_size = dims(input_size, rank);
    p.kernel_size = dims(kernel, rank);
    p.stride = dims(stride, rank);
    p.dilation = dims(dilation, rank);
    p.pad_begin = dims(pad_begin, rank);
    p.pad_end = dims(pad_end, rank);
    if (transposed) p.output_padding = dims(output_padding, rank);
    auto pattern = std::make_shared<const ConvPattern>(ConvSpec(p));
    layer = Layer{};
    layer.pattern = std::move(pattern);
    layer.description = spec().to_string();
    return 0;
  });
}

// ConvSpec::to_string(): "conv2d in=1 out=1 groups=1 input=3x3 kernel=2x2 ...".
EMSCRIPTEN_KEEPALIVE const char* cm_describe() { return layer.description.c_str(); }

EMSCRIPTEN_KEEPALIVE int cm_output_size(int axis) {
  return static_cast<int>(spec().output_size()[static_cast<std::size_t>(axis)]);
}
EMSCRIPTEN_KEEPALIVE int cm_weight_numel() { return static_cast<int>(spec().weight_numel()); }
EMSCRIPTEN_KEEPALIVE int cm_rows() { return static_cast<int>(spec().output_numel()); }
EMSCRIPTEN_KEEPALIVE int cm_cols() { return static_cast<int>(spec().input_numel()); }

// The windows: W's rows. Their count, the size of the padded grid they lie on along `axis`
// (W's input size + p0 + p1: the padded input of a convolution, the uncropped output of a
// transposed one), and for window `row` the padded position of every kernel tap:
// positions[t·rank + a] = o_a·s_a + t_a·d_a, taps in C order. Returns the number of taps.
EMSCRIPTEN_KEEPALIVE int cm_window_rows() { return static_cast<int>(layer.pattern->rows()); }
EMSCRIPTEN_KEEPALIVE int cm_padded_size(int axis) {
  const ConvSpec w = stored_spec();
  const auto a = static_cast<std::size_t>(axis);
  return static_cast<int>(w.input_size()[a] + w.pad_begin()[a] + w.pad_end()[a]);
}
EMSCRIPTEN_KEEPALIVE int cm_window(int row, int* positions) {
  const ConvSpec w = stored_spec();
  const int rank = w.rank();
  // Row `row` of W is (channel, *o) over W's output grid, which for a transposed layer with
  // output_padding >= stride has more positions than the layer's input: W keeps the first rows.
  const Dims rows_grid = spec().is_transposed() ? spec().input_size() : w.output_size();
  Index position = row;
  Dims o(static_cast<std::size_t>(rank));
  for (int a = rank - 1; a >= 0; --a) {
    const auto u = static_cast<std::size_t>(a);
    o[u] = position % rows_grid[u];
    position /= rows_grid[u];
  }
  const Index taps = w.kernel_numel();
  for (Index t = 0; t < taps; ++t) {
    Index rest = t;
    for (int a = rank - 1; a >= 0; --a) {
      const auto u = static_cast<std::size_t>(a);
      const Index tap = rest % w.kernel_size()[u];
      rest /= w.kernel_size()[u];
      positions[t * rank + a] = static_cast<int>(o[u] * w.stride()[u] + tap * w.dilation()[u]);
    }
  }
  return static_cast<int>(taps);
}

// Fills W from `weight` (cm_weight_numel() values, PyTorch's layout) and lists M's entries.
EMSCRIPTEN_KEEPALIVE int cm_set_weight(const double* weight) {
  return guarded([&] {
    layer.weight.assign(weight, weight + spec().weight_numel());
    layer.matrix = std::make_unique<ConvMatrix<double>>(layer.pattern, layer.weight.data());
    const auto& w = layer.matrix->stored();
    const auto nnz = static_cast<std::size_t>(w.nnz());
    layer.entry_row.assign(nnz, 0);
    layer.entry_col.assign(nnz, 0);
    layer.entry_weight.assign(nnz, -1);
    layer.entry_value.assign(w.values(), w.values() + nnz);
    const bool transposed = spec().is_transposed();
    for (Index r = 0; r < w.rows(); ++r) {
      layer.pattern->for_each_tap(r, [&](Index nz, Index col, Index weight_index) {
        const auto e = static_cast<std::size_t>(nz);
        layer.entry_row[e] = static_cast<int>(transposed ? col : r);
        layer.entry_col[e] = static_cast<int>(transposed ? r : col);
        if (layer.entry_weight[e] < 0) layer.entry_weight[e] = static_cast<int>(weight_index);
      });
    }
    return 0;
  });
}

EMSCRIPTEN_KEEPALIVE int cm_nnz() { return static_cast<int>(layer.entry_value.size()); }
EMSCRIPTEN_KEEPALIVE const int* cm_entry_row() { return layer.entry_row.data(); }
EMSCRIPTEN_KEEPALIVE const int* cm_entry_col() { return layer.entry_col.data(); }
EMSCRIPTEN_KEEPALIVE const int* cm_entry_weight() { return layer.entry_weight.data(); }
EMSCRIPTEN_KEEPALIVE const double* cm_entry_value() { return layer.entry_value.data(); }

// y = M x (cm_cols() values in, cm_rows() out), by the sparse matrix; the same layer is also
// run through the direct loops (gather or scatter), and cm_loops_difference() is the largest
// |difference| between the two.
EMSCRIPTEN_KEEPALIVE int cm_apply(const double* x, double* y) {
  return guarded([&] {
    layer.matrix->apply(x, y);
    std::vector<double> loops(static_cast<std::size_t>(spec().output_numel()));
    convmat::direct_forward(spec(), x, 1, layer.weight.data(), static_cast<const double*>(nullptr),
                            loops.data());
    layer.loops_difference = 0;
    for (std::size_t i = 0; i < loops.size(); ++i)
      layer.loops_difference = std::max(layer.loops_difference, std::abs(loops[i] - y[i]));
    return 0;
  });
}
EMSCRIPTEN_KEEPALIVE double cm_loops_difference() { return layer.loops_difference; }

// The panel. kind 0: 5×5 Gaussian blur (σ = 1), padding 2: a square, full-rank, ill-conditioned
// W; kind 1: 3×3 Gaussian blur (σ = 1), no padding: a wide W, whose null space is lost; kind 2:
// the 2×2 average with stride 2: no two windows overlap, W's rows are orthogonal, Wᵀ = ‖k‖²·W⁺.
// Returns the output size (out × out), or -1.
EMSCRIPTEN_KEEPALIVE int cm_panel_build(const double* image, int n, int kind) {
  return guarded([&] {
    std::vector<double> k;
    ConvSpec s = ConvSpec::convolution(1, 1, {n, n}, {1, 1});
    if (kind == 0) {
      k = gaussian(5, 1.0);
      s = ConvSpec::convolution(1, 1, {n, n}, {5, 5}, {1}, {2});
    } else if (kind == 1) {
      k = gaussian(3, 1.0);
      s = ConvSpec::convolution(1, 1, {n, n}, {3, 3});
    } else {
      k = {0.25, 0.25, 0.25, 0.25};
      s = ConvSpec::convolution(1, 1, {n, n}, {2, 2}, {2});
    }
    panel.n = n;
    panel.out = static_cast<int>(s.output_size()[0]);
    panel.image = Eigen::Map<const Eigen::VectorXd>(image, n * n);
    panel.matrix = std::make_unique<ConvMatrix<double>>(s, k.data());
    const Eigen::MatrixXd dense(panel.matrix->matrix());
    panel.svd.compute(dense, Eigen::ComputeThinU | Eigen::ComputeThinV);
    const Eigen::VectorXd& sigma = panel.svd.singularValues();
    // NumPy's matrix_rank: σ > max(m, n)·ε·σ₁.
    const double tol = static_cast<double>(std::max(dense.rows(), dense.cols())) *
                       std::numeric_limits<double>::epsilon() * sigma(0);
    panel.rank = static_cast<int>((sigma.array() > tol).count());
    return panel.out;
  });
}

EMSCRIPTEN_KEEPALIVE int cm_panel_rank() { return panel.rank; }
EMSCRIPTEN_KEEPALIVE int cm_panel_singular_count() {
  return static_cast<int>(panel.svd.singularValues().size());
}

// y = W x + noise·e (e standard normal, a fixed seed), then Wᵀy, the least-squares (minimum-norm)
// inverse W⁺y, and the damped inverse argmin ‖Wx − y‖² + λ²‖x‖² = Σ σᵢ/(σᵢ² + λ²)·(uᵢᵀy)·vᵢ.
// Outputs: observed (out²), transposed, inverse, damped (n² each), sigma (r =
// cm_panel_singular_count(), largest first), errors[3] = ‖x̂ − x‖/‖x‖ for Wᵀy, W⁺y and the damped
// inverse, and gains[3r]: what each of the three multiplies the component of y along uᵢ by —
// σᵢ (Wᵀ), 1/σᵢ (W⁺; 0 past the rank), σᵢ/(σᵢ² + λ²) (damped; with λ = 0, W⁺'s).
EMSCRIPTEN_KEEPALIVE int cm_panel_solve(double noise, double damp, double* observed,
                                        double* transposed, double* inverse, double* damped,
                                        double* sigma, double* errors, double* gains) {
  return guarded([&] {
    const Index m = static_cast<Index>(panel.out) * panel.out, n = panel.image.size();
    Eigen::VectorXd y = panel.matrix->apply(panel.image);
    std::mt19937_64 random(2016);
    std::normal_distribution<double> normal;
    for (Index i = 0; i < m; ++i) y(i) += noise * normal(random);
    const Eigen::VectorXd wty = panel.matrix->apply_adjoint(y);
    const Eigen::VectorXd& s = panel.svd.singularValues();
    const Eigen::VectorXd uty = panel.svd.matrixU().transpose() * y;
    Eigen::VectorXd inverse_coef = Eigen::VectorXd::Zero(s.size());
    Eigen::VectorXd damped_coef = Eigen::VectorXd::Zero(s.size());
    const Index r = s.size();
    for (Index i = 0; i < r; ++i) {
      gains[i] = s(i);
      gains[r + i] = i < panel.rank ? 1 / s(i) : 0;
      gains[2 * r + i] = i < panel.rank || damp > 0 ? s(i) / (s(i) * s(i) + damp * damp) : 0;
      inverse_coef(i) = uty(i) * gains[r + i];
      damped_coef(i) = uty(i) * gains[2 * r + i];
    }
    const Eigen::VectorXd x_inverse = panel.svd.matrixV() * inverse_coef;
    const Eigen::VectorXd x_damped = panel.svd.matrixV() * damped_coef;
    Eigen::Map<Eigen::VectorXd>(observed, m) = y;
    Eigen::Map<Eigen::VectorXd>(transposed, n) = wty;
    Eigen::Map<Eigen::VectorXd>(inverse, n) = x_inverse;
    Eigen::Map<Eigen::VectorXd>(damped, n) = x_damped;
    Eigen::Map<Eigen::VectorXd>(sigma, s.size()) = s;
    const double norm = panel.image.norm();
    errors[0] = (wty - panel.image).norm() / norm;
    errors[1] = (x_inverse - panel.image).norm() / norm;
    errors[2] = (x_damped - panel.image).norm() / norm;
    return 0;
  });
}

}  // extern "C"
