#include "convmat/solve/lsq.hpp"

#include <stdexcept>
#include <string>

#include "convmat/solve/regularization.hpp"
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

bool iterative(LsqMethod m) { return m == LsqMethod::lsqr || m == LsqMethod::lsmr; }

// What only LSQR/LSMR take, refused for QR and Cholesky; layer preconditioners without a layer.
template <class Scalar>
void check_inputs(LsqMethod method, const LsqOptions& o, const KrylovInputs<Scalar>& in) {
  const bool layer_kind = o.preconditioner == PreconditionerKind::dct ||
                          o.preconditioner == PreconditionerKind::circulant;
  if (!iterative(method)) {
    const char* what = in.x0.size() != 0                 ? "a starting vector x0"
                       : in.preconditioner || layer_kind ? "a preconditioner"
                       : o.noise_level > 0               ? "a noise level (the discrepancy "
                                                           "principle stops an iteration)"
                                                         : nullptr;
    if (what) {
      throw std::invalid_argument("lstsq: " + std::string(what) +
                                  " is for the iterative methods "
                                  "lsqr and lsmr, got method " +
                                  to_string(method));
    }
  } else if (layer_kind && !in.preconditioner) {
    throw std::invalid_argument("lstsq: the preconditioner '" + to_string(o.preconditioner) +
                                "' is built from a layer's spec and weight: use lstsq on a "
                                "ConvMatrix or deconvolve (or pass a preconditioner operator)");
  }
}

}  // namespace

template <class Scalar>
LsqResult<Scalar> lstsq(SparseRef<Scalar> a, const LinearOperator<Scalar>& op,
                        const RhsRef<Scalar>& b, LsqMethod method, const LsqOptions& options,
                        const KrylovInputs<Scalar>& inputs) {
  if (op.rows() != a.rows() || op.cols() != a.cols()) {
    throw std::invalid_argument("lstsq: the matrix (" + std::to_string(a.rows()) + "x" +
                                std::to_string(a.cols()) + ") and the operator (" +
                                std::to_string(op.rows()) + "x" + std::to_string(op.cols()) +
                                ") must have the same shape");
  }
  validate(options);
  detail::check_rhs<Scalar>("lstsq", a.rows(), b);  // before any factorization
  check_inputs(method, options, inputs);
  LsqOptions o = options;
  if (o.damp_rule == DampRule::gcv) {
    o.damp = gcv_damp(a, b);  // the direct problem's exact GCV (dense limit)
    o.damp_rule = DampRule::given;
  }
  LsqResult<Scalar> r;
  switch (method) {
    case LsqMethod::qr: r = run<Scalar>(QrSolver<Scalar>(a, o), b); break;
    case LsqMethod::cholesky: r = run<Scalar>(CholeskySolver<Scalar>(a, o), b); break;
    case LsqMethod::lsqr:
    case LsqMethod::lsmr:
      detail::check_matrix("lstsq", a);  // as QR and Cholesky do: NaN in A is an input error
      r = lstsq(op, b, method, o, inputs);
      break;
  }
  r.info.damp = o.damp;
  return r;
}

template <class Scalar>
LsqResult<Scalar> lstsq(const LinearOperator<Scalar>& a, const RhsRef<Scalar>& b, LsqMethod method,
                        const LsqOptions& options, const KrylovInputs<Scalar>& inputs) {
  if (!iterative(method)) {
    throw std::invalid_argument("lstsq: method " + to_string(method) +
                                " needs the matrix's entries; a LinearOperator supports lsqr "
                                "and lsmr only");
  }
  validate(options);
  check_inputs(method, options, inputs);
  if (options.damp_rule == DampRule::gcv) {
    throw std::invalid_argument(
        "lstsq: damp_rule gcv needs the matrix's entries (the direct "
        "problem's SVD) or a layer; an operator has neither");
  }
  LsqResult<Scalar> result;
  const auto solve = [&](auto&& solver) {
    solver.set_preconditioner(inputs.preconditioner);
    result.x = inputs.x0.size() != 0 ? solver.solve(b, inputs.x0) : solver.solve(b);
    result.info = solver.report();
  };
  if (method == LsqMethod::lsqr) {
    solve(LsqrSolver<Scalar>(a, options));
  } else {
    solve(LsmrSolver<Scalar>(a, options));
  }
  result.info.damp = options.damp;
  return result;
}

template LsqResult<float> lstsq<float>(SparseRef<float>, const LinearOperator<float>&,
                                       const RhsRef<float>&, LsqMethod, const LsqOptions&,
                                       const KrylovInputs<float>&);
template LsqResult<double> lstsq<double>(SparseRef<double>, const LinearOperator<double>&,
                                         const RhsRef<double>&, LsqMethod, const LsqOptions&,
                                         const KrylovInputs<double>&);
template LsqResult<float> lstsq<float>(const LinearOperator<float>&, const RhsRef<float>&,
                                       LsqMethod, const LsqOptions&, const KrylovInputs<float>&);
template LsqResult<double> lstsq<double>(const LinearOperator<double>&, const RhsRef<double>&,
                                         LsqMethod, const LsqOptions&, const KrylovInputs<double>&);

}  // namespace convmat
