#pragma once
// lstsq: one call for every least-squares method — what the Python and CLI front ends bind.
//
//   auto [x, info] = lstsq(A, B, LsqMethod::qr, options);
//   x̂ = argmin ‖A x − b‖² + λ²‖x‖²  per column b of B, minimum-norm among the minimizers
//   (NumPy: np.linalg.lstsq(A, B)[0] for λ = 0).
//
// A is a sparse matrix (SparseRef: Eigen, CsrMatrix, ConvMatrix) — every method — or any
// LinearOperator — LSQR and LSMR only (qr and cholesky need the entries and throw
// std::invalid_argument). B is A.rows() × k, X is A.cols() × k. Outcomes are in info.status
// (lsq_types.hpp); invalid input throws std::invalid_argument. The methods:
//   qr        QrSolver (qr_solver.hpp): exact to rounding, rank-revealing, minimum norm
//   cholesky  CholeskySolver (cholesky_solver.hpp): fastest direct method; squares cond(A)
//   lsqr      LSQR (iterative_lsq.hpp): matrix-free, to the tolerances atol, btol
//   lsmr      LSMR (iterative_lsq.hpp): matrix-free, usually fewer iterations for LS problems
// float: QR and Cholesky run in double (SuiteSparse 5.12 has no single precision) and round X
// to float; LSQR and LSMR run in float.

#include <type_traits>

#include "convmat/core/linear_operator.hpp"
#include "convmat/solve/cholesky_solver.hpp"
#include "convmat/solve/iterative_lsq.hpp"
#include "convmat/solve/lsq_types.hpp"
#include "convmat/solve/qr_solver.hpp"
#include "convmat/solve/sparse_ref.hpp"

namespace convmat {

template <class Scalar>
using RhsRef = std::type_identity_t<Eigen::Ref<const DenseMatrix<Scalar>>>;

// `inputs` (iterative_lsq.hpp): starting vectors and a user-supplied preconditioner, LSQR and
// LSMR only (QR and Cholesky refuse them, and a noise level, with std::invalid_argument). The
// layer preconditioners of options.preconditioner (dct, circulant) need a layer: lstsq on a
// ConvMatrix or deconvolve; elsewhere they are std::invalid_argument and `automatic` means none.
// damp_rule = gcv needs the entries (the direct problem's SVD) or a layer.

// The general form: `a` for QR/Cholesky and `op` (the same A, as an operator) for LSQR/LSMR.
template <class Scalar>
LsqResult<Scalar> lstsq(SparseRef<Scalar> a, const LinearOperator<Scalar>& op,
                        const RhsRef<Scalar>& b, LsqMethod method, const LsqOptions& options = {},
                        const KrylovInputs<Scalar>& inputs = {});

// LSQR/LSMR only.
template <class Scalar>
LsqResult<Scalar> lstsq(const LinearOperator<Scalar>& a, const RhsRef<Scalar>& b, LsqMethod method,
                        const LsqOptions& options = {}, const KrylovInputs<Scalar>& inputs = {});

template <class Scalar>
LsqResult<Scalar> lstsq(SparseRef<Scalar> a, const RhsRef<Scalar>& b, LsqMethod method,
                        const LsqOptions& options = {}, const KrylovInputs<Scalar>& inputs = {}) {
  return lstsq(a, SparseRefOperator<Scalar>(a), b, method, options, inputs);
}

template <class Scalar, int Options>
LsqResult<Scalar> lstsq(const Eigen::SparseMatrix<Scalar, Options, int>& a, const RhsRef<Scalar>& b,
                        LsqMethod method, const LsqOptions& options = {},
                        const KrylovInputs<Scalar>& inputs = {}) {
  return lstsq(SparseRef<Scalar>(a), EigenSparseOperator(a), b, method, options, inputs);
}

template <class Scalar>
LsqResult<Scalar> lstsq(const CsrMatrix<Scalar>& a, const RhsRef<Scalar>& b, LsqMethod method,
                        const LsqOptions& options = {}, const KrylovInputs<Scalar>& inputs = {}) {
  return lstsq(SparseRef<Scalar>(a), CsrOperator<Scalar>(a), b, method, options, inputs);
}

// The layer map M of a ConvMatrix: deconvolve (deconvolve.hpp), which also builds the layer's
// preconditioner and its damps.
template <class Scalar>
LsqResult<Scalar> lstsq(const ConvMatrix<Scalar>& a, const RhsRef<Scalar>& b, LsqMethod method,
                        const LsqOptions& options = {}, const KrylovInputs<Scalar>& inputs = {});

extern template LsqResult<float> lstsq<float>(SparseRef<float>, const LinearOperator<float>&,
                                              const RhsRef<float>&, LsqMethod, const LsqOptions&,
                                              const KrylovInputs<float>&);
extern template LsqResult<double> lstsq<double>(SparseRef<double>, const LinearOperator<double>&,
                                                const RhsRef<double>&, LsqMethod, const LsqOptions&,
                                                const KrylovInputs<double>&);
extern template LsqResult<float> lstsq<float>(const LinearOperator<float>&, const RhsRef<float>&,
                                              LsqMethod, const LsqOptions&,
                                              const KrylovInputs<float>&);
extern template LsqResult<double> lstsq<double>(const LinearOperator<double>&,
                                                const RhsRef<double>&, LsqMethod, const LsqOptions&,
                                                const KrylovInputs<double>&);
extern template LsqResult<float> lstsq<float>(const ConvMatrix<float>&, const RhsRef<float>&,
                                              LsqMethod, const LsqOptions&,
                                              const KrylovInputs<float>&);
extern template LsqResult<double> lstsq<double>(const ConvMatrix<double>&, const RhsRef<double>&,
                                                LsqMethod, const LsqOptions&,
                                                const KrylovInputs<double>&);

}  // namespace convmat
