#include "convmat/distributed/lsqr.hpp"

#include <petscksp.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "../solve/krylov_common.hpp"
#include "convmat/distributed/environment.hpp"
#include "petsc_call.hpp"

namespace convmat::distributed {

namespace {

namespace cd = ::convmat::detail;  // the serial solvers' stopping rules

constexpr double eps = std::numeric_limits<double>::epsilon();

// The stacked [A; λI] (m + n rows, n columns) as a shell: each rank's rows are its rows of A
// followed by its λ·x entries, so both products are one product with A or Aᵀ plus a local
// scaling. u_ is a vector of A's row layout without storage, placed on the first part.
struct Stacked {
  Mat a = nullptr;
  double damp = 0;
  PetscInt m_local = 0;
  Owned<Vec> u;
};

PetscErrorCode stacked_mult(Mat shell, Vec x, Vec y) {
  Stacked* s = nullptr;
  PetscFunctionBeginUser;
  PetscCall(MatShellGetContext(shell, &s));
  PetscScalar* out = nullptr;
  const PetscScalar* in = nullptr;
  PetscInt n = 0;
  PetscCall(VecGetArray(y, &out));
  PetscCall(VecPlaceArray(s->u, out));
  PetscCall(MatMult(s->a, x, s->u));
  PetscCall(VecResetArray(s->u));
  PetscCall(VecGetLocalSize(x, &n));
  PetscCall(VecGetArrayRead(x, &in));
  for (PetscInt i = 0; i < n; ++i) out[s->m_local + i] = s->damp * in[i];
  PetscCall(VecRestoreArrayRead(x, &in));
  PetscCall(VecRestoreArray(y, &out));
  PetscFunctionReturn(0);
}

PetscErrorCode stacked_mult_transpose(Mat shell, Vec y, Vec x) {
  Stacked* s = nullptr;
  PetscFunctionBeginUser;
  PetscCall(MatShellGetContext(shell, &s));
  const PetscScalar* in = nullptr;
  PetscScalar* out = nullptr;
  PetscInt n = 0;
  PetscCall(VecGetArrayRead(y, &in));
  PetscCall(VecPlaceArray(s->u, in));
  PetscCall(MatMultTranspose(s->a, s->u, x));
  PetscCall(VecResetArray(s->u));
  PetscCall(VecGetLocalSize(x, &n));
  PetscCall(VecGetArray(x, &out));
  for (PetscInt i = 0; i < n; ++i) out[i] += s->damp * in[s->m_local + i];
  PetscCall(VecRestoreArray(x, &out));
  PetscCall(VecRestoreArrayRead(y, &in));
  PetscFunctionReturn(0);
}

// The convergence test's state: SciPy's stopping rules on KSPLSQR's estimates.
struct Stop {
  const LsqOptions* options = nullptr;
  Index limit = 0;
  double bnorm = 0;
  MPI_Comm comm = MPI_COMM_NULL;
  Vec previous = nullptr, step = nullptr;  // x_{k−1} and x_k − x_{k−1}
  double phibar = 0, ddnorm = 0;
  double rnorm = 0, arnorm = 0, anorm = 0, acond = 0, xnorm = 0;
  int istop = 0;  // also cd::cancelled, cd::non_finite
  KrylovReport report;
};

PetscErrorCode converged(KSP ksp, PetscInt n, PetscReal rnorm, KSPConvergedReason* reason,
                         void* context) {
  Stop& s = *static_cast<Stop*>(context);
  PetscFunctionBeginUser;
  *reason = KSP_CONVERGED_ITERATING;
  s.rnorm = rnorm;
  s.report.residual_history.push_back(rnorm);
  if (n == 0) {
    s.phibar = rnorm;  // = ‖b‖ (x₀ = 0); ‖b‖ = 0 and Aᵀb = 0 are answered before the solve
    PetscFunctionReturn(0);
  }
  s.report.iterations = n;
  PetscCall(KSPLSQRGetNorms(ksp, &s.arnorm, &s.anorm));
  Vec x = nullptr;
  PetscCall(KSPGetSolution(ksp, &x));
  PetscCall(VecWAXPY(s.step, -1.0, s.previous, x));
  PetscReal norms[2] = {0, 0};
  PetscCall(VecNormBegin(x, NORM_2, &norms[0]));
  PetscCall(VecNormBegin(s.step, NORM_2, &norms[1]));
  PetscCall(VecNormEnd(x, NORM_2, &norms[0]));
  PetscCall(VecNormEnd(s.step, NORM_2, &norms[1]));
  PetscCall(VecCopy(x, s.previous));
  s.xnorm = norms[0];
  const double phi2 = (s.phibar - rnorm) * (s.phibar + rnorm);  // φ_k² = φ̄_{k−1}² − φ̄_k²
  if (phi2 > 0) s.ddnorm += norms[1] * norms[1] / phi2;
  s.phibar = rnorm;
  s.acond = s.anorm * std::sqrt(s.ddnorm);

  cd::StopTests t;
  t.test1 = rnorm / s.bnorm;
  t.test2 = s.arnorm / (s.anorm * rnorm + eps);
  t.test3 = 1 / (s.acond + eps);
  t.t1 = t.test1 / (1 + s.anorm * s.xnorm / s.bnorm);
  t.rtol = s.options->btol + s.options->atol * s.anorm * s.xnorm / s.bnorm;
  const bool finite = std::isfinite(rnorm) && std::isfinite(s.arnorm) && std::isfinite(s.xnorm);
  if (!finite) {
    s.istop = cd::non_finite;
  } else {
    s.istop = cd::stop_code<double>(n, s.limit, t, *s.options);
    if (s.istop == 0 && s.options->progress) {
      int go_on = cd::keep_going(*s.options, {LsqMethod::lsqr, "iterate", 0, 1, n, s.limit, rnorm,
                                              rnorm / s.bnorm})
                      ? 1
                      : 0;
      PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &go_on, 1, MPI_INT, MPI_MIN, s.comm));
      if (!go_on) s.istop = cd::cancelled;
    }
  }
  if (s.istop != 0) *reason = s.istop == 7 ? KSP_DIVERGED_ITS : KSP_CONVERGED_ITS;
  PetscFunctionReturn(0);
}

