// The field names of the library's results (their for_each_field lists), by the struct's name,
// so that tests can check the Python dataclasses and dicts against the one list in C++.

#include <string>
#include <vector>

#include "bindings.hpp"
#include "convmat/analysis/checkerboard.hpp"
#include "convmat/analysis/kernel_matrix.hpp"
#include "convmat/analysis/pseudo_inverse.hpp"
#include "convmat/analysis/spectrum.hpp"
#include "convmat/core/layer_ops.hpp"
#include "convmat/oracle/check.hpp"
#include "convmat/oracle/diagnose.hpp"
#include "convmat/solve/lsq_types.hpp"
#include "fields.hpp"

namespace convmat::python {

namespace {

template <class T>
std::vector<std::string> names() {
  std::vector<std::string> out;
  for_each_field(T{}, [&](const char* name, const auto&) { out.emplace_back(name); });
  return out;
}

}  // namespace

void bind_fields(py::module_& m) {
  py::dict d;
  d["SingularValues"] = names<SingularValues>();
  d["PartialSingularValues"] = names<PartialSingularValues>();
  d["ConditionEstimate"] = names<ConditionEstimate>();
  d["CircularSpectrum"] = names<CircularSpectrum>();
  d["TransposeVersusInverse"] = names<TransposeVersusInverse>();
  d["Checkerboard"] = names<Checkerboard>();
  d["KernelEstimate"] = names<KernelEstimate>();
  d["LsqInfo"] = names<LsqInfo>();
  d["BlameTerm"] = names<BlameTerm>();
  d["Blame"] = names<Blame>();
  d["CheckReport"] = names<CheckReport>();
  d["ToleranceReport"] = names<ToleranceReport>();
  d["Hypothesis"] = names<Hypothesis>();
  d["Diagnosis"] = names<Diagnosis>();
  d["LayerOp"] = names<LayerOp>();
  d["LayerKeyword"] = names<LayerKeyword>();
  m.attr("fields") = d;
}

}  // namespace convmat::python
