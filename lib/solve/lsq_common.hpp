#pragma once
// Helpers every least-squares solver in lib/ shares: input checks at the boundary and the
// residual report recomputed from the returned solution.

#include <Eigen/Core>
#include <cmath>
#include <string>

#include "convmat/solve/detail/lsq_solver_base.hpp"
#include "convmat/solve/lsq_types.hpp"
#include "convmat/solve/sparse_ref.hpp"

namespace convmat::detail {

// "1.5", "nan", "-inf": a value as it appears in messages.
std::string number(double v);

// Throws std::invalid_argument unless B has `rows` rows (`who`: "QrSolver::solve", …) and every
// entry is finite.
template <class Scalar>
void check_rhs(const char* who, Index rows, const Eigen::Ref<const DenseMatrix<Scalar>>& b);

// Throws std::invalid_argument unless A is non-empty and every stored value is finite.
template <class Scalar>
void check_matrix(const char* who, const SparseRef<Scalar>& a);

// Throws std::invalid_argument, naming the first entry, unless every stored value is finite.
template <class Scalar>
void check_finite(const char* who, const SparseRef<Scalar>& a);

// Fills residual_norm, relative_residual, normal_residual_norm and solution_norm of `info`
// from R = B − A X and G = Aᵀ R − λ² X, column by column. `apply(x, y)` gives y = A x and
// `adjoint(y, x)` x = Aᵀ y on contiguous columns of type S. Norms are accumulated in double.
template <class S, class Apply, class Adjoint>
void fill_residuals(LsqInfo& info, Index m, Index n, const S* b, const S* x, Index k, double damp,
                    Apply&& apply, Adjoint&& adjoint) {
  using Vec = Eigen::Matrix<S, Eigen::Dynamic, 1>;
  Vec r(m), g(n);
  double rr = 0, bb = 0, gg = 0, xx = 0;
  for (Index j = 0; j < k; ++j) {
    const Eigen::Map<const Vec> bj(b + j * m, m), xj(x + j * n, n);
    apply(xj.data(), r.data());
    r = bj - r;
    adjoint(r.data(), g.data());
    g -= S(damp * damp) * xj;
    rr += r.template cast<double>().squaredNorm();
    bb += bj.template cast<double>().squaredNorm();
    gg += g.template cast<double>().squaredNorm();
    xx += xj.template cast<double>().squaredNorm();
  }
  info.residual_norm = std::sqrt(rr);
  info.relative_residual = bb > 0 ? std::sqrt(rr / bb) : 0.0;
  info.normal_residual_norm = std::sqrt(gg);
  info.solution_norm = std::sqrt(xx);
}

}  // namespace convmat::detail
