// The transposed-versus-inverse analysis for Python (spectrum.hpp, pseudo_inverse.hpp,
// checkerboard.hpp): each C++ result struct becomes a dict, which convmat/analysis.py turns into
// a documented dataclass. Matrices arrive as scipy CSR arrays in float64 (analysis.py converts),
// layers as a resolved ConvSpec and a weight array.

#include <pybind11/eigen.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>

#include "arrays.hpp"
#include "bindings.hpp"
#include "convmat/analysis/checkerboard.hpp"
#include "convmat/analysis/dense_limit.hpp"
#include "convmat/analysis/pseudo_inverse.hpp"
#include "convmat/analysis/spectrum.hpp"
#include "convmat/analysis/spectrum_method.hpp"
#include "fields.hpp"

namespace convmat::python {

namespace {

// A scipy CSR matrix in float64, as analysis.py hands it over.
SparseMatrixd matrix_from(const std::string& op, const py::array& data, const py::array& indices,
                          const py::array& indptr, Index rows, Index cols) {
  if (!py::isinstance<py::array_t<double>>(data)) {
    throw py::type_error(op + ": the analysis computes in float64, got A of dtype " +
                         dtype_name(data));
  }
  return csr_from_arrays<double>(op, data, indices, indptr, rows, cols);
}

py::dict singular_values_py(const py::array& data, const py::array& indices,
                            const py::array& indptr, Index rows, Index cols,
                            std::optional<double> tolerance) {
  const SparseMatrixd a = matrix_from("singular_values", data, indices, indptr, rows, cols);
  SingularValues s;
  {
    py::gil_scoped_release release;
    s = singular_values(a, tolerance);
  }
  return to_dict(s);
}

PartialSpectrumOptions partial_options(Index count, Index subspace, Index max_iterations,
                                       double tolerance) {
  PartialSpectrumOptions o;
  o.count = count;
  o.subspace = subspace;
  o.max_iterations = max_iterations;
  o.tolerance = tolerance;
  return o;
}

py::dict partial_py(const std::string& op, bool largest, const py::array& data,
                    const py::array& indices, const py::array& indptr, Index rows, Index cols,
                    Index count, Index subspace, Index max_iterations, double tolerance) {
  const SparseMatrixd a = matrix_from(op, data, indices, indptr, rows, cols);
  const PartialSpectrumOptions options =
      partial_options(count, subspace, max_iterations, tolerance);
  PartialSingularValues s;
  {
    py::gil_scoped_release release;
    s = largest ? largest_singular_values(a, options) : smallest_singular_values(a, options);
  }
  return to_dict(s);
}

py::dict condition_py(const py::array& data, const py::array& indices, const py::array& indptr,
                      Index rows, Index cols, Index subspace, Index max_iterations,
                      double tolerance) {
  const SparseMatrixd a = matrix_from("condition_number", data, indices, indptr, rows, cols);
  ConditionEstimate c;
  {
    py::gil_scoped_release release;
    c = condition_number(a, partial_options(1, subspace, max_iterations, tolerance));
  }
  return to_dict(c);
}

Eigen::MatrixXd pseudo_inverse_py(const py::array& data, const py::array& indices,
                                  const py::array& indptr, Index rows, Index cols,
                                  std::optional<double> tolerance) {
  const SparseMatrixd a = matrix_from("pseudo_inverse", data, indices, indptr, rows, cols);
  py::gil_scoped_release release;
  return pseudo_inverse(a, tolerance);
}

py::dict transpose_versus_inverse_py(const py::array& data, const py::array& indices,
                                     const py::array& indptr, Index rows, Index cols,
                                     const Eigen::VectorXd& x, std::optional<double> rank_tolerance,
                                     std::optional<double> orthogonality_tolerance) {
  const SparseMatrixd a =
      matrix_from("transpose_versus_inverse", data, indices, indptr, rows, cols);
  TransposeVersusInverse r;
  {
    py::gil_scoped_release release;
    r = transpose_versus_inverse(a, x, rank_tolerance, orthogonality_tolerance);
  }
  return to_dict(r);
}

py::dict circular_py(const ConvSpec& spec, const py::array& weight) {
  const std::string op = "circular_singular_values";
  const Dtype dtype = common_dtype(op, {{"weight", &weight}});
  require_shape(op, "weight", weight, spec.weight_shape(), spec);
  const CircularSpectrum s = dispatch(dtype, [&](auto scalar) {
    using Scalar = decltype(scalar);
    const auto w = c_contiguous<Scalar>(weight);
    py::gil_scoped_release release;
    return circular_singular_values(spec, w.data());
  });
  return to_dict(s);
}

py::dict checkerboard_py(const ConvSpec& spec, const std::optional<py::array>& weight) {
  const std::string op = "checkerboard";
  Checkerboard c;
  if (weight) {
    const Dtype dtype = common_dtype(op, {{"weight", &*weight}});
    require_shape(op, "weight", *weight, spec.weight_shape(), spec);
    c = dispatch(dtype, [&](auto scalar) {
      using Scalar = decltype(scalar);
      const auto w = c_contiguous<Scalar>(*weight);
      py::gil_scoped_release release;
      return checkerboard(spec, w.data());
    });
  } else {
    py::gil_scoped_release release;
    c = checkerboard(spec);
  }
  return to_dict(c);
}

}  // namespace

void bind_analysis(py::module_& m) {
  m.attr("dense_entry_limit") = dense_entry_limit;
  m.def(
      "automatic_spectrum_method",
      [](Index rows, Index cols) { return to_string(automatic_spectrum_method(rows, cols)); },
      py::arg("rows"), py::arg("cols"),
      "'dense' when an m x n matrix fits the dense SVD (dense_entry_limit), else 'lanczos'.");
  m.def("singular_values", &singular_values_py, py::arg("data"), py::arg("indices"),
        py::arg("indptr"), py::arg("rows"), py::arg("cols"), py::arg("tolerance") = std::nullopt,
        "Every singular value of the CSR matrix (dense LAPACK SVD), rank, nullity, condition "
        "numbers: a dict of SingularValues' fields.");
  for (const bool largest : {true, false}) {
    const std::string name = largest ? "largest_singular_values" : "smallest_singular_values";
    m.def(
        name.c_str(),
        [largest, name](const py::array& data, const py::array& indices, const py::array& indptr,
                        Index rows, Index cols, Index count, Index subspace, Index max_iterations,
                        double tolerance) {
          return partial_py(name, largest, data, indices, indptr, rows, cols, count, subspace,
                            max_iterations, tolerance);
        },
        py::arg("data"), py::arg("indices"), py::arg("indptr"), py::arg("rows"), py::arg("cols"),
        py::arg("count"), py::arg("subspace"), py::arg("max_iterations"), py::arg("tolerance"),
        largest ? "The `count` largest singular values: Lanczos on the Gram matrix."
                : "The `count` smallest singular values: shift-invert Lanczos on the Gram matrix.");
  }
  m.def("condition_number", &condition_py, py::arg("data"), py::arg("indices"), py::arg("indptr"),
        py::arg("rows"), py::arg("cols"), py::arg("subspace"), py::arg("max_iterations"),
        py::arg("tolerance"), "σ_max/σ_min by Lanczos: a dict of ConditionEstimate's fields.");
  m.def("pseudo_inverse", &pseudo_inverse_py, py::arg("data"), py::arg("indices"),
        py::arg("indptr"), py::arg("rows"), py::arg("cols"), py::arg("tolerance") = std::nullopt,
        "A⁺ (dense, n × m) by the SVD, singular values <= tolerance treated as zero.");
  m.def("transpose_versus_inverse", &transpose_versus_inverse_py, py::arg("data"),
        py::arg("indices"), py::arg("indptr"), py::arg("rows"), py::arg("cols"), py::arg("x"),
        py::arg("rank_tolerance") = std::nullopt, py::arg("orthogonality_tolerance") = std::nullopt,
        "‖Aᵀ − A⁺‖/‖A⁺‖, the Gram fit and the reconstruction errors: a dict of "
        "TransposeVersusInverse's fields.");
  m.def("circular_singular_values", &circular_py, py::arg("spec"), py::arg("weight"),
        "Sedghi, Gupta & Long's FFT formula: {'values', 'by_frequency'}.");
  m.def("checkerboard", &checkerboard_py, py::arg("spec"), py::arg("weight") = std::nullopt,
        "Tap counts (and weight sums) per output position of a transposed layer: a dict of "
        "Checkerboard's fields, the per-position ones as arrays of the spatial shape.");
}

}  // namespace convmat::python
