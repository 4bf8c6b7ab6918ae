// ConvSpec, the op table (layer_ops.hpp: the ops, their keywords and the PyTorch/ONNX rules of
// layer_args.hpp behind them) for Python, and forward(): one layer applied to a NumPy batch, by W
// (ConvMatrix) or by the direct loops.

#include <pybind11/stl.h>

#include <array>
#include <optional>
#include <stdexcept>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "convmat/core/conv_matrix.hpp"
#include "convmat/core/layer_args.hpp"
#include "convmat/core/layer_ops.hpp"
#include "convmat/core/loops.hpp"
#include "fields.hpp"

namespace convmat::python {

namespace {

py::tuple to_tuple(const Dims& d) {
  py::tuple t(d.size());
  for (std::size_t i = 0; i < d.size(); ++i) t[i] = py::int_(d[i]);
  return t;
}

enum class Method { matrix, loops };

Method method_from_string(const std::string& name) {
  if (name == "matrix") return Method::matrix;
  if (name == "loops") return Method::loops;
  throw std::invalid_argument(
      "method must be 'matrix' (W·x, the sparse matrix) or 'loops' (the "
      "direct loops), got '" +
      name + "'");
}

// y = layer(x) + bias for the whole batch; the GIL is released while C++ computes.
template <class Scalar>
py::array forward_as(const LayerCall& call, const py::array& input, const py::array& weight,
                     const std::optional<py::array>& bias, Method method) {
  if (method == Method::matrix) {  // the loops need no W
    const auto output_bytes = static_cast<std::uint64_t>(call.batch) *
                              static_cast<std::uint64_t>(call.spec.output_numel()) * sizeof(Scalar);
    require_memory(call.spec, static_cast<std::uint64_t>(input.nbytes()) + output_bytes,
                   sizeof(Scalar), ConvStorage::automatic);
  }
  const auto x = c_contiguous<Scalar>(input);
  const auto w = c_contiguous<Scalar>(weight);
  std::optional<py::array_t<Scalar, py::array::c_style>> b;
  if (bias) b = c_contiguous<Scalar>(*bias);
  py::array_t<Scalar> y(call.given_output_shape());

  const Scalar* xp = x.data();
  const Scalar* wp = w.data();
  const Scalar* bp = b ? b->data() : nullptr;
  Scalar* yp = y.mutable_data();
  {
    py::gil_scoped_release release;
    // Tensors in another layout (data_format, weight_format) are computed in convmat's order.
    using Tensor = LayerCall::Tensor;
    std::vector<Scalar> x_canonical, w_canonical, y_canonical;
    if (!call.is_canonical(Tensor::input)) {
      x_canonical.resize(static_cast<std::size_t>(x.size()));
      call.to_canonical(Tensor::input, xp, x_canonical.data());
      xp = x_canonical.data();
    }
    if (!call.is_canonical(Tensor::weight)) {
      w_canonical.resize(static_cast<std::size_t>(w.size()));
      call.to_canonical(Tensor::weight, wp, w_canonical.data());
      wp = w_canonical.data();
    }
    Scalar* out = yp;
    if (!call.is_canonical(Tensor::output)) {
      y_canonical.resize(static_cast<std::size_t>(y.size()));
      out = y_canonical.data();
    }
    if (method == Method::matrix) {
      ConvMatrix<Scalar>(call.spec, wp, ConvStorage::automatic).forward(xp, bp, out, call.batch);
    } else {
      direct_forward(call.spec, xp, call.batch, wp, bp, out);
    }
    if (out != yp) call.from_canonical(Tensor::output, out, yp);
  }
  return y;
}

// `array` (float32 or float64) as the caller stores it → convmat's order (to_canonical), or back.
// The array must have the shape of that side: the call's given or canonical shape.
py::array layout_array(const LayerCall& call, const std::string& tensor_name,
                       const py::array& array, bool to_canonical) {
  const LayerCall::Tensor tensor = LayerCall::tensor_from_name(tensor_name);
  const Dims canonical = call.canonical_shape(tensor);
  const Dims given = call.given_shape(tensor);
  const Dims& from = to_canonical ? given : canonical;
  if (shape_of(array) != from) {
    throw std::invalid_argument("the " + tensor_name + " has shape " +
                                dims_to_tuple(shape_of(array)) + ", but the layer's " +
                                tensor_name + " has shape " + dims_to_tuple(from));
  }
  const Dtype dtype = common_dtype("layout", {{tensor_name.c_str(), &array}});
  return dispatch(dtype, [&](auto scalar) -> py::array {
    using Scalar = decltype(scalar);
    const auto a = c_contiguous<Scalar>(array);
    py::array_t<Scalar> out(to_canonical ? canonical : given);
    if (to_canonical) {
      call.to_canonical(tensor, a.data(), out.mutable_data());
    } else {
      call.from_canonical(tensor, a.data(), out.mutable_data());
    }
    return out;
  });
}

py::array forward(const LayerCall& call, const py::array& input, const py::array& weight,
                  const std::optional<py::array>& bias, const std::string& method_name,
                  const std::string& op, const std::array<std::string, 3>& names) {
  const Method method = method_from_string(method_name);
  const Dtype dtype = common_dtype(op, {{names[0].c_str(), &input},
                                        {names[1].c_str(), &weight},
                                        {names[2].c_str(), bias ? &*bias : nullptr}});
  // The call was resolved from these shapes; a mismatch means a caller bypassed the package.
  if (shape_of(input) != call.given_input_shape() ||
      shape_of(weight) != call.given_weight_shape()) {
    throw std::invalid_argument(op + ": input of shape " + dims_to_string(shape_of(input)) +
                                " and weight of shape " + dims_to_string(shape_of(weight)) +
                                " do not match the layer " + call.spec.to_string());
  }
  if (bias) {
    try {
      check_bias(call.spec, shape_of(*bias));
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(op + ": " + e.what());
    }
  }
  return dispatch(dtype, [&](auto scalar) {
    return forward_as<decltype(scalar)>(call, input, weight, bias, method);
  });
}

}  // namespace

void bind_layers(py::module_& m) {
  py::class_<ConvSpec>(m, "ConvSpec",
                       "The validated geometry of one convolution or transposed-convolution layer "
                       "(C++ convmat::ConvSpec). Sizes are per spatial dimension; shapes are C "
                       "order without the batch.")
      .def_property_readonly(
          "kind", [](const ConvSpec& s) { return to_string(s.kind()); },
          "'convolution' or 'transposed'")
      .def_property_readonly("rank", &ConvSpec::rank, "number of spatial dimensions (1-3)")
      .def_property_readonly("in_channels", &ConvSpec::in_channels)
      .def_property_readonly("out_channels", &ConvSpec::out_channels)
      .def_property_readonly("groups", &ConvSpec::groups)
      .def_property_readonly("input_size",
                             [](const ConvSpec& s) { return to_tuple(s.input_size()); })
      .def_property_readonly("kernel_size",
                             [](const ConvSpec& s) { return to_tuple(s.kernel_size()); })
      .def_property_readonly("stride", [](const ConvSpec& s) { return to_tuple(s.stride()); })
      .def_property_readonly("dilation", [](const ConvSpec& s) { return to_tuple(s.dilation()); })
      .def_property_readonly(
          "pad_begin", [](const ConvSpec& s) { return to_tuple(s.pad_begin()); },
          "padding at the begin of each dimension (ONNX pads[:rank])")
      .def_property_readonly(
          "pad_end", [](const ConvSpec& s) { return to_tuple(s.pad_end()); },
          "padding at the end of each dimension (ONNX pads[rank:])")
      .def_property_readonly("output_padding",
                             [](const ConvSpec& s) { return to_tuple(s.output_padding()); })
      .def_property_readonly("padding_mode",
                             [](const ConvSpec& s) { return to_string(s.padding_mode()); })
      .def_property_readonly(
          "input_dilation", [](const ConvSpec& s) { return to_tuple(s.input_dilation()); },
          "zeros inserted between input positions, plus 1 (XLA's lhs_dilation; 1: none)")
      .def_property_readonly("output_size",
                             [](const ConvSpec& s) { return to_tuple(s.output_size()); })
      .def_property_readonly(
          "input_shape", [](const ConvSpec& s) { return to_tuple(s.input_shape()); },
          "(C_in, *input_size)")
      .def_property_readonly(
          "output_shape", [](const ConvSpec& s) { return to_tuple(s.output_shape()); },
          "(C_out, *output_size)")
      .def_property_readonly(
          "weight_shape", [](const ConvSpec& s) { return to_tuple(s.weight_shape()); },
          "PyTorch's layout: (C_out, C_in/groups, *k) for a convolution, "
          "(C_in, C_out/groups, *k) for a transposed convolution")
      .def_property_readonly("input_numel", &ConvSpec::input_numel, "columns of the layer's matrix")
      .def_property_readonly("output_numel", &ConvSpec::output_numel, "rows of the layer's matrix")
      .def("as_convolution", &ConvSpec::as_convolution,
           "For a transposed layer, the convolution W whose transpose it is (same kernel, stride, "
           "padding, dilation; channels swapped); for a convolution, itself.")
      .def("__eq__", [](const ConvSpec& a, const ConvSpec& b) { return a == b; })
      .def("__str__", &ConvSpec::to_string)
      .def("__repr__", [](const ConvSpec& s) { return "<ConvSpec " + s.to_string() + ">"; });

  py::class_<LayerCall>(m, "LayerCall", "A resolved call: the layer and how its input was given.")
      .def_readonly("spec", &LayerCall::spec)
      .def_readonly("batch", &LayerCall::batch, "N, or 1 for an unbatched input")
      .def_readonly("batched", &LayerCall::batched, "False for an unbatched (C, *spatial) input")
      .def_property_readonly("input_shape",
                             [](const LayerCall& c) { return to_tuple(c.input_shape()); })
      .def_property_readonly("output_shape",
                             [](const LayerCall& c) { return to_tuple(c.output_shape()); })
      .def_property_readonly(
          "given_input_shape", [](const LayerCall& c) { return to_tuple(c.given_input_shape()); },
          "the input's shape in the caller's layout (data_format)")
      .def_property_readonly(
          "given_weight_shape", [](const LayerCall& c) { return to_tuple(c.given_weight_shape()); },
          "the weight's shape in the caller's layout (weight_format)")
      .def_property_readonly(
          "given_output_shape", [](const LayerCall& c) { return to_tuple(c.given_output_shape()); },
          "the output's shape in the caller's layout (data_format)")
      .def_property_readonly("has_layouts", &LayerCall::has_layouts,
                             "whether a tensor is stored in an order other than convmat's")
      .def(
          "given_index",
          [](const LayerCall& c, const std::string& tensor, const Dims& index) {
            return to_tuple(c.given_index(LayerCall::tensor_from_name(tensor), index));
          },
          py::arg("tensor"), py::arg("index"),
          "An index of 'input', 'weight' or 'output' in convmat's order → the same element's index "
          "in the caller's layout.");
  m.def(
      "layout_array", &layout_array, py::arg("call"), py::arg("tensor"), py::arg("array"),
      py::arg("to_canonical"),
      "The 'input', 'weight' or 'output' array of a call in the caller's layout → convmat's order "
      "(to_canonical=True), or back: a new C-contiguous array.");
  m.def(
      "layout_keywords",
      [] {
        py::list names;
        for (const LayerKeyword& k : layout_keywords()) names.append(std::string(k.name));
        return names;
      },
      "The keywords every op takes besides its own: data_format, weight_format.");

  m.def(
      "layer_ops",
      [] {
        py::list ops;
        for (const LayerOp& op : layer_ops()) ops.append(to_dict(op));
        return ops;
      },
      "The op table (layer_ops.hpp): a dict of LayerOp's fields per op — name, aliases, "
      "convention, kind, rank (0: from the data), batch_required, keywords (name, kind, default, "
      "per_axis).");
  m.def(
      "resolve_layer",
      [](const std::string& op, const Dims& input_shape, const Dims& weight_shape,
         const LayerKeywords& keywords) {
        return layer_op(op).resolve(input_shape, weight_shape, keywords);
      },
      py::arg("op"), py::arg("input_shape"), py::arg("weight_shape"), py::arg("keywords"),
      "The LayerCall of op (a name of the table) for these shapes and keywords (a subset of the "
      "op's, in the forms their kinds say). ValueError with the PyTorch or ONNX rule otherwise.");
  m.def(
      "layer_input_shape",
      [](const std::string& op, const Dims& weight_shape, const Dims& size,
         std::optional<Index> batch, const LayerKeywords& keywords) {
        return layer_op(op).input_shape_for_size(weight_shape, size, batch, keywords);
      },
      py::arg("op"), py::arg("weight_shape"), py::arg("size"), py::arg("batch"),
      py::arg("keywords"),
      "The input shape for a spatial size: (C_in, *size) or (batch, C_in, *size).");
  m.def("dims_to_list", &dims_to_list, py::arg("dims"),
        "[1, 2, 3]: an index as messages print it.");

  m.def("forward", &forward, py::arg("call"), py::arg("input"), py::arg("weight"),
        py::arg("bias") = std::nullopt, py::arg("method") = "matrix", py::arg("op") = "forward",
        py::arg("names") = std::array<std::string, 3>{"input", "weight", "bias"},
        "The layer on `input` (shape call.input_shape): W·x + b with method='matrix', the direct "
        "loops with method='loops'. Returns a new array of shape call.output_shape and the input's "
        "dtype. TypeError for dtypes other than float32/float64 or mixed dtypes; `op` and `names` "
        "(of input, weight, bias) name the operation and the arrays in messages.");
  m.def(
      "empty_output",
      [](const Dims& shape, const py::array& input, const py::array& weight,
         const std::optional<py::array>& bias, const std::string& method, const std::string& op,
         const std::array<std::string, 3>& names) {
        method_from_string(method);  // the same refusal as forward's
        const Dtype dtype = common_dtype(op, {{names[0].c_str(), &input},
                                              {names[1].c_str(), &weight},
                                              {names[2].c_str(), bias ? &*bias : nullptr}});
        return dispatch(
            dtype, [&](auto scalar) { return py::array(py::array_t<decltype(scalar)>(shape)); });
      },
      py::arg("shape"), py::arg("input"), py::arg("weight"), py::arg("bias"), py::arg("method"),
      py::arg("op"), py::arg("names"),
      "The empty output of `shape` (EmptyOutput's: xla_conv's empty output) in forward's dtype, "
      "with forward's dtype and method rules.");
}

}  // namespace convmat::python
