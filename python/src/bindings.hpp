#pragma once
// The parts of convmat._convmat, one per source file; module.cpp calls each to register itself.

#include <pybind11/pybind11.h>

namespace convmat::python {

void bind_layers(pybind11::module_& m);    // layers.cpp: ConvSpec, PyTorch/ONNX arguments, forward
void bind_matrices(pybind11::module_& m);  // matrices.cpp: the layer's matrix as CSR arrays

}  // namespace convmat::python
