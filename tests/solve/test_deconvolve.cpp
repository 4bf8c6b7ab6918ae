// Deconvolution: seed 000's transposed convolution inverted back to X by every method; seed 000's
// convolution shown NOT invertible (rank, null space, minimum-norm solution against the dense
// pseudo-inverse); a real strided layer solved to relative residual <= 1e-10; LSQR/LSMR on the
// direct loops give what they give on the matrix.
//
// Tolerance for "exact to rounding": ‖x − x_ref‖ <= 32·ε·max(m, n)·κ²·‖x_ref‖, κ = cond(M) from the
// dense SVD (as in test_lsq.cpp).
#define BOOST_TEST_MODULE deconvolve
#include <boost/test/unit_test.hpp>

#include <Eigen/Dense>
#include <limits>
#include <sstream>

#include "convmat/core/loops.hpp"
#include "convmat/solve/deconvolve.hpp"
#include "test_util.hpp"

using namespace convmat;
using DenseD = Eigen::MatrixXd;

namespace {

const LsqMethod all_methods[] = {LsqMethod::qr, LsqMethod::cholesky, LsqMethod::lsqr,
                                 LsqMethod::lsmr};

// Iterative methods run to machine precision; the direct ones ignore these.
template <class S>
LsqOptions to_machine_precision() {
  LsqOptions o;
  o.atol = o.btol = double(std::numeric_limits<S>::epsilon());
  return o;
}

// cond(M) over its nonzero singular values, and the rank (σ > max(m, n)·ε·σ₁·16).
std::pair<double, Index> condition_and_rank(const DenseD& m) {
  const Eigen::VectorXd s = Eigen::JacobiSVD<DenseD>(m).singularValues();
  const double cut =
      double(std::max(m.rows(), m.cols())) * std::numeric_limits<double>::epsilon() * s(0) * 16;
  Index r = 0;
  while (r < s.size() && s(r) > cut) ++r;
  return {s(0) / s(r - 1), r};
}

template <class S>
double rounding_tolerance(const DenseD& m) {
  const double kappa = condition_and_rank(m).first;
  return 32 * double(std::numeric_limits<S>::epsilon()) * double(std::max(m.rows(), m.cols())) *
         kappa * kappa;
}

std::string grid(const Eigen::VectorXd& v, Index cols) {
  std::ostringstream s;
  s.precision(6);
  for (Index i = 0; i < v.size(); ++i) s << (i % cols ? ", " : (i ? "]\n[" : "[")) << v(i);
  return s.str() + "]";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(seeds)

// Seed 000: trans_conv(X, K) with X = K = [[0, 1], [2, 3]] gives [[0, 0, 1], [0, 4, 6],
// [4, 12, 9]]. That map (9×4, full column rank) is invertible by least squares: every method
// recovers X to rounding.
template <class S>
void invert_seed_000_transposed_convolution() {
  const ConvSpec spec = ConvSpec::transposed(1, 1, {2, 2}, {2, 2});
  const std::vector<S> k{0, 1, 2, 3};
  const ConvMatrix<S> layer(spec, k.data());
  const Eigen::Matrix<S, Eigen::Dynamic, 1> x{{0, 1, 2, 3}};
  const Eigen::Matrix<S, Eigen::Dynamic, 1> y = layer.apply(x);
  BOOST_TEST((y == Eigen::Matrix<S, Eigen::Dynamic, 1>{{0, 0, 1, 0, 4, 6, 4, 12, 9}}));
  const DenseD m = DenseD(layer.matrix().template cast<double>());
  BOOST_TEST(condition_and_rank(m).second == 4);
  for (LsqMethod method : all_methods) {
    BOOST_TEST_CONTEXT(to_string(method)) {
      const auto [xhat, info] = deconvolve(layer, y, method, to_machine_precision<S>());
      BOOST_TEST(info.status == LsqStatus::success, info.message);
      const double err = (xhat.template cast<double>() - x.template cast<double>()).norm();
      BOOST_TEST(err <= rounding_tolerance<S>(m) * x.template cast<double>().norm(),
                 "‖x̂ − X‖ = " << err);
      if (method == LsqMethod::qr) BOOST_TEST(info.rank == 4);
      BOOST_TEST_MESSAGE(to_string(method) << " (" << sizeof(S) * 8 << "-bit): X̂ =\n"
                                           << grid(xhat.template cast<double>(), 2));
    }
  }
}

BOOST_AUTO_TEST_CASE(seed_000_transposed_convolution_is_inverted) {
  invert_seed_000_transposed_convolution<double>();
  invert_seed_000_transposed_convolution<float>();
}

// Seed 000: the 3×3 → 2×2 convolution with K = [[1, 2], [3, 4]] is the 4×9 W; Y = W·vec(X) =
// [[27, 37], [57, 67]] for X = arange(9). W has rank 4, so its null space has dimension 5: X
// cannot be recovered from Y. Every method returns the minimum-norm x̂ = W⁺Y instead, which
// differs from X by a null-space vector.
BOOST_AUTO_TEST_CASE(seed_000_convolution_is_not_invertible) {
  const ConvSpec spec = ConvSpec::convolution(1, 1, {3, 3}, {2, 2});
  const std::vector<double> k{1, 2, 3, 4};
  const ConvMatrix<double> w(spec, k.data());
  const DenseD wd = DenseD(w.matrix());
  const Eigen::VectorXd x = Eigen::VectorXd::LinSpaced(9, 0, 8);
  const Eigen::VectorXd y = w.apply(x);
  BOOST_TEST((y == Eigen::Vector4d(27, 37, 57, 67)));

  // Rank 4 of 9 from the dense SVD and from SPQR; nullity 5.
  const auto [kappa, rank] = condition_and_rank(wd);
  BOOST_TEST(rank == 4);
  QrSolver<double> qr(w);
  BOOST_TEST(qr.rank() == 4);
  BOOST_TEST(w.cols() - qr.rank() == 5);

  // The reference: the dense pseudo-inverse.
  const Eigen::VectorXd x_ref = wd.completeOrthogonalDecomposition().pseudoInverse() * y;
  const double tol = rounding_tolerance<double>(wd) * x_ref.norm();
  // A basis of the null space (dense LU), and an exact integer null vector by back-substitution
  // on W's echelon form (rows lead with K[0][0] = 1 in columns 0, 1, 3, 4; free x8 = 1):
  // W·v = 0 in exact arithmetic.
  const DenseD null_basis = wd.fullPivLu().kernel();
  BOOST_TEST(null_basis.cols() == 5);
  const Eigen::VectorXd v_exact{{-32, 12, 0, 8, -4, 0, 0, 0, 1}};
  BOOST_TEST((w.apply(v_exact) == Eigen::Vector4d::Zero()));

  for (LsqMethod method : all_methods) {
    BOOST_TEST_CONTEXT(to_string(method)) {
      const auto [xhat_m, info] = deconvolve(w, y, method, to_machine_precision<double>());
      const Eigen::VectorXd xhat = xhat_m.col(0);
      BOOST_TEST(info.status == LsqStatus::success, info.message);
      BOOST_TEST((xhat - x_ref).norm() <= tol);
      // It reproduces Y …
      BOOST_TEST(info.relative_residual <= 1e-12);
      BOOST_TEST((wd * xhat - y).norm() <= 1e-12 * y.norm());
      // … but it is not X: X − x̂ is a nonzero vector that W maps to 0 …
      const Eigen::VectorXd v = x - xhat;
      BOOST_TEST(v.norm() >= 1.0);
      BOOST_TEST((wd * v).norm() <= 1e-12 * v.norm() * wd.norm());
      // … and x̂ is the shortest solution: orthogonal to the whole null space.
      BOOST_TEST((null_basis.transpose() * xhat).norm() <= tol * null_basis.norm());
      BOOST_TEST(std::abs(v_exact.dot(xhat)) <= tol * v_exact.norm());
      BOOST_TEST(xhat.norm() < x.norm());
      BOOST_TEST_MESSAGE(to_string(method) << ": minimum-norm X̂ for Y = [[27, 37], [57, 67]] "
                                              "(‖X̂‖ = "
                                           << xhat.norm() << " < ‖X‖ = " << x.norm() << ") =\n"
                                           << grid(xhat, 3));
    }
  }
}

// The other direction on the same layer: the transposed convolution g = Wᵀ·Y (seed 000's
// trans_conv(Y, K)) loses nothing — Wᵀ has full column rank — so Y comes back exactly.
BOOST_AUTO_TEST_CASE(seed_000_adjoint_direction_is_invertible) {
  const ConvSpec spec = ConvSpec::convolution(1, 1, {3, 3}, {2, 2});
  const std::vector<double> k{1, 2, 3, 4};
  const ConvMatrix<double> w(spec, k.data());
  const Eigen::VectorXd y{{27, 37, 57, 67}};
  const Eigen::VectorXd g = w.apply_adjoint(y);
  BOOST_TEST((g == Eigen::VectorXd{{27, 91, 74, 138, 400, 282, 171, 429, 268}}));
  const DenseD wt = DenseD(w.matrix()).transpose();
  for (LsqMethod method : all_methods) {
    BOOST_TEST_CONTEXT(to_string(method)) {
      const auto [yhat, info] = deconvolve_adjoint(w, g, method, to_machine_precision<double>());
      BOOST_TEST(info.status == LsqStatus::success, info.message);
      BOOST_TEST((yhat.col(0) - y).norm() <= rounding_tolerance<double>(wt) * y.norm());
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(layers)

// A real strided layer: Conv2d(2, 3, kernel 3, stride 2, padding 1) on 12×12 is a wide 108×288
// system of full row rank. For a consistent y = W x every method reaches relative residual
// <= 1e-10 (QR and Cholesky to rounding; LSQR and LSMR run with btol = 1e-12, atol = 0), on a
// batch of three samples; the adjoint direction (tall, full column rank) recovers y itself.
BOOST_AUTO_TEST_CASE(consistent_wide_strided_layer) {
  const ConvSpec spec = ConvSpec::convolution(2, 3, {12, 12}, {3, 3}, {2}, {1});
  std::normal_distribution<double> normal;
  std::vector<double> weight(static_cast<std::size_t>(spec.weight_numel()));
  for (double& v : weight) v = normal(test::rng());
  const ConvMatrix<double> w(spec, weight.data());
  BOOST_TEST(w.rows() == 108);
  BOOST_TEST(w.cols() == 288);
  const DenseD wd = DenseD(w.matrix());
  const DenseD x = DenseD::NullaryExpr(288, 3, [&] { return normal(test::rng()); });
  DenseD y(108, 3);
  w.apply(x.data(), y.data(), 3);
  QrSolver<double> qr(w);
  BOOST_TEST(qr.rank() == 108);  // full row rank: the Cholesky min-norm form applies

  LsqOptions o;
  o.atol = 0;
  o.btol = 1e-12;
  for (LsqMethod method : all_methods) {
    BOOST_TEST_CONTEXT(to_string(method)) {
      const auto [xhat, info] = deconvolve(w, y, method, o);
      BOOST_TEST(info.status == LsqStatus::success, info.message);
      const double relative = (y - wd * xhat).norm() / y.norm();
      BOOST_TEST(relative <= 1e-10);
      BOOST_TEST(info.relative_residual <= 1e-10);
      BOOST_TEST(std::abs(info.relative_residual - relative) <= 1e-14);
      // Minimum norm: x̂ lies in range(Wᵀ), so it is shorter than the x that made y.
      BOOST_TEST(xhat.norm() < x.norm());
      BOOST_TEST_MESSAGE(to_string(method) << ": relative residual " << relative << ", iterations "
                                           << info.iterations);
    }
  }
  // Adjoint direction: g = Wᵀ y for y of the layer's output size; y is recovered.
  const DenseD yy = DenseD::NullaryExpr(108, 2, [&] { return normal(test::rng()); });
  DenseD g(288, 2);
  w.apply_adjoint(yy.data(), g.data(), 2);
  for (LsqMethod method : all_methods) {
    BOOST_TEST_CONTEXT("adjoint, " << to_string(method)) {
      const auto [yhat, info] = deconvolve_adjoint(w, g, method, to_machine_precision<double>());
      BOOST_TEST(info.status == LsqStatus::success, info.message);
      BOOST_TEST((yhat - yy).norm() <= 1e-10 * yy.norm());
    }
  }
}

// LSQR and LSMR through the direct loops (no matrix at all) take the same steps as through the
// explicit matrix: the residual histories agree to rounding and so do the solutions, on random
// layers of every kind, in both directions. Damped (λ = 1) so that every problem is well
// conditioned and the comparison is about the operator, not about conditioning.
BOOST_AUTO_TEST_CASE(loops_operator_matches_the_matrix) {
  for (int trial = 0; trial < 40; ++trial) {
    const ConvSpec spec = test::random_spec(5);
    const auto weight = test::integer_tensor<double>(spec.weight_numel());
    const ConvMatrix<double> layer(spec, weight.data());
    const auto explicit_m = layer.matrix();
    const EigenSparseOperator matrix_op(explicit_m);
    const DirectLoopsOperator<double> loops_op(spec, weight.data());
    const AdjointOperator<double> matrix_adj(matrix_op), loops_adj(loops_op);
    LsqOptions o;
    o.damp = 1;
    o.atol = o.btol = 1e-13;
    for (bool adjoint : {false, true}) {
      const LinearOperator<double>& a =
          adjoint ? static_cast<const LinearOperator<double>&>(matrix_adj) : matrix_op;
      const LinearOperator<double>& l =
          adjoint ? static_cast<const LinearOperator<double>&>(loops_adj) : loops_op;
      const Eigen::VectorXd b =
          Eigen::VectorXd::NullaryExpr(a.rows(), [] { return double(test::uniform(-5, 5)); });
      for (LsqMethod method : {LsqMethod::lsqr, LsqMethod::lsmr}) {
        BOOST_TEST_CONTEXT(spec.to_string()
                           << (adjoint ? ", adjoint, " : ", ") << to_string(method)) {
          const auto by_matrix = lstsq(a, b, method, o);
          const auto by_loops = lstsq(l, b, method, o);
          BOOST_TEST(by_loops.info.status == LsqStatus::success, by_loops.info.message);
          BOOST_TEST((by_loops.x - by_matrix.x).norm() <=
                     1e-10 * std::max(1.0, by_matrix.x.norm()));
          const auto& hm = by_matrix.info.residual_history[0];
          const auto& hl = by_loops.info.residual_history[0];
          for (std::size_t k = 0; k < std::min<std::size_t>({hm.size(), hl.size(), 6}); ++k) {
            BOOST_TEST(std::abs(hm[k] - hl[k]) <= 1e-12 * hm[0]);
          }
        }
      }
    }
  }
}

// A batch deconvolves column by column: the same as one sample at a time, for a transposed layer
// given by its spec and weight (float).
BOOST_AUTO_TEST_CASE(batch_equals_samples) {
  const ConvSpec spec = ConvSpec::transposed(2, 1, {4, 5}, {3, 3}, {2}, {1}, {1});
  const auto weight = test::integer_tensor<float>(spec.weight_numel());
  const Eigen::MatrixXf y = Eigen::MatrixXf::NullaryExpr(
      spec.output_numel(), 3, [] { return float(test::uniform(-5, 5)); });
  for (LsqMethod method : all_methods) {
    BOOST_TEST_CONTEXT(to_string(method)) {
      const auto batch = deconvolve(spec, weight.data(), y, method, to_machine_precision<float>());
      for (Index j = 0; j < 3; ++j) {
        const auto one =
            deconvolve(spec, weight.data(), y.col(j), method, to_machine_precision<float>());
        BOOST_TEST((batch.x.col(j) == one.x.col(0)));
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// Layers whose W has no nonzeros (every tap lands on padding; test_conv_matrix.cpp) and batches
// of no samples. W = 0 is a valid, maximally rank-deficient system: the minimum-norm solution is
// x̂ = 0 for any y (lsq_types.hpp), its residual is y itself, QR finds rank 0, LSQR and LSMR stop
// at once (Aᵀy = 0: SciPy's istop 0, "x = 0 is the exact solution"), and Cholesky reports the
// singular normal equations unless damped, when it too returns 0. W's arrays are then empty
// (null values and column indices) on their way into SuiteSparse and the products.
BOOST_AUTO_TEST_SUITE(empty)

template <class S>
void check_layer_without_nonzeros(const ConvSpec& spec) {
  const auto weight = test::integer_tensor<S>(spec.weight_numel(), 1, 5);
  const ConvMatrix<S> layer(spec, weight.data());
  BOOST_TEST(layer.nnz() == 0);
  for (bool adjoint : {false, true}) {
    const Index n = adjoint ? layer.rows() : layer.cols(),
                m = adjoint ? layer.cols() : layer.rows();
    const DenseMatrix<S> b =
        DenseMatrix<S>::NullaryExpr(m, 2, [] { return S(test::uniform(1, 5)); });
    for (LsqMethod method : all_methods) {
      for (double damp : {0.0, 1.0}) {
        BOOST_TEST_CONTEXT(spec.to_string()
                           << (adjoint ? ", adjoint, " : ", ") << method << ", damp " << damp
                           << ", " << sizeof(S) * 8 << "-bit") {
          LsqOptions o;
          o.damp = damp;
          const auto [x, info] =
              adjoint ? deconvolve_adjoint(layer, b, method, o) : deconvolve(layer, b, method, o);
          BOOST_TEST(x.rows() == n);
          BOOST_TEST(x.cols() == 2);
          if (method == LsqMethod::cholesky && damp == 0) {
            BOOST_TEST(info.status == LsqStatus::not_positive_definite, info.message);
            continue;
          }
          BOOST_TEST(info.status == LsqStatus::success, info.message);
          BOOST_TEST((x.array() == S(0)).all());
          BOOST_TEST(info.solution_norm == 0);
          // ‖y − W·0‖ / ‖y‖, the two norms possibly summed in different orders.
          BOOST_TEST(std::abs(info.relative_residual - 1) <=
                     8 * double(std::numeric_limits<S>::epsilon()));
          if (method == LsqMethod::qr && damp == 0) BOOST_TEST(info.rank == 0);
          if (method == LsqMethod::lsqr || method == LsqMethod::lsmr) {
            BOOST_TEST(info.iterations == 0);
          }
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(layer_without_nonzeros) {
  for (const ConvSpec& spec : {ConvSpec::convolution(2, 2, {1}, {1}, {2}, {1}),
                               ConvSpec::convolution(4, 2, {1, 1}, {2, 2}, {1}, {2}, {3}, 2),
                               ConvSpec::transposed(2, 4, {1, 1}, {2, 2}, {1}, {1}, {}, 2, {3})}) {
    check_layer_without_nonzeros<double>(spec);
    check_layer_without_nonzeros<float>(spec);
  }
}

// No right-hand sides (a batch of 0 samples): no solutions, status success, every norm 0.
BOOST_AUTO_TEST_CASE(batch_of_no_samples) {
  for (const ConvSpec& spec : {ConvSpec::convolution(2, 3, {5, 4}, {3, 2}, {2}, {1}),
                               ConvSpec::convolution(2, 2, {1}, {1}, {2}, {1})}) {
    const auto weight = test::integer_tensor<double>(spec.weight_numel(), 1, 5);
    const ConvMatrix<double> layer(spec, weight.data());
    for (bool adjoint : {false, true}) {
      const Index n = adjoint ? layer.rows() : layer.cols(),
                  m = adjoint ? layer.cols() : layer.rows();
      const DenseD none(m, 0);
      for (LsqMethod method : all_methods) {
        BOOST_TEST_CONTEXT(spec.to_string() << (adjoint ? ", adjoint, " : ", ") << method) {
          LsqOptions o;
          o.damp = 1;  // Cholesky then succeeds on the empty layer too
          const auto [x, info] = adjoint ? deconvolve_adjoint(layer, none, method, o)
                                         : deconvolve(layer, none, method, o);
          BOOST_TEST(x.rows() == n);
          BOOST_TEST(x.cols() == 0);
          BOOST_TEST(info.status == LsqStatus::success, info.message);
          BOOST_TEST(info.residual_norm == 0);
          BOOST_TEST(info.relative_residual == 0);
          BOOST_TEST(info.solution_norm == 0);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
