// convmat.Layer's core: a layer's W built once and kept in convmat's own storage (ConvMatrix),
// with its products on NumPy blocks — no copy of W, no GIL while C++ computes — its CSR export,
// new weights, and least squares on the held W (deconvolve.hpp, with the layer's
// preconditioners).
//
// Blocks cross as C-order (k, n) arrays: k samples of n values, the memory of ConvMatrix's
// batches.

#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <variant>

#include "arrays.hpp"
#include "bindings.hpp"
#include "convmat/core/conv_matrix.hpp"
#include "convmat/core/layer_args.hpp"
#include "convmat/solve/deconvolve.hpp"

namespace convmat::python {

// solvers.cpp
py::tuple lstsq_result(const LsqResult<float>& r);
py::tuple lstsq_result(const LsqResult<double>& r);
template <class Scalar>
KrylovInputs<Scalar> krylov_inputs(const std::optional<py::array>& x0, Index cols, Index k,
                                   const std::optional<py::tuple>& preconditioner);

namespace {

class Layer {
 public:
  // storage: "automatic" (channel-blocked where a block of channels fits, conv_matrix.hpp),
  // "csr" or "channel_blocked".
  Layer(const ConvSpec& spec, const py::array& weight, const std::string& storage) : spec_(spec) {
    const ConvStorage requested = conv_storage_from_string(storage);
    dtype_ = common_dtype("Layer", {{"weight", &weight}});
    require_shape("Layer", "weight", weight, spec.weight_shape(), spec);
    dispatch(dtype_, [&](auto scalar) {
      using Scalar = decltype(scalar);
      require_memory(spec, 0, sizeof(Scalar), requested);
      const auto w = c_contiguous<Scalar>(weight);
      const Scalar* wp = w.data();
      py::gil_scoped_release release;
      m_ = std::make_unique<ConvMatrix<Scalar>>(spec, wp, requested);
    });
  }

  const ConvSpec& spec() const { return spec_; }
  std::string dtype() const { return dtype_ == Dtype::float32 ? "float32" : "float64"; }
  Index nnz() const {
    return std::visit([](const auto& m) { return m->nnz(); }, m_);
  }
  std::size_t memory_bytes() const {
    return std::visit([](const auto& m) { return m->memory_bytes(); }, m_);
  }
  std::string storage() const {
    return std::visit([](const auto& m) { return to_string(m->storage()); }, m_);
  }

  // The stored W with its rows in channels-last order, (position, channel), as the arrays
  // scipy.sparse.bsr_matrix((data, indices, indptr), shape, blocksize=(B, 1)) takes: data
  // (blocks, B, 1), indices and indptr int32 / int64, then the shape, B and the row order (int64:
  // W's row of each BSR row) (ChannelBlockedMatrix::to_bsr_channels_last).
  // Channel-blocked storage only.
  py::tuple bsr_channels_last() const {
    return std::visit(
        [&](const auto& m) -> py::tuple {
          using Scalar = typename std::decay_t<decltype(*m)>::Vector::Scalar;
          if (m->blocked() == nullptr) {
            throw std::invalid_argument(
                "Layer.bsr_matrix: the layer holds W in CSR (storage 'csr': " +
                std::to_string(m->spec().is_transposed() ? m->spec().in_channels()
                                                         : m->spec().out_channels()) +
                " row channels in " + std::to_string(m->spec().groups()) +
                " group(s) take no channel block); build it with storage='channel_blocked'");
          }
          typename ChannelBlockedMatrix<Scalar>::Bsr b;
          {
            py::gil_scoped_release release;
            b = m->blocked()->to_bsr_channels_last();
          }
          const auto blocks = static_cast<py::ssize_t>(b.indices.size());
          py::array_t<Scalar> data({blocks, static_cast<py::ssize_t>(b.block), py::ssize_t{1}});
          std::copy(b.data.begin(), b.data.end(), data.mutable_data());
          py::array_t<std::int32_t> indices(blocks);
          std::copy(b.indices.begin(), b.indices.end(), indices.mutable_data());
          py::array_t<std::int64_t> indptr(static_cast<py::ssize_t>(b.indptr.size()));
          std::copy(b.indptr.begin(), b.indptr.end(), indptr.mutable_data());
          py::array_t<std::int64_t> row(static_cast<py::ssize_t>(b.row.size()));
          std::copy(b.row.begin(), b.row.end(), row.mutable_data());
          return py::make_tuple(data, indices, indptr,
                                py::make_tuple(b.block_rows * b.block, b.cols), b.block, row);
        },
        m_);
  }

  // y (k, rows) = M x for x (k, cols); adjoint: x (k, cols) = Mᵀ y for y (k, rows); bias: one
  // value per output channel (forward only).
  py::array product(const py::array& in, bool adjoint, const std::optional<py::array>& bias,
                    const char* what) const {
    const Index n_in = adjoint ? spec_.output_numel() : spec_.input_numel();
    const Index n_out = adjoint ? spec_.input_numel() : spec_.output_numel();
    const Dtype d = common_dtype(what, {{"x", &in}, {"bias", bias ? &*bias : nullptr}});
    if (d != dtype_) {
      throw py::type_error(std::string(what) + ": the array has dtype " + dtype_name(in) +
                           " but the layer's weight is " + dtype() +
                           "; they must have the same dtype");
    }
    if (in.ndim() != 2 || in.shape(1) != n_in) {
      throw std::invalid_argument(std::string(what) + ": expected a block of samples of " +
                                  std::to_string(n_in) + " values each, got shape " +
                                  dims_to_string(shape_of(in)));
    }
    if (bias) check_bias(spec_, shape_of(*bias));
    const Index k = in.shape(0);
    return std::visit(
        [&](const auto& m) -> py::array {
          using Scalar = typename std::decay_t<decltype(*m)>::Vector::Scalar;
          const auto x = c_contiguous<Scalar>(in);
          std::optional<py::array_t<Scalar, py::array::c_style>> b;
          if (bias) b = c_contiguous<Scalar>(*bias);
          py::array_t<Scalar> out({static_cast<py::ssize_t>(k), static_cast<py::ssize_t>(n_out)});
          const Scalar* xp = x.data();
          const Scalar* bp = b ? b->data() : nullptr;
          Scalar* yp = out.mutable_data();
          if (k > 0) {
            py::gil_scoped_release release;
            if (adjoint) {
              m->apply_adjoint(xp, yp, k);
            } else {
              m->forward(xp, bp, yp, k);
            }
          }
          return out;
        },
        m_);
  }

