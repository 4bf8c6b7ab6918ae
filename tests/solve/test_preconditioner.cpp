// The layer preconditioners and what they promise:
//  - the transform inverts what it claims to: the circulant S with S² = (M Mᵀ)⁻¹ exactly for a
//    circular layer (stride 1 and 2, channels, groups, 1-d to 3-d, both sides, the polyphase
//    input side), the DCT S with S² = (T + H)⁻¹ for the reflective-boundary Gram matrix of a
//    symmetric kernel (references written from the definitions in the test);
//  - preconditioned LSQR and LSMR return QR's minimum-norm solution, on wide and tall layers, one
//    and many channels, groups, stride 2, transposed layers, with damping and with x0 — in fewer
//    iterations than without;
//  - a right preconditioner on a wide layer converges elsewhere (why the side matters);
//  - the damps: exact GCV against a grid search written here, the FFT-diagonalized GCV and
//    discrepancy damps against the exact ones where the transform is exact;
//  - the discrepancy principle stops at the first iterate below the noise level.
//
// Tolerances: S² G x = x holds to rounding, ‖·‖ <= 1e3·ε·cond(G)·‖x‖ with cond(G) from the test's
// own dense eigenvalues. Solutions at btol = 1e-12 are compared with QR's at 1e3·cond(M)·1e-12.
#define BOOST_TEST_MODULE preconditioner
#include <boost/test/unit_test.hpp>

#include <Eigen/Dense>
#include <cmath>
#include <limits>

#include "convmat/solve/deconvolve.hpp"
#include "convmat/solve/preconditioner.hpp"
#include "convmat/solve/regularization.hpp"
#include "test_util.hpp"

using namespace convmat;
using DenseD = Eigen::MatrixXd;
using VectorD = Eigen::VectorXd;

