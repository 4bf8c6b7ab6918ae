// ONNX's quantized convolutions (core/quantized.hpp) for Python: quantized_apply and
// diagnose_quantized on NumPy data in the call's layouts (data_format, weight_format).
// convmat/onnx.py resolves the layer with ONNX Conv's attributes and passes each input with its
// dtype's name (or as plain numbers, typed by the library's rule); every rule of the inputs is the
// library's: a wrong type raises TypeError, a wrong value ValueError.

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "convmat/core/layer_args.hpp"
#include "convmat/core/quantized.hpp"
#include "convmat/oracle/diagnose.hpp"
#include "fields.hpp"

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

// The op by name or ONNX alias; ValueError otherwise.
const QuantizedOp& op_named(const std::string& name) {
  const QuantizedOp* op = find_quantized_op(name);
  if (!op) throw py::value_error("quantized: unknown op '" + name + "'");
  return *op;
}

// QuantizedData from Python: x and w with their dtypes' names, and each input as
// (values, dtype name or None for plain numbers).
using PyInputs = std::map<std::string, std::pair<std::vector<double>, std::optional<std::string>>>;

QuantizedData data_of(const QuantizedOp& op, const LayerCall& call, const py::array& x,
                      const std::string& x_type, const py::array& w, const std::string& w_type,
                      const PyInputs& inputs) {
  const std::string name(op.alias);
  quantized_range(x_type, name + ": x");  // the types before the values are read as integers
  quantized_range(w_type, name + ": w");
  QuantizedData d{call.spec, call.batch, integers(x), integers(w), x_type, w_type, {}};
  for (const auto& [input, given] : inputs) {
    const auto& [values, type] = given;
    const QuantizedInput* q = find_quantized_input(input);
    d.inputs[input] = type || !q ? QuantizedValue{values, type.value_or("")}
                                 : quantized_value_from_numbers(*q, values, x_type, w_type);
  }
  return d;
}

// Runs `f`, a wrong type raised as TypeError (QuantizedTypeError), other rules as ValueError.
template <class F>
auto typed(F&& f) {
  try {
    return f();
  } catch (const QuantizedTypeError& e) {
    throw py::type_error(e.what());
  }
}

// A comparison's counts and its worst mismatches, as check and diagnose return them.
py::dict comparison_dict(const QuantizedComparison& c) {
  py::list worst;
  for (const QuantizedMismatch& mm : c.worst) {
    py::dict e;
    e["index"] = mm.index;
    e["expected"] = mm.expected;
    e["candidate"] = mm.candidate;
    e["accumulator"] = mm.accumulator;
    e["real"] = mm.real;
    worst.append(e);
  }
  py::dict d;
  d["elements"] = c.elements;
  d["mismatches"] = c.mismatches;
  d["off_by_one"] = c.off_by_one;
  d["max_difference"] = c.max_difference;
  d["worst"] = worst;
  return d;
}

}  // namespace

void bind_quantized(py::module_& m) {
  m.def(
      "quantized_apply",
      [](const std::string& op_name, const LayerCall& call, const py::array& x,
         const std::string& x_type, const py::array& w, const std::string& w_type,
         const PyInputs& inputs) {
        const QuantizedOp& op = op_named(op_name);
        return typed([&] {
          const QuantizedData d = data_of(op, call, x, x_type, w, w_type, inputs);
          QuantizedOutput out;
          {
            py::gil_scoped_release release;
            out = quantized_apply(op, d, call);
          }
          const Dims shape = call.given_output_shape();
          py::dict r;
          r["type"] = out.type;
          r["values"] = shaped(out.values, shape);
          r["accumulators"] = shaped(out.accumulators, shape);
          r["real"] =
              out.real.empty()
                  ? py::object(py::none())
                  : py::object(py::array_t<double>(
                        std::vector<py::ssize_t>(shape.begin(), shape.end()), out.real.data()));
          return r;
        });
      },
      py::arg("op"), py::arg("call"), py::arg("x"), py::arg("x_type"), py::arg("w"),
      py::arg("w_type"), py::arg("inputs"),
      "quantized_apply (quantized.hpp): {'type', 'values', 'accumulators', 'real'}; inputs maps "
      "ONNX's input names to (values, dtype name or None for plain numbers).");
  m.def(
      "diagnose_quantized",
      [](const std::string& op_name, const LayerCall& call, const py::array& x,
         const std::string& x_type, const py::array& w, const std::string& w_type,
         const PyInputs& inputs, const py::array& candidate, Index max_listed) {
        const QuantizedOp& op = op_named(op_name);
        return typed([&] {
          const QuantizedData d = data_of(op, call, x, x_type, w, w_type, inputs);
          const std::vector<std::int64_t> c = integers(candidate);
          QuantizedDiagnosis dg;
          {
            py::gil_scoped_release release;
            dg = diagnose_quantized(op, d, c, max_listed, call);
          }
          py::list tried;
          for (const QuantizedHypothesis& h : dg.tried) tried.append(to_dict(h));
          py::dict r = comparison_dict(dg.check);
          r["tried"] = tried;
          r["reproducing"] = dg.reproducing;
          return r;
        });
      },
      py::arg("op"), py::arg("call"), py::arg("x"), py::arg("x_type"), py::arg("w"),
      py::arg("w_type"), py::arg("inputs"), py::arg("candidate"), py::arg("max_listed"),
      "diagnose_quantized (oracle/diagnose.hpp): the exact comparison {'elements', "
      "'mismatches', 'off_by_one', 'max_difference', 'worst'} and {'tried', 'reproducing'}.");
  m.def(
      "quantized_mistakes",
      [] {
        py::list out;
        for (const QuantizedMistake& q : quantized_mistakes())
          out.append(py::make_tuple(std::string(q.id), std::string(q.summary)));
        return out;
      },
      "[(id, summary)]: the quantized ops' catalogue of mistakes (oracle/diagnose.hpp).");
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
      "require_quantized_output_type",
      [](const std::string& op_name, const std::string& output_type,
         const std::string& candidate_type) {
        typed(
            [&] { require_quantized_output_type(op_named(op_name), output_type, candidate_type); });
      },
      py::arg("op"), py::arg("output_type"), py::arg("candidate_type"),
      "TypeError unless a candidate's dtype is the op's ONNX output type (quantized.hpp).");
  m.def(
      "compare_quantized",
      [](const py::array& expected, const py::array& candidate, const py::array& accumulators,
         const std::optional<std::vector<double>>& real, Index max_listed) {
        return comparison_dict(compare_quantized(integers(expected), integers(candidate),
                                                 integers(accumulators),
                                                 real.value_or(std::vector<double>{}), max_listed));
      },
      py::arg("expected"), py::arg("candidate"), py::arg("accumulators"), py::arg("real"),
      py::arg("max_listed"),
      "Exact comparison of quantized outputs: counts and the worst mismatches with their "
      "accumulators (quantized.hpp).");
}

}  // namespace convmat::python
