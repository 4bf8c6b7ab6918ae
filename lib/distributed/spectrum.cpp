#include "convmat/distributed/spectrum.hpp"

#include <slepceps.h>
#include <slepcsvd.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <stdexcept>

#include "convmat/distributed/environment.hpp"
#include "petsc_call.hpp"

namespace convmat::distributed {

namespace {

struct SvdHandle {
  SVD svd = nullptr;
  ~SvdHandle() { SVDDestroy(&svd); }
};
struct EpsHandle {
  EPS eps = nullptr;
  ~EpsHandle() { EPSDestroy(&eps); }
};

// W behind a layer's M (singular values do not change under transposition).
Mat underlying(Mat a) {
  PetscBool transposed = PETSC_FALSE;
  CONVMAT_PETSC(
      PetscObjectTypeCompare(reinterpret_cast<PetscObject>(a), MATTRANSPOSEVIRTUAL, &transposed));
  if (!transposed) return a;
  Mat w = nullptr;
  CONVMAT_PETSC(MatTransposeGetMat(a, &w));
  return w;
}

MPI_Comm comm_of(Mat a) { return PetscObjectComm(reinterpret_cast<PetscObject>(a)); }

Index gram_size(Mat a) {
  PetscInt m = 0, n = 0;
  CONVMAT_PETSC(MatGetSize(a, &m, &n));
  return std::min<Index>(m, n);
}

Index checked(const char* function, Mat a, const PartialSpectrumOptions& options) {
  Index ncv = 0;
  collectively(comm_of(a), [&] { ncv = lanczos_subspace(function, options, gram_size(a)); });
  return ncv;
}

// A = 0: every singular value is 0 (Lanczos would break down on the zero operator).
bool is_zero(Mat a) {
  PetscReal norm = 0;
  CONVMAT_PETSC(MatNorm(a, NORM_FROBENIUS, &norm));
  return norm == 0;
}

// SVDTRLANCZOS on W for the largest or smallest `count` values.
PartialSingularValues trlanczos(Mat w, const PartialSpectrumOptions& o, Index ncv, SVDWhich which) {
  ensure_slepc();
  SvdHandle h;
  CONVMAT_PETSC(SVDCreate(comm_of(w), &h.svd));
  CONVMAT_PETSC(SVDSetOperators(h.svd, w, nullptr));
  CONVMAT_PETSC(SVDSetType(h.svd, SVDTRLANCZOS));
  // A wide W is used through MatMultTranspose, not copied transposed.
  CONVMAT_PETSC(SVDSetImplicitTranspose(h.svd, PETSC_TRUE));
  CONVMAT_PETSC(SVDSetWhichSingularTriplets(h.svd, which));
  CONVMAT_PETSC(SVDSetDimensions(h.svd, static_cast<PetscInt>(o.count), static_cast<PetscInt>(ncv),
                                 PETSC_DEFAULT));
  CONVMAT_PETSC(SVDSetTolerances(h.svd, o.tolerance, static_cast<PetscInt>(o.max_iterations)));
  CONVMAT_PETSC(SVDSolve(h.svd));
  PetscInt converged = 0, iterations = 0;
  CONVMAT_PETSC(SVDGetConverged(h.svd, &converged));
  CONVMAT_PETSC(SVDGetIterationNumber(h.svd, &iterations));
  PartialSingularValues r;
  r.gram_size = gram_size(w);
  r.iterations = iterations;
  const Index n = std::min<Index>(converged, o.count);
  r.values.resize(n);
  for (Index i = 0; i < n; ++i) {
    PetscReal sigma = 0;
    CONVMAT_PETSC(SVDGetSingularTriplet(h.svd, static_cast<PetscInt>(i), &sigma, nullptr, nullptr));
    r.values(i) = sigma;
  }
  r.status = n == o.count ? SpectrumStatus::converged : SpectrumStatus::not_converged;
  return r;
}

// Krylov–Schur on (G + δI)⁻¹, G the smaller Gram matrix, factored by MUMPS.
PartialSingularValues shift_invert(Mat w, const PartialSpectrumOptions& o, Index ncv) {
  ensure_slepc();
  PetscInt m = 0, n = 0;
  CONVMAT_PETSC(MatGetSize(w, &m, &n));
  Owned<Mat> g;
  if (m <= n) {
    CONVMAT_PETSC(MatMatTransposeMult(w, w, MAT_INITIAL_MATRIX, PETSC_DEFAULT, g.out()));
  } else {
    CONVMAT_PETSC(MatTransposeMatMult(w, w, MAT_INITIAL_MATRIX, PETSC_DEFAULT, g.out()));
  }
  CONVMAT_PETSC(MatSetOption(g, MAT_SYMMETRIC, PETSC_TRUE));
  PetscReal norm1 = 0;
  CONVMAT_PETSC(MatNorm(g, NORM_1, &norm1));
  const double shift = -gram_shift * norm1;

  EpsHandle h;
  CONVMAT_PETSC(EPSCreate(comm_of(w), &h.eps));
  CONVMAT_PETSC(EPSSetOperators(h.eps, g, nullptr));
  CONVMAT_PETSC(EPSSetProblemType(h.eps, EPS_HEP));
  CONVMAT_PETSC(EPSSetType(h.eps, EPSKRYLOVSCHUR));
  CONVMAT_PETSC(EPSSetDimensions(h.eps, static_cast<PetscInt>(o.count), static_cast<PetscInt>(ncv),
                                 PETSC_DEFAULT));
  CONVMAT_PETSC(EPSSetTolerances(h.eps, o.tolerance, static_cast<PetscInt>(o.max_iterations)));
  CONVMAT_PETSC(EPSSetTarget(h.eps, shift));
  CONVMAT_PETSC(EPSSetWhichEigenpairs(h.eps, EPS_TARGET_MAGNITUDE));
  ST st = nullptr;
  KSP ksp = nullptr;
  PC pc = nullptr;
  CONVMAT_PETSC(EPSGetST(h.eps, &st));
  CONVMAT_PETSC(STSetType(st, STSINVERT));
  CONVMAT_PETSC(STGetKSP(st, &ksp));
  CONVMAT_PETSC(KSPSetType(ksp, KSPPREONLY));
  CONVMAT_PETSC(KSPGetPC(ksp, &pc));
  CONVMAT_PETSC(PCSetType(pc, PCCHOLESKY));
  CONVMAT_PETSC(PCFactorSetMatSolverType(pc, MATSOLVERMUMPS));

  PartialSingularValues r;
  r.gram_size = std::min<Index>(m, n);
  // A failed factorization fails on every rank (MUMPS reports collectively): a status.
  bool failed = false;
  try {
    agree(comm_of(w), [&]() -> std::exception_ptr {
      try {
        CONVMAT_PETSC(EPSSolve(h.eps));
        return nullptr;
      } catch (...) {
        return std::current_exception();
      }
    }());
  } catch (const std::runtime_error&) {
    failed = true;
  }
  if (failed) {
    r.status = SpectrumStatus::numerical_issue;
    return r;
  }
  PetscInt converged = 0, iterations = 0;
  CONVMAT_PETSC(EPSGetConverged(h.eps, &converged));
  CONVMAT_PETSC(EPSGetIterationNumber(h.eps, &iterations));
  r.iterations = iterations;
  const Index count = std::min<Index>(converged, o.count);
  r.values.resize(count);
  for (Index i = 0; i < count; ++i) {
    PetscScalar lambda = 0;
    CONVMAT_PETSC(EPSGetEigenvalue(h.eps, static_cast<PetscInt>(i), &lambda, nullptr));
    r.values(i) = std::sqrt(std::max(0.0, static_cast<double>(lambda)));
  }
  std::sort(r.values.begin(), r.values.end());
  r.status = count == o.count ? SpectrumStatus::converged : SpectrumStatus::not_converged;
  return r;
}

}  // namespace

PartialSingularValues largest_singular_values(Mat a, const PartialSpectrumOptions& options) {
  const Mat w = underlying(a);
  const Index ncv = checked("largest_singular_values", w, options);
  if (is_zero(w)) return zero_singular_values(options.count, gram_size(w));
  return trlanczos(w, options, ncv, SVD_LARGEST);
}

PartialSingularValues smallest_singular_values(Mat a, const PartialSpectrumOptions& options,
                                               SmallestMethod method) {
  const Mat w = underlying(a);
  const Index ncv = checked("smallest_singular_values", w, options);
  if (is_zero(w)) return zero_singular_values(options.count, gram_size(w));
  if (method == SmallestMethod::lanczos) {
    PartialSingularValues r = trlanczos(w, options, ncv, SVD_SMALLEST);
    std::sort(r.values.begin(), r.values.end());
    return r;
  }
  return shift_invert(w, options, ncv);
}

ConditionEstimate condition_number(Mat a, const PartialSpectrumOptions& options,
                                   SmallestMethod method) {
  PartialSpectrumOptions one = options;
  one.count = 1;
  const PartialSingularValues hi = largest_singular_values(a, one);
  return condition_estimate(hi, smallest_singular_values(a, one, method));
}

PartialSingularValues largest_singular_values(const DistributedConvMatrix& m,
                                              const PartialSpectrumOptions& options) {
  return largest_singular_values(m.stored(), options);
}

PartialSingularValues smallest_singular_values(const DistributedConvMatrix& m,
                                               const PartialSpectrumOptions& options,
                                               SmallestMethod method) {
  return smallest_singular_values(m.stored(), options, method);
}

ConditionEstimate condition_number(const DistributedConvMatrix& m,
                                   const PartialSpectrumOptions& options, SmallestMethod method) {
  return condition_number(m.stored(), options, method);
}

}  // namespace convmat::distributed