  void refill(const py::array& weight) {
    const Dtype d = common_dtype("Layer.refill", {{"weight", &weight}});
    if (d != dtype_) {
      throw py::type_error("Layer.refill: weight has dtype " + dtype_name(weight) +
                           " but the layer holds " + dtype() + " values");
    }
    require_shape("Layer.refill", "weight", weight, spec_.weight_shape(), spec_);
    std::visit(
        [&](auto& m) {
          using Scalar = typename std::decay_t<decltype(*m)>::Vector::Scalar;
          const auto w = c_contiguous<Scalar>(weight);
          const Scalar* wp = w.data();
          py::gil_scoped_release release;
          m->refill(wp);
        },
        m_);
  }

  // M in CSR (a copy in Eigen's 32-bit indices, handed to scipy without a further copy).
  py::tuple matrix() const {
    return std::visit(
        [&](const auto& m) -> py::tuple {
          using Scalar = typename std::decay_t<decltype(*m)>::Vector::Scalar;
          EigenCsr<Scalar> csr;
          {
            py::gil_scoped_release release;
            EigenCsr<Scalar> built = m->matrix();
            csr.swap(built);
          }
          return csr_arrays<Scalar>(csr);
        },
        m_);
  }

  // (X (k, cols), info dict) for B (k, rows): least squares on the held W.
  py::tuple lstsq(const py::array& b, const std::string& method, const LsqOptions& options,
                  const std::optional<py::array>& x0,
                  const std::optional<py::tuple>& preconditioner) const {
    const Dtype d = common_dtype("lstsq", {{"b", &b}, {"x0", x0 ? &*x0 : nullptr}});
    if (d != dtype_) {
      throw py::type_error("lstsq: b has dtype " + dtype_name(b) + " but the layer holds " +
                           dtype() + " values; they must have the same dtype");
    }
    if (b.ndim() != 2 || b.shape(1) != spec_.output_numel()) {
      throw std::invalid_argument(
          "lstsq: b must have A.shape[0] = " + std::to_string(spec_.output_numel()) +
          " rows, got shape " + dims_to_string(shape_of(b)) +
          " (one right-hand side per row here)");
    }
    const LsqMethod lm = lsq_method_from_string(method);
    return std::visit(
        [&](const auto& m) -> py::tuple {
          using Scalar = typename std::decay_t<decltype(*m)>::Vector::Scalar;
          const auto rhs = c_contiguous<Scalar>(b);
          const KrylovInputs<Scalar> in =
              krylov_inputs<Scalar>(x0, spec_.input_numel(), b.shape(0), preconditioner);
          const Eigen::Map<const DenseMatrix<Scalar>> block(rhs.data(), spec_.output_numel(),
                                                            b.shape(0));
          LsqResult<Scalar> r;
          {
            py::gil_scoped_release release;
            r = deconvolve(*m, block, lm, options, in);
          }
          return lstsq_result(r);
        },
        m_);
  }

 private:
  ConvSpec spec_;
  Dtype dtype_ = Dtype::float64;
  std::variant<std::unique_ptr<ConvMatrix<float>>, std::unique_ptr<ConvMatrix<double>>> m_;
};

}  // namespace

void bind_layer(py::module_& m) {
  py::class_<Layer>(m, "Layer",
                    "A layer's W held in convmat's storage (use convmat.Layer, the Python "
                    "class around it).")
      .def(py::init<const ConvSpec&, const py::array&, const std::string&>(), py::arg("spec"),
           py::arg("weight"), py::arg("storage") = "automatic")
      .def_property_readonly("storage", &Layer::storage)
      .def("bsr_channels_last", &Layer::bsr_channels_last,
           "(data, indices, indptr, shape, block) of W with channels-last rows, for "
           "scipy.sparse.bsr_matrix")
      .def_property_readonly("spec", &Layer::spec)
      .def_property_readonly("dtype", &Layer::dtype)
      .def_property_readonly("nnz", &Layer::nnz)
      .def_property_readonly("memory_bytes", &Layer::memory_bytes)
      .def(
          "apply",
          [](const Layer& l, const py::array& x, const std::optional<py::array>& bias) {
            return l.product(x, false, bias, "Layer.forward");
          },
          py::arg("x"), py::arg("bias") = std::nullopt,
          "(k, rows) = M x (+ bias per output channel) for x (k, cols)")
      .def(
          "apply_adjoint",
          [](const Layer& l, const py::array& y) {
            return l.product(y, true, std::nullopt, "Layer.apply_adjoint");
          },
          py::arg("y"), "(k, cols) = Mᵀ y for y (k, rows)")
      .def("refill", &Layer::refill, py::arg("weight"))
      .def("matrix", &Layer::matrix, "(data, indices, indptr, shape) of M in CSR")
      .def("lstsq", &Layer::lstsq, py::arg("b"), py::arg("method"), py::arg("options"),
           py::arg("x0") = std::nullopt, py::arg("preconditioner") = std::nullopt);
}

}  // namespace convmat::python
