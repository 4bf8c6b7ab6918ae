#include "convmat/solve/deconvolve.hpp"

namespace convmat {

template <class Scalar>
LsqResult<Scalar> deconvolve(const ConvMatrix<Scalar>& layer, const RhsRef<Scalar>& y,
                             LsqMethod method, const LsqOptions& options) {
  return lstsq(SparseRef<Scalar>(layer), ConvOperator<Scalar>(layer), y, method, options);
}

template <class Scalar>
LsqResult<Scalar> deconvolve_adjoint(const ConvMatrix<Scalar>& layer, const RhsRef<Scalar>& g,
                                     LsqMethod method, const LsqOptions& options) {
  const ConvOperator<Scalar> m(layer);
  return lstsq(SparseRef<Scalar>(layer).transposed(), AdjointOperator<Scalar>(m), g, method,
               options);
}

template LsqResult<float> deconvolve<float>(const ConvMatrix<float>&, const RhsRef<float>&,
                                            LsqMethod, const LsqOptions&);
template LsqResult<double> deconvolve<double>(const ConvMatrix<double>&, const RhsRef<double>&,
                                              LsqMethod, const LsqOptions&);
template LsqResult<float> deconvolve_adjoint<float>(const ConvMatrix<float>&, const RhsRef<float>&,
                                                    LsqMethod, const LsqOptions&);
template LsqResult<double> deconvolve_adjoint<double>(const ConvMatrix<double>&,
                                                      const RhsRef<double>&, LsqMethod,
                                                      const LsqOptions&);

}  // namespace convmat