namespace {

constexpr double eps = std::numeric_limits<double>::epsilon();

std::vector<double> random_tensor(Index n) {
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = u(test::rng());
  return v;
}

VectorD random_vector(Index n) {
  const auto v = random_tensor(n);
  return Eigen::Map<const VectorD>(v.data(), n);
}

DenseD dense(const ConvMatrix<double>& m) { return DenseD(m.matrix()); }

double condition(const DenseD& g) {
  const Eigen::VectorXd s = Eigen::JacobiSVD<DenseD>(g).singularValues();
  return s(0) / s(s.size() - 1);
}

VectorD apply(const LinearOperator<double>& s, const VectorD& x) {
  VectorD y(s.rows());
  s.apply(x.data(), y.data());
  return y;
}

// S (S (G x)) = x for every unit vector: S² inverts G.
void check_inverts(const LayerPreconditioner<double>& s, const DenseD& g) {
  BOOST_TEST(s.rows() == g.rows());
  const double tol = 1e3 * eps * condition(g);
  double worst = 0;
  for (Index j = 0; j < g.cols(); ++j) {
    const VectorD e = VectorD::Unit(g.cols(), j);
    worst = std::max(worst, (apply(s, apply(s, g * e)) - e).norm());
  }
  BOOST_TEST(worst <= tol);
}

ConvSpec circular(Index cin, Index cout, Dims size, Dims kernel, Dims stride, Dims pad_begin,
                  Dims pad_end, Index groups = 1) {
  ConvParams p;
  p.in_channels = cin;
  p.out_channels = cout;
  p.groups = groups;
  p.input_size = std::move(size);
  p.kernel_size = std::move(kernel);
  p.stride = std::move(stride);
  p.pad_begin = std::move(pad_begin);
  p.pad_end = std::move(pad_end);
  p.padding_mode = PaddingMode::circular;
  return ConvSpec(p);
}

LayerPreconditionerOptions options(PreconditionerKind kind, PreconditionerSide side) {
  LayerPreconditionerOptions o;
  o.kind = kind;
  o.side = side;
  return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(transforms)

// A circular layer with stride 1 and the input's size is block circulant: the circulant
// preconditioner diagonalizes both Gram matrices exactly, whatever the kernel.
BOOST_AUTO_TEST_CASE(circulant_inverts_the_gram_matrix_of_a_circular_layer) {
  const ConvSpec specs[] = {
      circular(1, 1, {12}, {3}, {1}, {1}, {1}),
      circular(1, 1, {7}, {4}, {1}, {2}, {1}),  // odd size, asymmetric padding
      circular(2, 3, {6, 5}, {3, 3}, {1, 1}, {1, 1}, {1, 1}),
      circular(4, 4, {6, 4}, {3, 1}, {1, 1}, {1, 0}, {1, 0}, 2),  // groups
      circular(2, 2, {4, 3, 4}, {3, 3, 1}, {1, 1, 1}, {1, 1, 0}, {1, 1, 0}),
  };
  for (const ConvSpec& spec : specs) {
    const auto w = random_tensor(spec.weight_numel());
    const DenseD m = dense(ConvMatrix<double>(spec, w.data()));
    for (PreconditionerSide side : {PreconditionerSide::left, PreconditionerSide::right}) {
      BOOST_TEST_CONTEXT(spec.to_string() << ", " << to_string(side)) {
        const LayerPreconditioner<double> s(spec, w.data(),
                                            options(PreconditionerKind::circulant, side));
        BOOST_TEST(s.kind() == PreconditionerKind::circulant);
        check_inverts(s, side == PreconditionerSide::left ? DenseD(m * m.transpose())
                                                          : DenseD(m.transpose() * m));
      }
    }
  }
}

// The FFT estimate of σ_min and σ_max is exact for a stride-1 layer with circular padding: the
// extreme singular values of the dense W (its smaller side).
BOOST_AUTO_TEST_CASE(spectral_estimate_is_exact_for_a_circular_layer) {
  const ConvSpec specs[] = {
      circular(1, 1, {12}, {3}, {1}, {1}, {1}),
      circular(2, 3, {6, 5}, {3, 3}, {1, 1}, {1, 1}, {1, 1}),
      circular(4, 4, {6, 4}, {3, 1}, {1, 1}, {1, 0}, {1, 0}, 2),
  };
  for (const ConvSpec& spec : specs) {
    const auto w = random_tensor(spec.weight_numel());
    const DenseD m = dense(ConvMatrix<double>(spec, w.data()));
    const Eigen::VectorXd sv = Eigen::JacobiSVD<DenseD>(m).singularValues();
    const SpectralEstimate e =
        spectral_singular_value_estimate(spec, w.data(), PreconditionerKind::circulant);
    const double tol = 1e3 * std::numeric_limits<double>::epsilon() * sv(0);
    BOOST_TEST_CONTEXT(spec.to_string()) {
      BOOST_TEST(e.kind == PreconditionerKind::circulant);
      BOOST_TEST(std::abs(e.sigma_max - sv(0)) <= tol);
      BOOST_TEST(std::abs(e.sigma_min - sv(sv.size() - 1)) <= tol);
    }
  }
}

// Stride 2 with circular padding and sizes divisible by 2: the output-side Gram matrix is
// circulant on the output grid, the input-side one on the polyphase grid (input position 2q + φ
// as channel φ) — tall layers, so that WᵀW is invertible; also as transposed layers' sides.
BOOST_AUTO_TEST_CASE(circulant_on_strided_layers_and_the_polyphase_grid) {
  const ConvSpec wide = circular(1, 1, {12}, {3}, {2}, {1}, {0});                  // 6 × 12
  const ConvSpec tall = circular(1, 4, {12}, {3}, {2}, {1}, {0});                  // 24 × 12
  const ConvSpec tall2d = circular(1, 5, {4, 6}, {3, 2}, {2, 2}, {1, 0}, {0, 0});  // 30 × 24
  const ConvSpec tall_groups = circular(2, 10, {6}, {3}, {2}, {1}, {0}, 2);
  for (const ConvSpec& spec : {wide, tall, tall2d, tall_groups}) {
    const auto w = random_tensor(spec.weight_numel());
    const DenseD m = dense(ConvMatrix<double>(spec, w.data()));
    const bool is_wide = m.rows() <= m.cols();
    BOOST_TEST_CONTEXT(spec.to_string()) {
      const LayerPreconditioner<double> s(
          spec, w.data(),
          options(PreconditionerKind::circulant, preconditioner_side(m.rows(), m.cols())));
      check_inverts(s, is_wide ? DenseD(m * m.transpose()) : DenseD(m.transpose() * m));
      // The adjoint map Mᵀ takes the other side.
      LayerPreconditionerOptions o =
          options(PreconditionerKind::circulant, preconditioner_side(m.cols(), m.rows()));
      o.adjoint = true;
      const LayerPreconditioner<double> t(spec, w.data(), o);
      check_inverts(t, is_wide ? DenseD(m * m.transpose()) : DenseD(m.transpose() * m));
    }
  }
}

// The Gram matrix of a valid convolution with a symmetric 1-d kernel is the Toeplitz matrix T of
// the kernel's autocorrelation a; with reflective (half-sample, Neumann) boundaries it becomes
//   G[p, q] = a(q − p) + a(−1 − p − q) + a(2M − 1 − p − q),
// which the DCT-II diagonalizes exactly (Ng, Chan & Tang 1999). In 2-d each axis reflects.
BOOST_AUTO_TEST_CASE(dct_inverts_the_reflective_boundary_gram_matrix) {
  for (int rank : {1, 2}) {
    const std::vector<double> k1{1, 3, 4, 3, 1};  // symmetric
    std::vector<double> kernel;
    if (rank == 1) {
      kernel = k1;
    } else {  // a symmetric, non-separable 5×5 kernel
      for (Index i = 0; i < 5; ++i)
        for (Index j = 0; j < 5; ++j) kernel.push_back(k1[i] * k1[j] + (i == j || i + j == 4));
    }
    const Index n = rank == 1 ? 13 : 9;
    const ConvSpec spec = rank == 1 ? ConvSpec::convolution(1, 1, {n}, {5})
                                    : ConvSpec::convolution(1, 1, {n, n}, {5, 5});
    const Index M = n - 4;  // the output grid
    // a(Δ) = Σ_t k[t] k[t + Δ], per axis pair; Δ ∈ [−4, 4].
    const auto a = [&](Index d0, Index d1) {
      double s = 0;
      if (std::abs(d0) > 4 || std::abs(d1) > 4) return 0.0;
      for (Index t0 = 0; t0 < (rank == 1 ? 1 : 5); ++t0)
        for (Index t1 = 0; t1 < 5; ++t1) {
          const Index u0 = t0 + d0, u1 = t1 + d1;
          if (u0 < 0 || u0 >= (rank == 1 ? 1 : 5) || u1 < 0 || u1 >= 5) continue;
          const Index w = rank == 1 ? 5 : 5;
          s += kernel[t0 * w + t1] * kernel[u0 * w + u1];
        }
      return s;
    };
    const auto images = [&](Index p, Index q) {
      return std::array<Index, 3>{q - p, -1 - p - q, 2 * M - 1 - p - q};
    };
    const Index size = rank == 1 ? M : M * M;
    DenseD g = DenseD::Zero(size, size);
    for (Index i = 0; i < size; ++i) {
      for (Index j = 0; j < size; ++j) {
        if (rank == 1) {
          for (Index d : images(i, j)) g(i, j) += a(0, d);
        } else {
          for (Index d0 : images(i / M, j / M))
            for (Index d1 : images(i % M, j % M)) g(i, j) += a(d0, d1);
        }
      }
    }
    BOOST_TEST_CONTEXT("rank " << rank) {
      const LayerPreconditioner<double> s(spec, kernel.data());
      BOOST_TEST(s.kind() == PreconditionerKind::dct);  // automatic: the kernel is symmetric
      BOOST_TEST(s.side() == PreconditionerSide::left);
      check_inverts(s, g);
    }
  }
}

BOOST_AUTO_TEST_CASE(automatic_choice) {
  const std::vector<double> symmetric{1, 2, 1, 2, 4, 2, 1, 2, 1};
  const std::vector<double> lopsided{1, 2, 0, 0, 4, 2, 0, 0, 1};
  const ConvSpec zeros = ConvSpec::convolution(1, 1, {8, 8}, {3, 3});
  const ConvSpec wrap = circular(1, 1, {8, 8}, {3, 3}, {1, 1}, {1, 1}, {1, 1});
  const auto left = PreconditionerSide::left;
  BOOST_TEST(automatic_preconditioner(zeros, symmetric.data(), left) == PreconditionerKind::dct);
  BOOST_TEST(automatic_preconditioner(zeros, lopsided.data(), left) ==
             PreconditionerKind::circulant);
  BOOST_TEST(automatic_preconditioner(wrap, symmetric.data(), left) ==
             PreconditionerKind::circulant);
  // Symmetric along one axis is enough in 2-d (the autocorrelation is centrosymmetric).
  const std::vector<double> one_axis{1, 0, 1, 3, 5, 3, 2, 7, 2};
  BOOST_TEST(automatic_preconditioner(zeros, one_axis.data(), left) == PreconditionerKind::dct);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(solutions)

// Preconditioned LSQR and LSMR against QR's minimum-norm solution; fewer iterations than plain.
void check_same_answer(const ConvSpec& spec, const std::vector<double>& w, double damp,
                       PreconditionerKind kind, bool adjoint = false) {
  const ConvMatrix<double> layer(spec, w.data());
  const DenseD m = adjoint ? DenseD(dense(layer).transpose()) : dense(layer);
  const VectorD y = random_vector(m.rows());
  LsqOptions o;
  o.damp = damp;
  const auto solve = [&](LsqMethod method, const LsqOptions& options) {
    return adjoint ? deconvolve_adjoint(layer, y, method, options)
                   : deconvolve(layer, y, method, options);
  };
  const auto reference = solve(LsqMethod::qr, o);
  BOOST_TEST(reference.info.status == LsqStatus::success);
  const Eigen::VectorXd s = Eigen::JacobiSVD<DenseD>(m).singularValues();
  const double kappa =
      std::sqrt((s(0) * s(0) + damp * damp) / (s(s.size() - 1) * s(s.size() - 1) + damp * damp));
  o.atol = 0;
  o.btol = 1e-12;
  o.conlim = 0;
  o.iteration_limit = 100000;
  const double tol = 1e3 * kappa * 1e-12 + 1e-12;
  for (LsqMethod method : {LsqMethod::lsqr, LsqMethod::lsmr}) {
    LsqOptions plain = o;
    LsqOptions pre = o;
    pre.preconditioner = kind;
    if (damp > 0) {  // a damped problem is inconsistent: stop on its least-squares test
      plain.atol = pre.atol = 1e-12;
    }
    const auto a = solve(method, plain);
    const auto b = solve(method, pre);
    BOOST_TEST_CONTEXT(to_string(method)
                       << ", " << b.info.preconditioner << " on the " << b.info.preconditioner_side
                       << ", cond " << kappa << ", iterations " << b.info.iterations << " vs "
                       << a.info.iterations << ": " << b.info.message) {
      BOOST_TEST(b.info.status == LsqStatus::success);
      BOOST_TEST(b.info.preconditioner != "none");
      BOOST_TEST(b.info.preconditioner_side == to_string(preconditioner_side(m.rows(), m.cols())));
      BOOST_TEST((b.x - reference.x).norm() <= tol * reference.x.norm());
      // The point of it, where there is something to gain (a well-conditioned problem may take
      // a few more iterations with an approximate preconditioner than without).
      if (kappa > 100) BOOST_TEST(4 * b.info.iterations <= a.info.iterations);
      // The recorded residual is the true one.
      if (damp == 0) {
        const double last = b.info.residual_history[0].back();
        BOOST_TEST(std::abs(last - b.info.residual_norm) <= 1e-8 * y.norm());
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(equals_the_minimum_norm_solution) {
  // A symmetric blur (dct) and random kernels (circulant), wide and tall, valid and padded.
  std::vector<double> blur;
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j)
      blur.push_back(std::exp(-0.5 * ((i - 2) * (i - 2) + (j - 2) * (j - 2))));
  const auto automatic = PreconditionerKind::automatic;
  // wide: a valid single-channel blur (the deconvolution problem, small)
  check_same_answer(ConvSpec::convolution(1, 1, {20, 20}, {5, 5}), blur, 0, automatic);
  check_same_answer(ConvSpec::convolution(1, 1, {20, 20}, {5, 5}), blur, 0,
                    PreconditionerKind::circulant);
  // tall: its transposed layer, and the adjoint direction of the convolution
  check_same_answer(ConvSpec::transposed(1, 1, {16, 16}, {5, 5}), blur, 0, automatic);
  check_same_answer(ConvSpec::convolution(1, 1, {20, 20}, {5, 5}), blur, 0, automatic, true);
  // many channels, random kernels: wide 3 → 2 and tall 2 → 4 (padding 1), groups
  {
    const ConvSpec spec = ConvSpec::convolution(3, 2, {10, 10}, {3, 3});
    check_same_answer(spec, random_tensor(spec.weight_numel()), 0, automatic);
  }
  {
    const ConvSpec spec = ConvSpec::convolution(2, 4, {9, 9}, {3, 3}, {1}, {1});
    check_same_answer(spec, random_tensor(spec.weight_numel()), 0, automatic);
  }
  {
    const ConvSpec spec = ConvSpec::convolution(4, 2, {12}, {3}, {1}, {0}, {2}, 2);
    check_same_answer(spec, random_tensor(spec.weight_numel()), 0, PreconditionerKind::dct);
  }
  // stride 2: a wide blur-and-subsample, its transposed layer (tall), and a tall strided layer
  // whose input side needs the polyphase grid
  check_same_answer(ConvSpec::convolution(1, 1, {21, 21}, {5, 5}, {2}), blur, 0, automatic);
  check_same_answer(ConvSpec::transposed(1, 1, {9, 9}, {5, 5}, {2}), blur, 0, automatic);
  {
    const ConvSpec spec = ConvSpec::convolution(2, 12, {10, 10}, {4, 4}, {2}, {1});
    BOOST_TEST(spec.output_numel() > spec.input_numel());
    check_same_answer(spec, random_tensor(spec.weight_numel()), 0, automatic);
  }
  {
    const ConvSpec spec = ConvSpec::transposed(12, 2, {7, 7}, {4, 4}, {2}, {1});  // wide M
    BOOST_TEST(spec.output_numel() < spec.input_numel());
    check_same_answer(spec, random_tensor(spec.weight_numel()), 0, automatic);
  }
  // damped: exact for every shape (the augmented systems)
  check_same_answer(ConvSpec::convolution(1, 1, {20, 20}, {5, 5}), blur, 1e-2, automatic);
  check_same_answer(ConvSpec::transposed(1, 1, {16, 16}, {5, 5}), blur, 1e-2, automatic);
}

// The side is what keeps the answer: forced onto the right, a wide layer converges to the x of
// least ‖S⁻¹x‖ — far from A⁺b.
BOOST_AUTO_TEST_CASE(a_right_preconditioner_on_a_wide_layer_changes_the_answer) {
  std::vector<double> blur;
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j)
      blur.push_back(std::exp(-0.5 * ((i - 2) * (i - 2) + (j - 2) * (j - 2))));
  const ConvSpec spec = ConvSpec::convolution(1, 1, {20, 20}, {5, 5});
  const ConvMatrix<double> layer(spec, blur.data());
  const VectorD y = random_vector(layer.rows());
  const auto reference = deconvolve(layer, y, LsqMethod::qr);
  LsqOptions o;
  o.atol = 0;
  o.btol = 1e-12;
  o.conlim = 0;
  o.iteration_limit = 100000;
  KrylovInputs<double> in;
  LayerPreconditionerOptions po;
  po.side = PreconditionerSide::right;
  in.preconditioner = std::make_shared<LayerPreconditioner<double>>(spec, blur.data(), po);
  const auto r = deconvolve(layer, y, LsqMethod::lsqr, o, in);
  BOOST_TEST(r.info.relative_residual <= 1e-10);                        // a solution of W x = y ...
  BOOST_TEST((r.x - reference.x).norm() >= 0.01 * reference.x.norm());  // ... not the least one
}

BOOST_AUTO_TEST_CASE(starting_vector) {
  const ConvSpec spec = ConvSpec::convolution(2, 2, {12, 12}, {3, 3});
  const auto w = random_tensor(spec.weight_numel());
  const ConvMatrix<double> layer(spec, w.data());
  const VectorD y = random_vector(layer.rows());
  const auto reference = deconvolve(layer, y, LsqMethod::qr);
  LsqOptions o;
  o.atol = 0;
  o.btol = 1e-12;
  o.conlim = 0;
  for (PreconditionerKind kind : {PreconditionerKind::none, PreconditionerKind::automatic}) {
    o.preconditioner = kind;
    BOOST_TEST_CONTEXT(to_string(kind)) {
      // From the answer itself: nothing to do.
      KrylovInputs<double> at;
      at.x0 = reference.x;
      const auto r0 = deconvolve(layer, y, LsqMethod::lsqr, o, at);
      BOOST_TEST(r0.info.iterations <= 1);
      BOOST_TEST((r0.x - reference.x).norm() <= 1e-10 * reference.x.norm());
      // From a point of range(Wᵀ): the minimum-norm solution again.
      KrylovInputs<double> near;
      near.x0 = layer.apply_adjoint(random_vector(layer.rows()));
      const auto r1 = deconvolve(layer, y, LsqMethod::lsmr, o, near);
      BOOST_TEST((r1.x - reference.x).norm() <= 1e-8 * reference.x.norm());
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(damps)

// GCV(λ) = ‖b − A x_λ‖² / trace(I − H_λ)², in closed form from the dense SVD of A.
class Gcv {
 public:
  Gcv(const DenseD& a, const DenseD& b)
      : svd_(a, Eigen::ComputeThinU | Eigen::ComputeThinV), c_(svd_.matrixU().transpose() * b) {
    // ‖P⊥b‖² (zero when U is square: computed, it would be rounding that swamps small λ)
    orthogonal_ = a.rows() > a.cols() ? (b - svd_.matrixU() * c_).squaredNorm() : 0.0;
    base_ = double(a.rows() - svd_.singularValues().size());
  }
  double operator()(double lambda) const {
    double r2 = orthogonal_, trace = base_;
    for (Index k = 0; k < c_.rows(); ++k) {
      const double s2 = svd_.singularValues()(k) * svd_.singularValues()(k);
      const double f = lambda * lambda / (s2 + lambda * lambda);
      r2 += f * f * c_.row(k).squaredNorm();
      trace += f;
    }
    return r2 / (trace * trace);
  }
  double top() const { return svd_.singularValues()(0); }

 private:
  Eigen::JacobiSVD<DenseD> svd_;
  DenseD c_;
  double orthogonal_, base_;
};

BOOST_AUTO_TEST_CASE(gcv_of_the_direct_problem) {
  std::vector<double> blur;
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j)
      blur.push_back(std::exp(-0.5 * ((i - 2) * (i - 2) + (j - 2) * (j - 2))));
  const ConvSpec spec = ConvSpec::convolution(1, 1, {14, 14}, {5, 5}, {1}, {2});
  const ConvMatrix<double> layer(spec, blur.data());
  const DenseD a = dense(layer);
  VectorD b = a * random_vector(a.cols());
  b += 0.05 * b.norm() / std::sqrt(double(b.size())) * random_vector(b.size());
  const double got = gcv_damp(SparseRef<double>(layer), b);
  // No λ on a fine log grid over [10⁻⁷, 1]·σ₁ does better.
  const Gcv gcv(a, b);
  double grid_best = INFINITY;
  for (int i = 0; i <= 2000; ++i) {
    grid_best = std::min(grid_best, gcv(gcv.top() * std::pow(10.0, -7.0 + 7.0 * i / 2000)));
  }
  BOOST_TEST(gcv(got) <= grid_best * (1 + 1e-9));
  BOOST_TEST(got > 0);
}

// Circular padding, stride 1: the DFT diagonalizes M exactly, so the FFT-diagonalized damps are
// the direct problem's.
BOOST_AUTO_TEST_CASE(fft_diagonalized_damps_are_exact_for_a_circular_layer) {
  for (bool wide : {true, false}) {
    const ConvSpec spec = wide ? circular(3, 2, {8, 8}, {3, 3}, {1, 1}, {1, 1}, {1, 1})
                               : circular(2, 3, {8, 8}, {3, 3}, {1, 1}, {1, 1}, {1, 1});
    const auto w = random_tensor(spec.weight_numel());
    const ConvMatrix<double> layer(spec, w.data());
    const ConvOperator<double> m(layer);
    DenseD b(layer.rows(), 2);
    b.col(0) = layer.apply(random_vector(layer.cols())) + 0.1 * random_vector(layer.rows());
    b.col(1) = layer.apply(random_vector(layer.cols())) + 0.1 * random_vector(layer.rows());
    LayerPreconditionerOptions po;
    po.kind = PreconditionerKind::circulant;
    const LayerPreconditioner<double> p(spec, w.data(), po);
    BOOST_TEST_CONTEXT((wide ? "wide" : "tall")) {
      // The same function minimized: equal minima (the minimizer of a flat minimum may differ).
      const Gcv gcv(dense(layer), b);
      const double exact = gcv_damp(SparseRef<double>(layer), b);
      const double fft = gcv_damp(p, m, b);
      BOOST_TEST(std::abs(gcv(fft) - gcv(exact)) <= 1e-9 * gcv(exact));
      // The discrepancy damp: Tikhonov with it meets the noise level.
      const double level = 0.2;
      const double d = discrepancy_damp(p, m, b, level, 1.0);
      LsqOptions o;
      o.damp = d;
      const auto r = deconvolve(layer, b, LsqMethod::qr, o);
      BOOST_TEST(std::abs(r.info.residual_norm - level * b.norm()) <= 1e-8 * b.norm());
    }
  }
}

BOOST_AUTO_TEST_CASE(discrepancy_principle_stops_at_the_noise_level) {
  std::vector<double> blur;
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j)
      blur.push_back(std::exp(-0.5 * ((i - 2) * (i - 2) + (j - 2) * (j - 2))));
  const ConvSpec spec = ConvSpec::convolution(1, 1, {24, 24}, {5, 5});
  const ConvMatrix<double> layer(spec, blur.data());
  VectorD y = layer.apply(random_vector(layer.cols()));
  const VectorD e = random_vector(y.size());
  const double level = 0.02;
  y += level * y.norm() / e.norm() * e;
  for (PreconditionerKind kind : {PreconditionerKind::none, PreconditionerKind::automatic}) {
    for (LsqMethod method : {LsqMethod::lsqr, LsqMethod::lsmr}) {
      LsqOptions o;
      o.noise_level = level / std::sqrt(1 + level * level);  // ‖e‖/‖y‖
      o.preconditioner = kind;
      const auto r = deconvolve(layer, y, method, o);
      const auto& h = r.info.residual_history[0];
      const double target = o.discrepancy_factor * o.noise_level * y.norm();
      BOOST_TEST_CONTEXT(to_string(kind)
                         << ", " << to_string(method) << ", δ " << r.info.preconditioner_delta
                         << ", " << r.info.iterations << " iterations") {
        BOOST_TEST(r.info.stop_code == 8);
        BOOST_TEST(h.back() <= target);
        BOOST_TEST(h[h.size() - 2] > target);  // the first such iterate
        BOOST_TEST(std::abs(h.back() - r.info.residual_norm) <= 1e-8 * y.norm());
        if (kind != PreconditionerKind::none) BOOST_TEST(r.info.preconditioner_delta > 0);
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(errors)

BOOST_AUTO_TEST_CASE(invalid_input_is_named) {
  const ConvSpec spec = ConvSpec::convolution(1, 1, {6, 6}, {3, 3});
  const std::vector<double> w(9, 1.0);
  const ConvMatrix<double> layer(spec, w.data());
  const VectorD y = VectorD::Ones(layer.rows());
  const auto a = layer.matrix();
  LsqOptions dct;
  dct.preconditioner = PreconditionerKind::dct;
  test::expect_error([&] { lstsq(a, y, LsqMethod::lsqr, dct); }, "built from a layer");
  test::expect_error([&] { deconvolve(layer, y, LsqMethod::qr, dct); }, "preconditioner is for");
  KrylovInputs<double> x0;
  x0.x0 = VectorD::Zero(layer.cols());
  test::expect_error([&] { deconvolve(layer, y, LsqMethod::cholesky, {}, x0); },
                     "a starting vector x0 is for");
  x0.x0 = VectorD::Zero(3);
  test::expect_error([&] { deconvolve(layer, y, LsqMethod::lsqr, {}, x0); }, "x0 must be");
  LsqOptions noisy;
  noisy.noise_level = 1.5;
  test::expect_error([&] { deconvolve(layer, y, LsqMethod::lsqr, noisy); }, "noise_level");
  LayerPreconditionerOptions po;
  po.delta = -1;
  test::expect_error([&] { LayerPreconditioner<double>(spec, w.data(), po); }, "delta");
  KrylovInputs<double> wrong;
  const LayerPreconditioner<double> right(
      spec, w.data(), options(PreconditionerKind::dct, PreconditionerSide::right));
  wrong.preconditioner =
      std::make_shared<OperatorPreconditioner<double>>(right, PreconditionerSide::left);
  test::expect_error([&] { deconvolve(layer, y, LsqMethod::lsqr, {}, wrong); },
                     "left preconditioner must be 16x16");
}

BOOST_AUTO_TEST_SUITE_END()
