// Least squares for Python (lsq.hpp, deconvolve.hpp): lstsq on a scipy CSR matrix or on any
// Python operator (matvec / rmatvec callables), and deconvolve on a resolved layer.
//
// Right-hand sides and solutions cross as C-order (k, m) / (k, n) arrays — the memory of the
// column-major m × k block the C++ solvers take, one right-hand side per row on the Python side
// (solvers.py transposes). The GIL is released while C++ computes and taken back in the
// operator's callbacks.

#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "convmat/solve/deconvolve.hpp"
#include "convmat/solve/lsq.hpp"
#include "convmat/solve/solver_memory.hpp"
#include "fields.hpp"

namespace convmat::python {

namespace {

template <class Scalar>
using Block = Eigen::Map<const DenseMatrix<Scalar>>;

// rows_per_column × columns, column-major, from a C-order (columns, rows_per_column) array.
template <class Scalar>
Block<Scalar> block_of(const py::array_t<Scalar, py::array::c_style>& a, Index rows) {
  const Index columns = a.ndim() == 2 ? static_cast<Index>(a.shape(0)) : 0;
  return Block<Scalar>(a.data(), rows, columns);
}

// A Python object with matvec(x) → y and rmatvec(y) → x (scipy.sparse.linalg.LinearOperator or
// any duck type) as a C++ LinearOperator. Each product takes the GIL, hands NumPy a copy of the
// input vector and checks the output's size; a Python exception in the callback propagates.
template <class Scalar>
class PythonOperator final : public LinearOperator<Scalar> {
 public:
  PythonOperator(Index rows, Index cols, py::object matvec, py::object rmatvec)
      : rows_(rows), cols_(cols), matvec_(std::move(matvec)), rmatvec_(std::move(rmatvec)) {}
  Index rows() const override { return rows_; }
  Index cols() const override { return cols_; }
  void apply(const Scalar* x, Scalar* y) const override {
    call(matvec_, "matvec", x, cols_, y, rows_);
  }
  void apply_adjoint(const Scalar* y, Scalar* x) const override {
    call(rmatvec_, "rmatvec", y, rows_, x, cols_);
  }

 private:
  static void call(const py::object& f, const char* name, const Scalar* in, Index n_in, Scalar* out,
                   Index n_out) {
    py::gil_scoped_acquire gil;
    py::array_t<Scalar> arg(n_in);
    std::copy(in, in + n_in, arg.mutable_data());
    const py::object result = f(arg);
    const auto r = py::array_t<Scalar, py::array::c_style | py::array::forcecast>::ensure(result);
    if (!r) throw py::error_already_set();
    if (r.size() != n_out) {
      throw std::invalid_argument(std::string("lstsq: the operator's ") + name + " returned " +
                                  std::to_string(r.size()) + " entries, expected " +
                                  std::to_string(n_out));
    }
    std::copy(r.data(), r.data() + n_out, out);
  }