void check_layout(Mat a, Vec b, Vec x) {
  PetscInt m = 0, n = 0, bm = 0, xn = 0, ml = 0, nl = 0, bl = 0, xl = 0;
  CONVMAT_PETSC(MatGetSize(a, &m, &n));
  CONVMAT_PETSC(MatGetLocalSize(a, &ml, &nl));
  CONVMAT_PETSC(VecGetSize(b, &bm));
  CONVMAT_PETSC(VecGetSize(x, &xn));
  CONVMAT_PETSC(VecGetLocalSize(b, &bl));
  CONVMAT_PETSC(VecGetLocalSize(x, &xl));
  if (m < 1 || n < 1) {
    throw std::invalid_argument("lsqr: A must have at least one row and column, got " +
                                std::to_string(m) + "x" + std::to_string(n));
  }
  if (bm != m || bl != ml || xn != n || xl != nl) {
    throw std::invalid_argument("lsqr: b must have A's row layout and x its column layout: A is " +
                                std::to_string(m) + "x" + std::to_string(n) + " (" +
                                std::to_string(ml) + "x" + std::to_string(nl) + " here), b has " +
                                std::to_string(bm) + " (" + std::to_string(bl) + " here), x has " +
                                std::to_string(xn) + " (" + std::to_string(xl) + " here)");
  }
}

