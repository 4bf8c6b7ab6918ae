#include "convmat/solve/lsq.hpp"

#include <stdexcept>
#include <string>

#include "lsq_common.hpp"

namespace convmat {

namespace {

// Solves with a factorizing solver, or reports why its factorization did not succeed.
template <class Scalar, class Solver>
LsqResult<Scalar> run(Solver&& solver, const RhsRef<Scalar>& b) {
  LsqResult<Scalar> result;
  if (solver.info() == LsqStatus::success) {
    result.x = solver.solve(b);
  } else {  // the factorization already failed or was cancelled: report that
    result.x = DenseMatrix<Scalar>::Zero(solver.cols(), b.cols());
  }
  result.info = solver.report();
  return result;
}

}  // namespace

template <class Scalar>
LsqResult<Scalar> lstsq(SparseRef<Scalar> a, const LinearOperator<Scalar>& op,
                        const RhsRef<Scalar>& b, LsqMethod method, const LsqOptions& options) {
  if (op.rows() != a.rows() || op.cols() != a.cols()) {
    throw std::invalid_argument("lstsq: the matrix (" + std::to_string(a.rows()) + "x" +
                                std::to_string(a.cols()) + ") and the operator (" +
                                std::to_string(op.rows()) + "x" + std::to_string(op.cols()) +
                                ") must have the same shape");
  }
  validate(options);
  detail::check_rhs<Scalar>("lstsq", a.rows(), b);  // before any factorization
  switch (method) {
    case LsqMethod::qr: return run<Scalar>(QrSolver<Scalar>(a, options), b);
    case LsqMethod::cholesky: return run<Scalar>(CholeskySolver<Scalar>(a, options), b);
    case LsqMethod::lsqr:
    case LsqMethod::lsmr:
      detail::check_matrix("lstsq", a);  // as QR and Cholesky do: NaN in A is an input error
      return lstsq(op, b, method, options);
  }
  return {};
}

template <class Scalar>
LsqResult<Scalar> lstsq(const LinearOperator<Scalar>& a, const RhsRef<Scalar>& b, LsqMethod method,
                        const LsqOptions& options) {
  LsqResult<Scalar> result;
  if (method == LsqMethod::lsqr) {
    LsqrSolver<Scalar> solver(a, options);
    result.x = solver.solve(b);
    result.info = solver.report();
  } else if (method == LsqMethod::lsmr) {
    LsmrSolver<Scalar> solver(a, options);
    result.x = solver.solve(b);
    result.info = solver.report();
  } else {
    throw std::invalid_argument("lstsq: method " + to_string(method) +
                                " needs the matrix's entries; a LinearOperator supports lsqr "
                                "and lsmr only");
  }
  return result;
}

template LsqResult<float> lstsq<float>(SparseRef<float>, const LinearOperator<float>&,
                                       const RhsRef<float>&, LsqMethod, const LsqOptions&);
template LsqResult<double> lstsq<double>(SparseRef<double>, const LinearOperator<double>&,
                                         const RhsRef<double>&, LsqMethod, const LsqOptions&);
template LsqResult<float> lstsq<float>(const LinearOperator<float>&, const RhsRef<float>&,
                                       LsqMethod, const LsqOptions&);
template LsqResult<double> lstsq<double>(const LinearOperator<double>&, const RhsRef<double>&,
                                         LsqMethod, const LsqOptions&);

}  // namespace convmat
