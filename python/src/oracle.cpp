// The oracle (oracle.hpp) for Python: check_output and diagnose on NumPy data. The Python side
// (convmat/oracle.py) resolves the layer, converts every array to float64 (exact for float16/32)
// and turns the dicts returned here into dataclasses with a printable report; the layouts are
// translated here, by the library's functions.

#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "convmat/oracle/check.hpp"
#include "convmat/oracle/diagnose.hpp"
#include "fields.hpp"

namespace convmat::python {

namespace {

std::vector<double> values_of(const py::array& a) {
  const auto c = c_contiguous<double>(a);
  return std::vector<double>(c.data(), c.data() + c.size());
}

// The data in the call's layouts (data_format, weight_format): put in convmat's order here,
// the report translated back by the library (check.hpp: candidate_to_canonical,
// report_in_given_layouts), as the command line does.
py::dict run_oracle(const LayerCall& call, const py::array& input, const py::array& weight,
                    const std::optional<py::array>& bias, const py::array& candidate,
                    const std::string& arithmetic, const std::string& storage,
                    std::optional<double> atol, std::optional<double> rtol, Index max_blamed,
                    Index max_terms, bool with_diagnosis) {
  for (const py::array* a : {&input, &weight, &candidate}) {
    if (!py::isinstance<py::array_t<double>>(*a)) {
      throw py::type_error("oracle: arrays must be float64 here (convmat.check converts them)");
    }
  }
  require_oracle_memory(memory_limit(), call.spec, call.batch, static_cast<Index>(candidate.size()),
                        with_diagnosis);
  CheckOptions options;
  options.tolerance.arithmetic = precision_from_string(arithmetic);
  options.tolerance.storage = precision_from_string(storage);
  options.tolerance.atol = atol;
  options.tolerance.rtol = rtol;
  options.max_blamed = max_blamed;
  options.max_terms = max_terms;
  const LayerData layer(call.spec, call.batch,
                        call.to_canonical(LayerCall::Tensor::input, values_of(input)),
                        call.to_canonical(LayerCall::Tensor::weight, values_of(weight)),
                        bias ? values_of(*bias) : std::vector<double>{}, call.batched);
  std::vector<double> c = values_of(candidate);
  const Dims given_shape = shape_of(candidate);
  const Dims candidate_shape = candidate_to_canonical(call, c, given_shape);

  py::dict d;
  if (!with_diagnosis) {
    CheckReport r;
    {
      py::gil_scoped_release release;
      r = check_output(layer, c.data(), candidate_shape, options);
      report_in_given_layouts(call, given_shape, r);
    }
    d["check"] = to_dict(r);
    d["tolerance"] = to_dict(tolerance_report(options.tolerance, r));
    d["ieee"] = ieee_note(r, options.tolerance);
    return d;
  }
  Diagnosis diagnosis;
  {
    py::gil_scoped_release release;
    diagnosis = diagnose(layer, c.data(), candidate_shape, options);
    report_in_given_layouts(call, given_shape, diagnosis);
  }
  d = to_dict(diagnosis);
  d["tolerance"] = to_dict(tolerance_report(options.tolerance, diagnosis.check));
  d["ieee"] = ieee_note(diagnosis.check, options.tolerance);
  return d;
}

// The oracle's answer for an empty expected output (check_empty_output), in run_oracle's form.
py::dict empty_oracle(const Dims& expected_shape, const Dims& candidate_shape,
                      const std::string& arithmetic, const std::string& storage,
                      std::optional<double> atol, std::optional<double> rtol, bool with_diagnosis) {
  Tolerance t;
  t.arithmetic = precision_from_string(arithmetic);
  t.storage = precision_from_string(storage);
  t.atol = atol;
  t.rtol = rtol;
  Diagnosis diagnosis;
  diagnosis.check = check_empty_output(expected_shape, candidate_shape);
  py::dict d = with_diagnosis ? to_dict(diagnosis) : py::dict();
  if (!with_diagnosis) d["check"] = to_dict(diagnosis.check);
  d["tolerance"] = to_dict(tolerance_report(t, diagnosis.check));
  d["ieee"] = ieee_note(diagnosis.check, t);
  return d;
}

}  // namespace

void bind_oracle(py::module_& m) {
  m.def(
      "blame_defaults",
      [](bool diagnosis) {
        const CheckOptions o = diagnosis ? diagnose_check_options() : CheckOptions{};
        return py::make_tuple(o.max_blamed, o.max_terms);
      },
      py::arg("diagnose"), "(blame, blame_terms) by default for check or diagnose.");
  m.def(
      "precision_names",
      [] {
        py::list names;
        for (const PrecisionName& p : precision_names()) {
          std::vector<std::string> aliases(p.aliases.begin(), p.aliases.end());
          names.append(py::make_tuple(std::string(p.name), aliases));
        }
        return names;
      },
      "[(name, [aliases])]: the precision names check and diagnose accept (oracle/check.hpp).");
  m.def("require_blame_count", &require_blame_count, py::arg("name"), py::arg("count"),
        "ValueError '<name> must be >= 0, got <count>' for a negative count.");
  m.def("shapes_match", &shapes_match, py::arg("expected"), py::arg("candidate"),
        "Whether the shapes are equal after dropping leading dimensions of size 1.");
  m.def("run_oracle", &run_oracle, py::arg("call"), py::arg("input"), py::arg("weight"),
        py::arg("bias"), py::arg("candidate"), py::arg("arithmetic"), py::arg("storage"),
        py::arg("atol"), py::arg("rtol"), py::arg("max_blamed"), py::arg("max_terms"),
        py::arg("diagnose"),
        "check_output (diagnose=False) or diagnose on float64 arrays in the call's layouts, the "
        "report in them: {'check', 'tolerance', 'ieee'[, 'tried', 'reproducing']}. ValueError for "
        "sizes that do not fit the layer or an unknown precision.");
  m.def("empty_oracle", &empty_oracle, py::arg("expected_shape"), py::arg("candidate_shape"),
        py::arg("arithmetic"), py::arg("storage"), py::arg("atol"), py::arg("rtol"),
        py::arg("diagnose"),
        "run_oracle's answer for an empty expected output (check_empty_output): nothing to "
        "compare, the candidate's shape against the expected one.");
}

}  // namespace convmat::python
