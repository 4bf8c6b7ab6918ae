// convmat._petsc: the distributed W (convmat/distributed/) for Python, as petsc4py objects.
//
// Matrices and vectors cross as petsc4py's PETSc.Mat and PETSc.Vec (petsc4py's C API: the same
// PETSc objects, one more reference), communicators as PETSc.Comm (None: PETSC_COMM_WORLD).
// Layers arrive resolved (a ConvSpec of convmat._convmat, whose types this module shares), least
// squares options as _convmat's LsqOptions. A Mat made here carries its layer, so every function
// that takes one finds the spec and the layout again (DistributedConvMatrix::attached_to).
// Errors: std::invalid_argument → ValueError, MemoryLimitExceeded → convmat.MemoryLimitExceeded,
// on every rank with the same message (the library agrees before throwing).

#include <petsc4py/petsc4py.h>
#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <optional>
#include <string>

#include "convmat/distributed/conv_matrix.hpp"
#include "convmat/distributed/environment.hpp"
#include "convmat/distributed/lsqr.hpp"
#include "convmat/distributed/memory_guard.hpp"
#include "convmat/distributed/spectrum.hpp"
#include "fields.hpp"

namespace convmat::python {

namespace {

using distributed::DistributedConvMatrix;
using distributed::Owned;
using Side = DistributedConvMatrix::Side;

Mat mat_of(const py::object& o) {
  const Mat m = PyPetscMat_Get(o.ptr());
  if (m == nullptr && PyErr_Occurred()) throw py::error_already_set();
  return m;
}

Vec vec_of(const py::object& o) {
  const Vec v = PyPetscVec_Get(o.ptr());
  if (v == nullptr && PyErr_Occurred()) throw py::error_already_set();
  return v;
}

MPI_Comm comm_of(const py::object& o) {
  if (o.is_none()) return PETSC_COMM_WORLD;
  const MPI_Comm c = PyPetscComm_Get(o.ptr());
  if (PyErr_Occurred()) throw py::error_already_set();
  return c;
}

// Hands our reference to petsc4py (which takes its own) and drops ours.
template <class T>
py::object to_petsc4py(Owned<T>&& owned) {
  PyObject* o = nullptr;
  if constexpr (std::is_same_v<T, Mat>) {
    o = PyPetscMat_New(owned.get());
  } else {
    o = PyPetscVec_New(owned.get());
  }
  if (o == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(o);
}

Dims shape_of(const py::array& a) { return Dims(a.shape(), a.shape() + a.ndim()); }

Side side_of(const std::string& side) {
  if (side == "input") return Side::input;
  if (side == "output") return Side::output;
  throw std::invalid_argument("side must be 'input' or 'output', got '" + side + "'");
}

py::object layer_matrix(const ConvSpec& spec, const py::array_t<double, py::array::c_style>& w,
                        const py::object& comm, std::optional<std::uint64_t> max_memory) {
  const MPI_Comm c = comm_of(comm);
  distributed::collectively(c, [&] {
    if (static_cast<Index>(w.size()) != spec.weight_numel()) {
      throw std::invalid_argument("conv_matrix: the weight has " + std::to_string(w.size()) +
                                  " values, the layer needs " +
                                  dims_to_string(spec.weight_shape()));
    }
  });
  MemoryLimit limit = distributed::default_rank_memory_limit(c);
  if (max_memory) {
    limit.bytes = *max_memory;
    limit.source = "max_memory";
  }
  limit.raise = "raise it with max_memory=BYTES (per rank)";
  DistributedConvMatrix d(c, spec, w.data(), limit);
  distributed::check_petsc(PetscObjectReference(reinterpret_cast<PetscObject>(d.layer())),
                           "PetscObjectReference");
  return to_petsc4py(Owned<Mat>(d.layer()));
}

void refill(const py::object& m, const py::array_t<double, py::array::c_style>& w) {
  DistributedConvMatrix d = DistributedConvMatrix::attached_to(mat_of(m));
  distributed::collectively(d.comm(), [&] {
    if (static_cast<Index>(w.size()) != d.spec().weight_numel()) {
      throw std::invalid_argument("refill: the weight has " + std::to_string(w.size()) +
                                  " values, the layer needs " +
                                  dims_to_string(d.spec().weight_shape()));
    }
  });
  d.refill(w.data());
}

Dims side_shape(const DistributedConvMatrix& d, Side side) {
  return side == Side::input ? d.spec().input_shape() : d.spec().output_shape();
}

// The (C, *spatial) shape of this rank's slab.
Dims slab_shape(const DistributedConvMatrix& d, Side side) {
  Dims shape = side_shape(d, side);
  const RowSlab s = d.slab(side);
  shape[1] = s.end - s.begin;
  return shape;
}

py::object scatter(const py::object& m, const std::string& side_name, const py::object& sample) {
  DistributedConvMatrix d = DistributedConvMatrix::attached_to(mat_of(m));
  const Side side = side_of(side_name);
  const Dims shape = side_shape(d, side);
  py::array_t<double, py::array::c_style> a;
  distributed::collectively(d.comm(), [&] {
    if (d.rank() != 0) return;
    if (sample.is_none()) throw std::invalid_argument("scatter: rank 0 must give the array");
    a = py::array_t<double, py::array::c_style>::ensure(sample);
    if (!a) throw std::invalid_argument("scatter: the array must be convertible to float64");
    if (shape_of(a) != shape) {
      throw std::invalid_argument("scatter: the layer's " + side_name + " has shape " +
                                  dims_to_string(shape) + ", got " + dims_to_string(shape_of(a)));
    }
  });
  Owned<Vec> v = side == Side::input ? d.create_input() : d.create_output();
  d.scatter(side, d.rank() == 0 ? a.data() : nullptr, v);
  return to_petsc4py(std::move(v));
}

py::object gather(const py::object& m, const std::string& side_name, const py::object& vec) {
  DistributedConvMatrix d = DistributedConvMatrix::attached_to(mat_of(m));
  const Side side = side_of(side_name);
  const Dims shape = side_shape(d, side);
  py::array_t<double> out;
  if (d.rank() == 0)
    out = py::array_t<double>(std::vector<py::ssize_t>(shape.begin(), shape.end()));
  d.gather(side, vec_of(vec), d.rank() == 0 ? out.mutable_data() : nullptr);
  if (d.rank() != 0) return py::none();
  return out;
}

py::object from_local(const py::object& m, const std::string& side_name, const py::object& slab) {
  DistributedConvMatrix d = DistributedConvMatrix::attached_to(mat_of(m));
  const Side side = side_of(side_name);
  const Dims shape = slab_shape(d, side);
  py::array_t<double, py::array::c_style> a;
  distributed::collectively(d.comm(), [&] {
    a = py::array_t<double, py::array::c_style>::ensure(slab);
    if (!a) throw std::invalid_argument("from_local: the slab must be convertible to float64");
    if (shape_of(a) != shape) {
      throw std::invalid_argument("from_local: this rank's slab of the layer's " + side_name +
                                  " has shape " + dims_to_string(shape) + ", got " +
                                  dims_to_string(shape_of(a)));
    }
  });
  Owned<Vec> v = side == Side::input ? d.create_input() : d.create_output();
  DistributedConvMatrix::set_local(v, a.data());
  return to_petsc4py(std::move(v));
}

py::array to_local(const py::object& m, const std::string& side_name, const py::object& vec) {
  DistributedConvMatrix d = DistributedConvMatrix::attached_to(mat_of(m));
  const Dims shape = slab_shape(d, side_of(side_name));
  py::array_t<double> out(std::vector<py::ssize_t>(shape.begin(), shape.end()));
  const Vec v = vec_of(vec);
  PetscInt n = 0;
  distributed::check_petsc(VecGetLocalSize(v, &n), "VecGetLocalSize");
  if (n != static_cast<PetscInt>(out.size())) {
    throw std::invalid_argument("to_local: the vector has " + std::to_string(n) +
                                " entries on this rank, its " + side_name + " slab " +
                                dims_to_string(shape));
  }
  DistributedConvMatrix::get_local(v, out.mutable_data());
  return out;
}

py::dict layout(const py::object& m) {
  DistributedConvMatrix d = DistributedConvMatrix::attached_to(mat_of(m));
  const distributed::SlabLayout& l = d.layout();
  const distributed::HaloCount h = l.halo(d.rank());
  py::dict r;
  r["ranks"] = l.ranks();
  r["rank"] = d.rank();
  r["input_slab"] = py::make_tuple(d.slab(Side::input).begin, d.slab(Side::input).end);
  r["output_slab"] = py::make_tuple(d.slab(Side::output).begin, d.slab(Side::output).end);
  r["nnz"] = d.nnz();
  r["local_nnz"] = d.local_nnz();
  r["halo_received"] = h.received;
  r["halo_sent"] = h.sent;
  r["halo_neighbours"] = h.neighbours;
  r["interface_halo"] = l.interface_halo();
  r["rank_matrix_bytes"] = distributed::rank_matrix_bytes(l, d.rank());
  return r;
}

py::tuple deconvolve(const py::object& m, const py::object& b, const LsqOptions& options,
                     bool adjoint) {
  DistributedConvMatrix d = DistributedConvMatrix::attached_to(mat_of(m));
  Owned<Vec> x = adjoint ? d.create_output() : d.create_input();
  const LsqInfo info = adjoint ? distributed::deconvolve_adjoint(d, vec_of(b), x, options)
                               : distributed::deconvolve(d, vec_of(b), x, options);
  return py::make_tuple(to_petsc4py(std::move(x)), to_dict(info));
}

distributed::SmallestMethod smallest_method(const std::string& method) {
  if (method == "shift_invert") return distributed::SmallestMethod::shift_invert;
  if (method == "lanczos") return distributed::SmallestMethod::lanczos;
  throw std::invalid_argument("method must be 'shift_invert' or 'lanczos', got '" + method + "'");
}

// which: "largest", "smallest" or "both" (then also the condition number from the two).
py::dict extremes(const py::object& m, const std::string& which, Index count, Index subspace,
                  Index max_iterations, double tolerance, const std::string& method) {
  if (which != "largest" && which != "smallest" && which != "both") {
    throw std::invalid_argument("which must be 'largest', 'smallest' or 'both', got '" + which +
                                "'");
  }
  const distributed::SmallestMethod smallest = smallest_method(method);
  const Mat a = mat_of(m);
  const PartialSpectrumOptions o{.count = count,
                                 .subspace = subspace,
                                 .max_iterations = max_iterations,
                                 .tolerance = tolerance};
  py::dict r;
  PartialSingularValues hi, lo;
  if (which != "smallest") r["largest"] = to_dict(hi = distributed::largest_singular_values(a, o));
  if (which != "largest") {
    r["smallest"] = to_dict(lo = distributed::smallest_singular_values(a, o, smallest));
  }
  if (which == "both") r["condition"] = to_dict(condition_estimate(hi, lo));
  return r;
}

}  // namespace

}  // namespace convmat::python

PYBIND11_MODULE(_petsc, m) {
  using namespace convmat::python;
  m.doc() = "convmat's distributed W on PETSc (use convmat.petsc, not this module directly)";
  if (import_petsc4py() < 0) throw py::error_already_set();
  py::module_::import("convmat._convmat");  // ConvSpec, LsqOptions, MemoryLimitExceeded
  convmat::distributed::ensure_slepc();
  m.def("layer_matrix", &layer_matrix, py::arg("spec"), py::arg("weight"), py::arg("comm"),
        py::arg("max_memory"), "The layer's M (PETSc.Mat) on comm, built row-slab per rank.");
  m.def("refill", &refill, py::arg("mat"), py::arg("weight"));
  m.def("scatter", &scatter, py::arg("mat"), py::arg("side"), py::arg("sample"));
  m.def("gather", &gather, py::arg("mat"), py::arg("side"), py::arg("vec"));
  m.def("from_local", &from_local, py::arg("mat"), py::arg("side"), py::arg("slab"));
  m.def("to_local", &to_local, py::arg("mat"), py::arg("side"), py::arg("vec"));
  m.def("layout", &layout, py::arg("mat"));
  m.def("deconvolve", &deconvolve, py::arg("mat"), py::arg("b"), py::arg("options"),
        py::arg("adjoint"));
  m.def("extremes", &extremes, py::arg("mat"), py::arg("which"), py::arg("count"),
        py::arg("subspace"), py::arg("max_iterations"), py::arg("tolerance"), py::arg("method"));
}
