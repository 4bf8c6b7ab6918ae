// ONNX's quantized convolutions (core/quantized.hpp) for Python: the exact int32 accumulators of
// ConvInteger and QLinearConv's requantization. convmat/onnx.py checks the dtypes, resolves the
// layer with ONNX Conv's attributes and casts the results to ONNX's output types.

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "convmat/core/layer_args.hpp"
#include "convmat/core/quantized.hpp"

namespace convmat::python {

namespace {

std::vector<std::int64_t> integers(const py::array& a) {
  const auto c = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(a);
  if (!c) throw py::type_error("quantized: an integer array was expected");
  return std::vector<std::int64_t>(c.data(), c.data() + c.size());
}

py::array_t<std::int64_t> shaped(const std::vector<std::int64_t>& v, const Dims& shape) {
  py::array_t<std::int64_t> out(shape);
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}

}  // namespace

void bind_quantized(py::module_& m) {
  m.def(
      "quantized_ops",
      [] {
        py::list ops;
        for (const QuantizedOp& op : quantized_ops()) {
          ops.append(py::make_tuple(std::string(op.name), std::string(op.alias), op.requantizes));
        }
        return ops;
      },
      "[(name, alias, requantizes)]: the ops check compares exactly (quantized.hpp).");
  m.def(
      "conv_integer",
      [](const LayerCall& call, const py::array& x, std::int64_t x_zero_point, const py::array& w,
         const std::vector<std::int64_t>& w_zero_point,
         const std::optional<std::vector<std::int64_t>>& bias) {
        const std::vector<std::int64_t> xs = integers(x), ws = integers(w);
        std::vector<std::int64_t> acc;
        {
          py::gil_scoped_release release;
          acc = conv_integer(call.spec, call.batch, xs, x_zero_point, ws, w_zero_point,
                             bias.value_or(std::vector<std::int64_t>{}));
        }
        return shaped(acc, call.output_shape());
      },
      py::arg("call"), py::arg("x"), py::arg("x_zero_point"), py::arg("w"), py::arg("w_zero_point"),
      py::arg("bias") = std::nullopt,
      "ConvInteger's exact accumulators (+ B), int64 values in the int32 range (quantized.hpp).");
  m.def("requantization_multipliers", &requantization_multipliers, py::arg("x_scale"),
        py::arg("w_scale"), py::arg("y_scale"), py::arg("out_channels"),
        "x_scale * w_scale[m] / y_scale per output channel, in float64.");
  m.def(
      "qlinear_requantize",
      [](const LayerCall& call, const py::array& acc, const std::vector<double>& multipliers,
         std::int64_t y_zero_point, std::int64_t lo, std::int64_t hi) {
        const std::vector<std::int64_t> y =
            qlinear_requantize(call.spec, integers(acc), multipliers, y_zero_point, {lo, hi});
        return shaped(y, call.output_shape());
      },
      py::arg("call"), py::arg("acc"), py::arg("multipliers"), py::arg("y_zero_point"),
      py::arg("lo"), py::arg("hi"),
      "round_half_to_even(acc * multiplier[m]) + y_zero_point, saturated to [lo, hi].");
  m.def(
      "compare_quantized",
      [](const py::array& expected, const py::array& candidate, const py::array& accumulators,
         const std::optional<std::vector<double>>& real, Index max_listed) {
        const QuantizedComparison c =
            compare_quantized(integers(expected), integers(candidate), integers(accumulators),
                              real.value_or(std::vector<double>{}), max_listed);
        py::list worst;
        for (const QuantizedMismatch& w : c.worst) {
          py::dict d;
          d["index"] = w.index;
          d["expected"] = w.expected;
          d["candidate"] = w.candidate;
          d["accumulator"] = w.accumulator;
          d["real"] = w.real;
          worst.append(d);
        }
        py::dict d;
        d["elements"] = c.elements;
        d["mismatches"] = c.mismatches;
        d["off_by_one"] = c.off_by_one;
        d["max_difference"] = c.max_difference;
        d["worst"] = worst;
        return d;
      },
      py::arg("expected"), py::arg("candidate"), py::arg("accumulators"), py::arg("real"),
      py::arg("max_listed"),
      "Exact comparison of quantized outputs: counts and the worst mismatches with their "
      "accumulators (quantized.hpp).");
}

}  // namespace convmat::python
