#include "results.hpp"

#include <pybind11/eigen.h>
#include <pybind11/numpy.h>

#include <vector>

namespace convmat::python {

std::string status_name(SpectrumStatus s) {
  switch (s) {
    case SpectrumStatus::converged: return "converged";
    case SpectrumStatus::not_converged: return "not_converged";
    case SpectrumStatus::numerical_issue: return "numerical_issue";
  }
  return "unknown";
}

py::dict lsq_info_dict(const LsqInfo& info) {
  py::dict d;
  d["method"] = to_string(info.method);
  d["status"] = to_string(info.status);
  d["message"] = info.message;
  d["istop"] = info.stop_code;
  d["rank"] = info.rank;
  d["iterations"] = info.iterations;
  d["residual_norm"] = info.residual_norm;
  d["relative_residual"] = info.relative_residual;
  d["normal_residual_norm"] = info.normal_residual_norm;
  d["solution_norm"] = info.solution_norm;
  d["condition_estimate"] = info.condition_estimate;
  d["qr_tolerance"] = info.qr_tolerance;
  py::list history;
  for (const std::vector<double>& h : info.residual_history) {
    history.append(py::array_t<double>(static_cast<py::ssize_t>(h.size()), h.data()));
  }
  d["residual_history"] = history;
  return d;
}

py::dict partial_spectrum_dict(const PartialSingularValues& s) {
  py::dict d;
  d["values"] = s.values;
  d["status"] = status_name(s.status);
  d["iterations"] = s.iterations;
  d["operations"] = s.operations;
  d["gram_size"] = s.gram_size;
  return d;
}

py::dict condition_dict(const ConditionEstimate& c) {
  py::dict d;
  d["sigma_max"] = c.sigma_max;
  d["sigma_min"] = c.sigma_min;
  d["value"] = c.value;
  d["status"] = status_name(c.status);
  return d;
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

}  // namespace convmat::python
