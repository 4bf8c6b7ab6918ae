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
#include "convmat/core/conv_matrix.hpp"

namespace convmat::python {

namespace {

template <class Scalar>
py::tuple layer_matrix_as(const ConvSpec& spec, const py::array& weight) {
  require_memory(spec, 0, sizeof(Scalar));
  const auto w = c_contiguous<Scalar>(weight);
  const Scalar* wp = w.data();
  if (!spec.is_transposed()) {
    const py::tuple shape = py::make_tuple(spec.output_numel(), spec.input_numel());
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
  EigenCsr<Scalar> transposed;
  {
    py::gil_scoped_release release;
    EigenCsr<Scalar> built = ConvMatrix<Scalar>(spec, wp).matrix();  // no copy: swapped
    transposed.swap(built);
  }
  return csr_arrays<Scalar>(transposed);
}

py::tuple layer_matrix(const ConvSpec& spec, const py::array& weight, const std::string& op) {
  const Dtype dtype = common_dtype(op, {{"weight", &weight}});
  require_shape(op, "weight", weight, spec.weight_shape(), spec);
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
