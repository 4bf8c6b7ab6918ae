#pragma once
// The parts of convmat._convmat, one per source file; module.cpp calls each to register itself.

#include <pybind11/pybind11.h>

namespace convmat::python {

void bind_layers(pybind11::module_& m);    // layers.cpp: ConvSpec, PyTorch/ONNX arguments, forward
void bind_matrices(pybind11::module_& m);  // matrices.cpp: the layer's matrix as CSR arrays
void bind_analysis(pybind11::module_& m);  // analysis.cpp: spectrum, pseudo-inverse, checkerboard
void bind_identities(pybind11::module_& m);  // identities.cpp: Z·P·C, upsampling U, kernel A(x)
void bind_oracle(pybind11::module_& m);      // oracle.cpp: check_output and diagnose
void bind_solvers(pybind11::module_& m);     // solvers.cpp: lstsq and deconvolve
void bind_fields(pybind11::module_& m);      // fields.cpp: the results' field names

}  // namespace convmat::python
