#pragma once
// C++ result structs as the dicts the Python package turns into its documented results: shared
// by convmat._convmat and convmat._petsc (the distributed solvers report the same structs).

#include <pybind11/pybind11.h>

#include <string>

#include "convmat/analysis/spectrum.hpp"
#include "convmat/solve/lsq_types.hpp"

namespace convmat::python {

namespace py = pybind11;

// "converged", "not_converged", "numerical_issue".
std::string status_name(SpectrumStatus s);

// method, status, message, istop, rank, iterations, residual_norm, relative_residual,
// normal_residual_norm, solution_norm, condition_estimate, qr_tolerance, residual_history (a
// list of arrays, one per right-hand side).
py::dict lsq_info_dict(const LsqInfo& info);

// values, status, iterations, operations, gram_size.
py::dict partial_spectrum_dict(const PartialSingularValues& s);

// sigma_max, sigma_min, value, status.
py::dict condition_dict(const ConditionEstimate& c);

PartialSpectrumOptions partial_options(Index count, Index subspace, Index max_iterations,
                                       double tolerance);

}  // namespace convmat::python
