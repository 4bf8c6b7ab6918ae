#include "convmat/solve/deconvolve.hpp"

#include <cmath>
#include <memory>

#include "convmat/analysis/dense_limit.hpp"
#include "convmat/solve/preconditioner.hpp"
#include "convmat/solve/regularization.hpp"
#include "lsq_common.hpp"
#include "spectral_gram.hpp"

namespace convmat {

namespace {

// Least squares on M (adjoint = false) or Mᵀ: the layer's damp rule and preconditioner resolved
// here, then the general lstsq.
template <class Scalar>
LsqResult<Scalar> solve_layer(const ConvMatrix<Scalar>& layer, bool adjoint,
                              const RhsRef<Scalar>& y, LsqMethod method, const LsqOptions& options,
                              const KrylovInputs<Scalar>& inputs) {
  const ConvOperator<Scalar> m(layer);
  const AdjointOperator<Scalar> mt(m);
  const LinearOperator<Scalar>& op = adjoint ? static_cast<const LinearOperator<Scalar>&>(mt) : m;
  const SparseRef<Scalar> a =
      adjoint ? SparseRef<Scalar>(layer).transposed() : SparseRef<Scalar>(layer);
  validate(options);
  detail::check_rhs<Scalar>(adjoint ? "deconvolve_adjoint" : "deconvolve", op.rows(), y);
  LsqOptions o = options;
  KrylovInputs<Scalar> in = inputs;
  const auto layer_preconditioner = [&](PreconditionerKind kind, double damp) {
    LayerPreconditionerOptions po;
    po.kind = kind;
    po.damp = damp;
    po.adjoint = adjoint;
    return std::make_shared<LayerPreconditioner<Scalar>>(layer.spec(), layer.weight(), po);
  };
  if (o.damp_rule == DampRule::gcv) {
    if (static_cast<double>(op.rows()) * static_cast<double>(op.cols()) <=
        static_cast<double>(dense_entry_limit)) {
      o.damp = gcv_damp(a, y);
    } else {
      o.damp = gcv_damp(*layer_preconditioner(PreconditionerKind::automatic, 0.0), op, y);
    }
    o.damp_rule = DampRule::given;
  }
  const bool iterative = method == LsqMethod::lsqr || method == LsqMethod::lsmr;
  if (iterative && !in.preconditioner && o.preconditioner != PreconditionerKind::none) {
    auto p = layer_preconditioner(o.preconditioner, o.damp);
    double delta = o.preconditioner_delta;
    if (delta < 0) {
      delta = o.noise_level > 0 ? discrepancy_damp(*p, op, y, o.noise_level, o.discrepancy_factor)
                                : 0.0;
      // b below the noise level: x = 0 is the answer; keep δ finite (S ≈ I/δ).
      if (!std::isfinite(delta)) delta = 1e8 * std::sqrt(p->gram().max_eigenvalue());
    }
    if (delta > 0) p->set_delta(delta);
    in.preconditioner = p;
  }
  // Built (or supplied) here; for QR and Cholesky `automatic` means none, and lstsq refuses the
  // explicit kinds.
  if (in.preconditioner || o.preconditioner == PreconditionerKind::automatic) {
    o.preconditioner = PreconditionerKind::none;
  }
  LsqResult<Scalar> r = lstsq(a, op, y, method, o, in);
  return r;
}

}  // namespace

template <class Scalar>
LsqResult<Scalar> deconvolve(const ConvMatrix<Scalar>& layer, const RhsRef<Scalar>& y,
                             LsqMethod method, const LsqOptions& options,
                             const KrylovInputs<Scalar>& inputs) {
  return solve_layer(layer, false, y, method, options, inputs);
}

template <class Scalar>
LsqResult<Scalar> deconvolve_adjoint(const ConvMatrix<Scalar>& layer, const RhsRef<Scalar>& g,
                                     LsqMethod method, const LsqOptions& options,
                                     const KrylovInputs<Scalar>& inputs) {
  return solve_layer(layer, true, g, method, options, inputs);
}

template <class Scalar>
LsqResult<Scalar> lstsq(const ConvMatrix<Scalar>& a, const RhsRef<Scalar>& b, LsqMethod method,
                        const LsqOptions& options, const KrylovInputs<Scalar>& inputs) {
  return solve_layer(a, false, b, method, options, inputs);
}

template LsqResult<float> deconvolve<float>(const ConvMatrix<float>&, const RhsRef<float>&,
                                            LsqMethod, const LsqOptions&,
                                            const KrylovInputs<float>&);
template LsqResult<double> deconvolve<double>(const ConvMatrix<double>&, const RhsRef<double>&,
                                              LsqMethod, const LsqOptions&,
                                              const KrylovInputs<double>&);
template LsqResult<float> deconvolve_adjoint<float>(const ConvMatrix<float>&, const RhsRef<float>&,
                                                    LsqMethod, const LsqOptions&,
                                                    const KrylovInputs<float>&);
template LsqResult<double> deconvolve_adjoint<double>(const ConvMatrix<double>&,
                                                      const RhsRef<double>&, LsqMethod,
                                                      const LsqOptions&,
                                                      const KrylovInputs<double>&);
template LsqResult<float> lstsq<float>(const ConvMatrix<float>&, const RhsRef<float>&, LsqMethod,
                                       const LsqOptions&, const KrylovInputs<float>&);
template LsqResult<double> lstsq<double>(const ConvMatrix<double>&, const RhsRef<double>&,
                                         LsqMethod, const LsqOptions&, const KrylovInputs<double>&);

}  // namespace convmat
