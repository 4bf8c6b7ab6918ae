#pragma once
// The RAII wall around SuiteSparse (private to lib/; no public header includes cholmod.h).
//
// Ownership: one CholmodCommon owns a cholmod_common (cholmod_l_start / cholmod_l_finish) and is
// neither copyable nor movable, so its address — which every cholmod object's deleter keeps — is
// stable. Everything cholmod allocates is held by a unique_ptr whose deleter frees it through
// that common; declare the CholmodCommon before (so it is destroyed after) the objects.
//
// All matrices here are cholmod_l (SuiteSparse_long indices), real, double.

#include <Eigen/Core>
#include <SuiteSparseQR.hpp>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>

#include "convmat/solve/sparse_ref.hpp"
#include "lsq_common.hpp"

namespace convmat::detail {

class CholmodCommon {
 public:
  CholmodCommon();
  ~CholmodCommon();
  CholmodCommon(const CholmodCommon&) = delete;
  CholmodCommon& operator=(const CholmodCommon&) = delete;

  cholmod_common* get() { return &cc_; }
  // The last error or warning CHOLMOD reported on this thread ("" if none since clear()).
  static std::string last_message();
  static void clear_message();

 private:
  cholmod_common cc_;
};

struct FreeSparse {
  cholmod_common* cc;
  void operator()(cholmod_sparse* a) const { cholmod_l_free_sparse(&a, cc); }
};
struct FreeDense {
  cholmod_common* cc;
  void operator()(cholmod_dense* a) const { cholmod_l_free_dense(&a, cc); }
};
struct FreeFactor {
  cholmod_common* cc;
  void operator()(cholmod_factor* a) const { cholmod_l_free_factor(&a, cc); }
};
struct FreeLongArray {  // arrays SPQR allocates with cholmod_l_malloc (E, HPinv)
  cholmod_common* cc;
  std::size_t n;
  void operator()(SuiteSparse_long* p) const { cholmod_l_free(n, sizeof(SuiteSparse_long), p, cc); }
};

using SparsePtr = std::unique_ptr<cholmod_sparse, FreeSparse>;
using DensePtr = std::unique_ptr<cholmod_dense, FreeDense>;
using FactorPtr = std::unique_ptr<cholmod_factor, FreeFactor>;
using LongArrayPtr = std::unique_ptr<SuiteSparse_long, FreeLongArray>;

inline SparsePtr own(cholmod_sparse* a, CholmodCommon& c) { return SparsePtr(a, {c.get()}); }
inline DensePtr own(cholmod_dense* a, CholmodCommon& c) { return DensePtr(a, {c.get()}); }
inline FactorPtr own(cholmod_factor* a, CholmodCommon& c) { return FactorPtr(a, {c.get()}); }

// CSC copy of A (transpose = false) or of Aᵀ (transpose = true), in double. A CSR input is the
// CSC of its transpose, so one of the two is a plain copy and the other one cholmod transpose.
template <class Scalar>
SparsePtr to_cholmod(const SparseRef<Scalar>& a, bool transpose, CholmodCommon& c);

// A cholmod_dense header over column-major memory (not owned, not freed).
cholmod_dense view(double* data, Index rows, Index cols);
inline cholmod_dense view(Eigen::MatrixXd& m) { return view(m.data(), m.rows(), m.cols()); }

// Y = A X (transpose = false) or Y = Aᵀ X; X and Y column-major with k columns.
void multiply(cholmod_sparse* a, bool transpose, const double* x, double* y, Index k,
              CholmodCommon& c);

// Copies a cholmod_dense into Eigen.
Eigen::MatrixXd to_eigen(const cholmod_dense& d);

// SuiteSparse failed (a call returned null: out of memory, or an internal error). Thrown inside
// lib/ only: the solvers catch it and report LsqStatus::numerical_issue with its message.
struct CholmodError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
[[noreturn]] void cholmod_failure(const char* what, CholmodCommon& c);

// What QR and Cholesky return for the double solution `xd` of B = `bd`: X rounded to Scalar, the
// status by its finiteness, and the residual report of that X (lsq_common.hpp's fill_residuals,
// in double), with A x = `a`·x (Aᵀ x = `a`ᵀ·x) when `a_is_transpose` is false, the other way round
// when it is true.
template <class Scalar>
DenseMatrix<Scalar> returned_solution(LsqInfo& info, const Eigen::MatrixXd& xd,
                                      const Eigen::MatrixXd& bd, double damp, cholmod_sparse* a,
                                      bool a_is_transpose, CholmodCommon& c) {
  DenseMatrix<Scalar> x = xd.cast<Scalar>();
  info.status = x.allFinite() ? LsqStatus::success : LsqStatus::numerical_issue;
  // The report is about the X returned (for float: after rounding), computed in double.
  const Eigen::MatrixXd xr = x.template cast<double>();
  fill_residuals(
      info, bd.rows(), xr.rows(), bd.data(), xr.data(), bd.cols(), damp,
      [&](const double* in, double* out) { multiply(a, a_is_transpose, in, out, 1, c); },
      [&](const double* in, double* out) { multiply(a, !a_is_transpose, in, out, 1, c); });
  return x;
}

}  // namespace convmat::detail
