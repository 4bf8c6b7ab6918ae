// The layer's matrix M (W for a convolution, Wᵀ for a transposed convolution) as the three CSR
// arrays scipy.sparse.csr_matrix((data, indices, indptr), shape) takes.
//
// Copies: for a convolution none — data and indices are views of the ConvMatrix's own arrays,
// which a capsule keeps alive (scipy narrows the int64 indptr, rows + 1 entries, to int32 when
// the indices fit). For a transposed convolution, M = Wᵀ is built once from W by a counting pass
// (CsrMatrix::to_eigen_transposed, int32 indices) and viewed the same way; W is then freed.

#include <pybind11/stl.h>

#include <memory>

#include "arrays.hpp"
#include "bindings.hpp"
#include "convmat/conv_matrix.hpp"

namespace convmat::python {

namespace {

template <class Scalar>
py::tuple layer_matrix_as(const ConvSpec& spec, const py::array& weight) {
  const auto w = c_contiguous<Scalar>(weight);
  const Scalar* wp = w.data();
  const py::tuple shape = py::make_tuple(spec.output_numel(), spec.input_numel());
  if (!spec.is_transposed()) {
    std::unique_ptr<ConvMatrix<Scalar>> m;
    {
      py::gil_scoped_release release;
      m = std::make_unique<ConvMatrix<Scalar>>(spec, wp);
    }
    const CsrMatrix<Scalar>& csr = m->stored();
    const py::capsule owner = capsule_owning(std::move(m));
    return py::make_tuple(view(csr.values(), csr.nnz(), owner),
                          view(csr.col_index(), csr.nnz(), owner),
                          view(csr.row_ptr(), csr.rows() + 1, owner), shape);
  }
  // Eigen 3.4's SparseMatrix has no move constructor: swap the result into its final place.
  using EigenMatrix = typename ConvMatrix<Scalar>::EigenMatrix;
  auto m = std::make_unique<EigenMatrix>();
  {
    py::gil_scoped_release release;
    EigenMatrix transposed = ConvMatrix<Scalar>(spec, wp).matrix();
    transposed.makeCompressed();
    m->swap(transposed);
  }
  const EigenMatrix& csr = *m;
  const py::capsule owner = capsule_owning(std::move(m));
  return py::make_tuple(view(csr.valuePtr(), csr.nonZeros(), owner),
                        view(csr.innerIndexPtr(), csr.nonZeros(), owner),
                        view(csr.outerIndexPtr(), csr.rows() + 1, owner), shape);
}

py::tuple layer_matrix(const ConvSpec& spec, const py::array& weight, const std::string& op) {
  const Dtype dtype = common_dtype(op, {{"weight", &weight}});
  if (shape_of(weight) != spec.weight_shape()) {
    throw std::invalid_argument(op + ": weight of shape " + dims_to_string(shape_of(weight)) +
                                " does not match the layer " + spec.to_string());
  }
  return dispatch(dtype,
                  [&](auto scalar) { return layer_matrix_as<decltype(scalar)>(spec, weight); });
}

}  // namespace

void bind_matrices(py::module_& m) {
  m.def("layer_matrix", &layer_matrix, py::arg("spec"), py::arg("weight"),
        py::arg("op") = "layer_matrix",
        "(data, indices, indptr, shape) of the layer's matrix M in CSR: W (output_numel × "
        "input_numel) for a convolution, Wᵀ for a transposed convolution; dtype = weight's.");
}

}  // namespace convmat::python