  Index rows_, cols_;
  py::object matvec_, rmatvec_;
};

// X (n × k, column-major) → a C-order (k, n) array.
template <class Scalar>
py::array solution_array(const DenseMatrix<Scalar>& x) {
  py::array_t<Scalar> out({static_cast<py::ssize_t>(x.cols()), static_cast<py::ssize_t>(x.rows())});
  std::copy(x.data(), x.data() + x.size(), out.mutable_data());
  return out;
}

template <class Scalar>
py::tuple result_tuple(const LsqResult<Scalar>& r) {
  return py::make_tuple(solution_array(r.x), to_dict(r.info));
}

// The bytes of k right-hand sides (rows each) and their solutions (cols each).
template <class Scalar>
long double solution_bytes(Index rows, Index cols, Index k) {
  return static_cast<long double>(sizeof(Scalar)) * static_cast<long double>(k) *
         static_cast<long double>(rows + cols);
}

// An Eigen CSR matrix's bytes: values, 32-bit column indices and row pointers.
template <class Matrix>
long double csr_bytes(const Matrix& a) {
  return static_cast<long double>(a.nonZeros()) * (sizeof(typename Matrix::Scalar) + sizeof(int)) +
         static_cast<long double>(a.rows() + 1) * sizeof(int);
}

void check_rhs(const py::array& b, Index rows) {
  if (b.ndim() != 2 || b.shape(1) != rows) {
    throw std::invalid_argument("lstsq: b must have A.shape[0] = " + std::to_string(rows) +
                                " rows, got shape " + dims_to_string(shape_of(b)) +
                                " (one right-hand side per row here)");
  }
}

py::tuple lstsq_matrix(const py::array& data, const py::array& indices, const py::array& indptr,
                       Index rows, Index cols, const py::array& b, const std::string& method,
                       const LsqOptions& options) {
  const Dtype dtype = common_dtype("lstsq", {{"A", &data}, {"b", &b}});
  const LsqMethod m = lsq_method_from_string(method);
  check_rhs(b, rows);
  return dispatch(dtype, [&](auto scalar) {
    using Scalar = decltype(scalar);
    const EigenCsr<Scalar> a = csr_from_arrays<Scalar>("lstsq", data, indices, indptr, rows, cols);
    const auto rhs = c_contiguous<Scalar>(b);
    // A's copy (above), b and the solution, and the solver's own (solver_memory.hpp).
    const auto k = static_cast<Index>(rhs.ndim() == 2 ? rhs.shape(0) : 0);
    require_solver_memory(memory_limit(), SparseRef<Scalar>(a), csr_bytes(a), m, options, k,
                          solution_bytes<Scalar>(rows, cols, k));
    LsqResult<Scalar> r;
    {
      py::gil_scoped_release release;
      r = lstsq(a, block_of(rhs, rows), m, options);
    }
    return result_tuple(r);
  });
}

py::tuple lstsq_operator(Index rows, Index cols, py::object matvec, py::object rmatvec,
                         const py::array& b, const std::string& method, const LsqOptions& options) {
  const Dtype dtype = common_dtype("lstsq", {{"b", &b}});
  const LsqMethod m = lsq_method_from_string(method);
  check_rhs(b, rows);
  return dispatch(dtype, [&](auto scalar) {
    using Scalar = decltype(scalar);
    const PythonOperator<Scalar> op(rows, cols, matvec, rmatvec);
    const auto rhs = c_contiguous<Scalar>(b);
    const auto k = static_cast<Index>(rhs.ndim() == 2 ? rhs.shape(0) : 0);
    require_solver_memory(memory_limit(), rows, cols, m, options, k,
                          solution_bytes<Scalar>(rows, cols, k));
    LsqResult<Scalar> r;
    {
      py::gil_scoped_release release;
      r = lstsq(static_cast<const LinearOperator<Scalar>&>(op), block_of(rhs, rows), m, options);
    }
    return result_tuple(r);
  });
}

// y: (batch, output_numel) C-order, the layer's outputs without bias.
py::tuple deconvolve_py(const ConvSpec& spec, const py::array& weight, const py::array& y,
                        const std::string& method, const LsqOptions& options) {
  const Dtype dtype = common_dtype("deconvolve", {{"output", &y}, {"weight", &weight}});
  const LsqMethod m = lsq_method_from_string(method);
  require_shape("deconvolve", "weight", weight, spec.weight_shape(), spec);
  if (y.ndim() != 2 || y.shape(1) != spec.output_numel()) {
    throw std::invalid_argument("deconvolve: output must hold the layer's output_numel = " +
                                std::to_string(spec.output_numel()) + " values per sample");
  }
  return dispatch(dtype, [&](auto scalar) {
    using Scalar = decltype(scalar);
    // W, the right-hand sides and the solutions, and the solver's own (solver_memory.hpp).
    const auto batch = static_cast<Index>(y.shape(0));
    require_solver_memory(memory_limit(), spec, sizeof(Scalar), m, options, batch,
                          solution_bytes<Scalar>(spec.output_numel(), spec.input_numel(), batch));
    const auto w = c_contiguous<Scalar>(weight);
    const auto rhs = c_contiguous<Scalar>(y);
    LsqResult<Scalar> r;
    {
      py::gil_scoped_release release;
      r = deconvolve(spec, w.data(), block_of(rhs, spec.output_numel()), m, options);
    }
    return result_tuple(r);
  });
}

}  // namespace

void bind_solvers(py::module_& m) {
  py::class_<LsqOptions>(m, "LsqOptions", "Least-squares options (C++ LsqOptions), validated.")
      .def(py::init([](double damp, double atol, double btol, double conlim, Index iteration_limit,
                       double qr_tolerance, const std::string& cholesky_form) {
             LsqOptions o;
             o.damp = damp;
             o.atol = atol;
             o.btol = btol;
             o.conlim = conlim;
             o.iteration_limit = iteration_limit;
             o.qr_tolerance = qr_tolerance;
             o.cholesky_form = cholesky_form_from_string(cholesky_form);
             validate(o);
             return o;
           }),
           py::kw_only(), py::arg("damp") = 0.0, py::arg("atol") = 1e-6, py::arg("btol") = 1e-6,
           py::arg("conlim") = 1e8, py::arg("iteration_limit") = 0, py::arg("qr_tolerance") = -1.0,
           py::arg("cholesky_form") = "automatic");
  m.def("lstsq_matrix", &lstsq_matrix, py::arg("data"), py::arg("indices"), py::arg("indptr"),
        py::arg("rows"), py::arg("cols"), py::arg("b"), py::arg("method"), py::arg("options"),
        "(X (k, n), info dict) for a CSR matrix and B given as (k, m): every method.");
  m.def("lstsq_operator", &lstsq_operator, py::arg("rows"), py::arg("cols"), py::arg("matvec"),
        py::arg("rmatvec"), py::arg("b"), py::arg("method"), py::arg("options"),
        "(X (k, n), info dict) for an operator given by Python callables: lsqr and lsmr.");
  m.def("deconvolve", &deconvolve_py, py::arg("spec"), py::arg("weight"), py::arg("output"),
        py::arg("method"), py::arg("options"),
        "(X (batch, input_numel), info dict): argmin ‖M x − y‖² + λ²‖x‖² for every sample.");
}

}  // namespace convmat::python