void check_finite(Vec b) {
  PetscInt n = 0, first = 0, last = 0;
  const PetscScalar* v = nullptr;
  CONVMAT_PETSC(VecGetLocalSize(b, &n));
  CONVMAT_PETSC(VecGetOwnershipRange(b, &first, &last));
  CONVMAT_PETSC(VecGetArrayRead(b, &v));
  for (PetscInt i = 0; i < n; ++i) {
    if (!std::isfinite(v[i])) {
      const double bad = v[i];
      CONVMAT_PETSC(VecRestoreArrayRead(b, &v));
      throw std::invalid_argument("lsqr: b must be finite, got b(" + std::to_string(first + i) +
                                  ") = " + cd::number(bad));
    }
  }
  CONVMAT_PETSC(VecRestoreArrayRead(b, &v));
}

}  // namespace

LsqInfo lsqr(Mat a, Vec b, Vec x, const LsqOptions& options) {
  const MPI_Comm comm = PetscObjectComm(reinterpret_cast<PetscObject>(a));
  collectively(comm, [&] {
    validate(options);
    check_layout(a, b, x);
    check_finite(b);
  });
  PetscInt m = 0, n = 0, m_local = 0, n_local = 0;
  CONVMAT_PETSC(MatGetSize(a, &m, &n));
  CONVMAT_PETSC(MatGetLocalSize(a, &m_local, &n_local));
  LsqInfo info;
  info.method = LsqMethod::lsqr;

  Stop stop;
  stop.options = &options;
  stop.limit = ::convmat::iteration_limit(options, n);
  stop.comm = comm;
  CONVMAT_PETSC(VecNorm(b, NORM_2, &stop.bnorm));
  CONVMAT_PETSC(VecSet(x, 0.0));
  // x = 0 answers b = 0 and Aᵀb = 0 (istop 0), where KSPLSQR would divide by zero.
  double atb = 0;
  if (stop.bnorm > 0) {
    Owned<Vec> g;
    CONVMAT_PETSC(VecDuplicate(x, g.out()));
    CONVMAT_PETSC(MatMultTranspose(a, b, g));
    CONVMAT_PETSC(VecNorm(g, NORM_2, &atb));
  }
  if (stop.bnorm == 0 || atb == 0) {
    stop.report.residual_history.push_back(stop.bnorm);
    stop.istop = 0;
  } else {
    // The operator KSPLSQR sees: A, or [A; λI] with b stacked on n zeros.
    Stacked stacked;
    Owned<Mat> shell;
    Owned<Vec> b_stacked, x_work;
    Mat op = a;
    Vec rhs = b;
    if (options.damp > 0) {
      stacked.a = a;
      stacked.damp = options.damp;
      stacked.m_local = m_local;
      CONVMAT_PETSC(VecCreateMPIWithArray(comm, 1, m_local, m, nullptr, stacked.u.out()));
      CONVMAT_PETSC(
          MatCreateShell(comm, m_local + n_local, n_local, m + n, n, &stacked, shell.out()));
      CONVMAT_PETSC(
          MatShellSetOperation(shell, MATOP_MULT, reinterpret_cast<void (*)(void)>(stacked_mult)));
      CONVMAT_PETSC(MatShellSetOperation(shell, MATOP_MULT_TRANSPOSE,
                                         reinterpret_cast<void (*)(void)>(stacked_mult_transpose)));
      CONVMAT_PETSC(MatCreateVecs(shell, nullptr, b_stacked.out()));
      PetscScalar* to = nullptr;
      const PetscScalar* from = nullptr;
      CONVMAT_PETSC(VecGetArray(b_stacked, &to));
      CONVMAT_PETSC(VecGetArrayRead(b, &from));
      for (PetscInt i = 0; i < m_local; ++i) to[i] = from[i];
      for (PetscInt i = 0; i < n_local; ++i) to[m_local + i] = 0;
      CONVMAT_PETSC(VecRestoreArrayRead(b, &from));
      CONVMAT_PETSC(VecRestoreArray(b_stacked, &to));
      op = shell;
      rhs = b_stacked;
    }
    Owned<Vec> previous, step;
    CONVMAT_PETSC(VecDuplicate(x, previous.out()));
    CONVMAT_PETSC(VecDuplicate(x, step.out()));
    CONVMAT_PETSC(VecSet(previous, 0.0));
    stop.previous = previous;
    stop.step = step;

    Owned<KSP> ksp;
    CONVMAT_PETSC(KSPCreate(comm, ksp.out()));
    CONVMAT_PETSC(KSPSetType(ksp, KSPLSQR));
    CONVMAT_PETSC(KSPSetOperators(ksp, op, op));
    PC pc = nullptr;
    CONVMAT_PETSC(KSPGetPC(ksp, &pc));
    CONVMAT_PETSC(PCSetType(pc, PCNONE));
    const auto max_it =
        static_cast<PetscInt>(std::min<Index>(stop.limit, std::numeric_limits<PetscInt>::max()));
    CONVMAT_PETSC(KSPSetTolerances(ksp, 0.0, 0.0, PETSC_DEFAULT, max_it));
    CONVMAT_PETSC(KSPSetConvergenceTest(ksp, converged, &stop, nullptr));
    CONVMAT_PETSC(KSPSetInitialGuessNonzero(ksp, PETSC_FALSE));
    CONVMAT_PETSC(KSPSolve(ksp, rhs, x));
    if (stop.istop == 0) {
      // KSPLSQR stopped on its own: a breakdown (β = 0, the Krylov space is exhausted: the last
      // iterate solves the problem) or NaN/Inf in a norm.
      KSPConvergedReason reason = KSP_CONVERGED_ITERATING;
      CONVMAT_PETSC(KSPGetConvergedReason(ksp, &reason));
      stop.istop = reason == KSP_DIVERGED_NANORINF ? cd::non_finite
                   : reason == KSP_DIVERGED_ITS    ? 7
                                                   : 1;
    }
  }
  KrylovReport& rep = stop.report;
  cd::finish(rep, stop.istop, {stop.rnorm, stop.arnorm, stop.anorm, stop.acond, stop.xnorm});
  info.status = rep.status;
  info.stop_code = rep.stop_code;
  info.message = rep.message;
  info.iterations = rep.iterations;
  info.condition_estimate = rep.condition_estimate;
  info.residual_history.push_back(rep.residual_history);

  // Recomputed from x̂: r = b − A x̂, g = Aᵀr − λ²x̂.
  Owned<Vec> r, g;
  CONVMAT_PETSC(VecDuplicate(b, r.out()));
  CONVMAT_PETSC(VecDuplicate(x, g.out()));
  CONVMAT_PETSC(MatMult(a, x, r));
  CONVMAT_PETSC(VecAYPX(r, -1.0, b));
  CONVMAT_PETSC(MatMultTranspose(a, r, g));
  CONVMAT_PETSC(VecAXPY(g, -options.damp * options.damp, x));
  PetscReal rn = 0, gn = 0, xn = 0;
  CONVMAT_PETSC(VecNorm(r, NORM_2, &rn));
  CONVMAT_PETSC(VecNorm(g, NORM_2, &gn));
  CONVMAT_PETSC(VecNorm(x, NORM_2, &xn));
  info.residual_norm = rn;
  info.relative_residual = stop.bnorm > 0 ? rn / stop.bnorm : 0.0;
  info.normal_residual_norm = gn;
  info.solution_norm = xn;
  return info;
}

LsqInfo deconvolve(const DistributedConvMatrix& m, Vec y, Vec x, const LsqOptions& options) {
  return lsqr(m.layer(), y, x, options);
}

LsqInfo deconvolve_adjoint(const DistributedConvMatrix& m, Vec g, Vec y,
                           const LsqOptions& options) {
  // Mᵀ: for a convolution the virtual transpose of W, for a transposed layer W itself.
  if (m.spec().is_transposed()) return lsqr(m.stored(), g, y, options);
  Owned<Mat> t;
  CONVMAT_PETSC(MatCreateTranspose(m.stored(), t.out()));
  return lsqr(t, g, y, options);
}

}  // namespace convmat::distributed
