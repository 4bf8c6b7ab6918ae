// The identities as explicit matrices for Python (identities.hpp, upsampling.hpp,
// kernel_matrix.hpp): "transposed convolution is a convolution" (Z, P, C), PyTorch's interpolate
// as a matrix U, and the kernel-side matrix A(x). Matrices leave as scipy CSR arrays owned by the
// C++ matrix (csr_arrays: no copy); layers arrive as a resolved ConvSpec (convmat/_layers.py).

#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "convmat/analysis/kernel_matrix.hpp"
#include "convmat/analysis/transposed_factorization.hpp"
#include "convmat/analysis/upsampling.hpp"
#include "convmat/core/conv_matrix.hpp"
#include "convmat/core/layer_args.hpp"
#include "fields.hpp"

namespace convmat::python {

namespace {

// A(x) has as many nonzeros as W per sample: W's estimate plus batch − 1 more copies of it.
void require_kernel_matrix_memory(const ConvSpec& spec, Index batch, std::size_t value_bytes) {
  const std::size_t w = conv_matrix_bytes(spec, value_bytes);
  std::size_t more = 0;
  if (__builtin_mul_overflow(w, static_cast<std::size_t>(std::max<Index>(batch, 1) - 1), &more)) {
    more = static_cast<std::size_t>(-1);
  }
  require_memory(spec, more, value_bytes);
}

}  // namespace

namespace {

Dtype dtype_from_name(const std::string& op, const std::string& name) {
  if (name == "float32") return Dtype::float32;
  if (name == "float64") return Dtype::float64;
  throw py::type_error(op + ": dtype must be float32 or float64, got " + name);
}

py::dict transposed_as_convolution_py(const ConvSpec& spec, const py::array& weight) {
  const std::string op = "transposed_as_convolution";
  const Dtype dtype = common_dtype(op, {{"weight", &weight}});
  require_shape(op, "weight", weight, spec.weight_shape(), spec);
  return dispatch(dtype, [&](auto scalar) {
    using Scalar = decltype(scalar);
    require_memory(spec, 0, sizeof(Scalar));  // C, P and Z: about W's size in all
    const auto w = c_contiguous<Scalar>(weight);
    std::optional<TransposedAsConvolution<Scalar>> t;
    {
      py::gil_scoped_release release;
      t.emplace(transposed_as_convolution(spec, w.data()));
    }
    py::dict d;
    d["convolution_spec"] = t->convolution_spec;
    d["weight"] = array_from(std::move(t->convolution_weight), t->convolution_spec.weight_shape());
    d["zero_insertion"] = csr_arrays<Scalar>(t->zero_insertion);
    d["padding"] = csr_arrays<Scalar>(t->padding);
    d["convolution"] = csr_arrays<Scalar>(t->convolution);
    return d;
  });
}

UpsamplingSpec upsampling_spec(Index channels, const Dims& input_size, const Dims& size,
                               const std::vector<double>& scale_factor, const std::string& mode,
                               bool align_corners, bool recompute_scale_factor) {
  UpsamplingParams p;
  p.channels = channels;
  p.input_size = input_size;
  p.output_size = size;
  p.scale_factor = scale_factor;
  p.mode = interpolation_from_string(mode, static_cast<int>(input_size.size()));
  p.align_corners = align_corners;
  p.recompute_scale_factor = recompute_scale_factor;
  return UpsamplingSpec(p);
}

py::tuple upsampling_matrix_py(Index channels, const Dims& input_size, const Dims& size,
                               const std::vector<double>& scale_factor, const std::string& mode,
                               bool align_corners, bool recompute_scale_factor,
                               const std::string& dtype_name) {
  const Dtype dtype = dtype_from_name("upsampling_matrix", dtype_name);
  const UpsamplingSpec spec = upsampling_spec(channels, input_size, size, scale_factor, mode,
                                              align_corners, recompute_scale_factor);
  py::tuple output_size(spec.output_size().size());
  for (std::size_t a = 0; a < spec.output_size().size(); ++a) {
    output_size[a] = py::int_(spec.output_size()[a]);
  }
  py::tuple csr = dispatch(dtype, [&](auto scalar) {
    using Scalar = decltype(scalar);
    EigenCsr<Scalar> u;
    {
      py::gil_scoped_release release;
      EigenCsr<Scalar> built = upsampling_matrix<Scalar>(spec);
      u.swap(built);
    }
    return csr_arrays<Scalar>(u);
  });
  return py::make_tuple(csr, output_size, spec.to_string());
}

py::array bilinear_kernel_py(Index channels, int rank, const std::string& dtype_name) {
  const Dtype dtype = dtype_from_name("bilinear_kernel", dtype_name);
  if (channels < 1) {
    throw std::invalid_argument("bilinear_kernel: channels must be >= 1, got " +
                                std::to_string(channels));
  }
  if (rank < 1 || rank > 3) {
    throw std::invalid_argument("bilinear_kernel: rank must be 1, 2 or 3, got " +
                                std::to_string(rank));
  }
  Dims shape{channels, 1};
  shape.resize(2 + static_cast<std::size_t>(rank), 4);
  return dispatch(dtype, [&](auto scalar) {
    using Scalar = decltype(scalar);
    return array_from(bilinear_kernel<Scalar>(channels, rank), shape);
  });
}

// The layer's input: (batch, C_in, *n), or unbatched (C_in, *n) with batch 1.
void check_input(const std::string& op, const py::array& x, const ConvSpec& spec, bool batched,
                 Index batch) {
  require_shape(op, "input", x, batched_shape(spec.input_shape(), batch, batched), spec);
}

py::tuple kernel_matrix_py(const ConvSpec& spec, const py::array& input, bool batched,
                           Index batch) {
  const std::string op = "kernel_matrix";
  const Dtype dtype = common_dtype(op, {{"input", &input}});
  check_input(op, input, spec, batched, batch);
  return dispatch(dtype, [&](auto scalar) {
    using Scalar = decltype(scalar);
    require_kernel_matrix_memory(spec, batch, sizeof(Scalar));
    const auto x = c_contiguous<Scalar>(input);
    EigenCsr<Scalar> a;
    {
      py::gil_scoped_release release;
      EigenCsr<Scalar> built = kernel_matrix(spec, x.data(), batch);
      a.swap(built);
    }
    return csr_arrays<Scalar>(a);
  });
}

py::dict estimate_kernel_py(const ConvSpec& spec, const py::array& input, const py::array& output,
                            bool batched, Index batch) {
  const std::string op = "estimate_kernel";
  const Dtype dtype = common_dtype(op, {{"input", &input}, {"output", &output}});
  check_input(op, input, spec, batched, batch);
  require_shape(op, "output", output, batched_shape(spec.output_shape(), batch, batched), spec);
  const KernelEstimate e = dispatch(dtype, [&](auto scalar) {
    using Scalar = decltype(scalar);
    require_kernel_matrix_memory(spec, batch, sizeof(Scalar));
    const auto x = c_contiguous<Scalar>(input);
    const auto y = c_contiguous<Scalar>(output);
    py::gil_scoped_release release;
    return estimate_kernel(spec, x.data(), y.data(), batch);
  });
  py::dict d = to_dict(e);
  d["weight"] = d["weight"].attr("reshape")(py::tuple(py::cast(spec.weight_shape())));
  return d;
}

}  // namespace

void bind_identities(py::module_& m) {
  m.def("transposed_as_convolution", &transposed_as_convolution_py, py::arg("spec"),
        py::arg("weight"),
        "The factors M_T = C·P·Z of a transposed layer: {'convolution_spec', 'weight' (C's, "
        "flipped), 'zero_insertion', 'padding', 'convolution'} with CSR tuples.");
  m.def("upsampling_matrix", &upsampling_matrix_py, py::arg("channels"), py::arg("input_size"),
        py::arg("size"), py::arg("scale_factor"), py::arg("mode"), py::arg("align_corners"),
        py::arg("recompute_scale_factor"), py::arg("dtype"),
        "(CSR tuple of U, output_size, description) for F.interpolate's arguments (an empty "
        "size or scale_factor is absent).");
  m.def("bilinear_kernel", &bilinear_kernel_py, py::arg("channels"), py::arg("rank"),
        py::arg("dtype"), "The bilinear ×2 transposed-convolution weight (C, 1, 4, …).");
  m.def("kernel_matrix", &kernel_matrix_py, py::arg("spec"), py::arg("input"), py::arg("batched"),
        py::arg("batch"),
        "CSR tuple of A(x) (batch·output_numel × weight_numel): y = A(x)·vec(weight).");
  m.def("estimate_kernel", &estimate_kernel_py, py::arg("spec"), py::arg("input"),
        py::arg("output"), py::arg("batched"), py::arg("batch"),
        "The minimum-norm least-squares kernel: {'weight', 'rank', 'tolerance', "
        "'relative_residual'}.");
}

}  // namespace convmat::python
