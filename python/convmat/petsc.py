"""convmat.petsc: a layer's W distributed over MPI ranks, as PETSc objects (petsc4py).

Every rank runs the same script (``mpirun -n 4 /usr/bin/python3 script.py``); each builds only
its own rows of W -- a slab of the spatial domain along the first spatial axis, every channel --
straight into PETSc's parallel sparse matrix (MATMPIAIJ), so that a product exchanges only a
halo. Values are float64 (PETSc's scalar).

>>> import numpy
>>> from petsc4py import PETSc
>>> import convmat.petsc as cp
>>> k = numpy.array([[[[1.0, 2.0], [3.0, 4.0]]]])              # seed 000's kernel
>>> M = cp.conv_matrix(k, (3, 3))                                # its 4 x 9 W, as a PETSc.Mat
>>> root = PETSc.COMM_WORLD.rank == 0
>>> x = cp.scatter(M, numpy.arange(9.0).reshape(1, 3, 3) if root else None)   # from rank 0
>>> y = M.createVecLeft(); M.mult(x, y)                          # the layer: y = M x
>>> out = cp.gather(M, y)                                        # on rank 0; None elsewhere
>>> not root or out.tolist() == [[[27.0, 37.0], [57.0, 67.0]]]
True
>>> x_hat, info = cp.deconvolve(M, y, atol=1e-12, btol=1e-12)    # KSPLSQR: minimum norm
>>> info["istop"], info["status"], info["relative_residual"] < 1e-12
(1, 'success', True)
>>> s = cp.singular_values(M, k=1)                               # SLEPc
>>> round(s["largest"].values[0], 6), round(s["smallest"].values[0], 6)
(7.747257, 3.159115)

Matrices:   conv_matrix (M = W), conv_transpose_matrix (M = W.T: PETSc's virtual transpose of W,
            no copy), refill (new weights, same structure)
Vectors:    scatter / gather (a whole (C, *spatial) sample through rank 0), from_local /
            to_local (each rank's own slab x[:, begin:end, ...], no communication), layout
            (the slabs, nonzeros and halo of this rank)
Solvers:    deconvolve (KSPLSQR with convmat.lstsq's keywords, stop codes and info),
            singular_values (SLEPc)

The layout: rank p holds positions [begin, end) of the first spatial axis (``layout(M)``) of
every channel, in C order; PETSc numbers the ranks' entries one after the other. Invalid input
raises ValueError on every rank with the same message (the ranks agree before raising); a rank's
share of W over its memory limit raises convmat.MemoryLimitExceeded on every rank.
"""

try:
    from petsc4py import PETSc  # noqa: F401 (initializes PETSc and MPI first)
    from slepc4py import SLEPc  # noqa: F401 (initializes SLEPc)
    from convmat import _petsc as _core
except ImportError as e:  # pragma: no cover - depends on the build
    raise ImportError("convmat.petsc needs petsc4py, slepc4py and convmat built with PETSc "
                      f"(CMake option CONVMAT_BUILD_PETSC): {e}") from e

from convmat import _arguments as _a
from convmat import _layers
from convmat.analysis import PartialSingularValues
from convmat.solvers import _info, _options

__all__ = ["conv_matrix", "conv_transpose_matrix", "refill", "scatter", "gather", "from_local",
           "to_local", "layout", "deconvolve", "singular_values"]


def _matrix(op, transposed, weight, input_size, comm, max_memory, **keywords):
    w = _a.array(weight, op, "weight")
    layer = _layers.layer(op, "conv_transpose" if transposed else "conv", keywords)
    call = layer.resolve(op, layer.input_shape(op, w.shape, input_size), w.shape)
    limit = None if max_memory is None else _a.integer(op, "max_memory", max_memory)
    return _core.layer_matrix(call.spec, w.astype("float64", copy=False), comm, limit)


def conv_matrix(weight, input_size, stride=1, padding=0, dilation=1, groups=1,
                padding_mode="zeros", *, comm=None, max_memory=None):
    """The convolution's matrix W as a distributed PETSc.Mat (MATMPIAIJ): ``M.mult(x, y)`` is
    conv{1,2,3}d, ``M.multTranspose(y, x)`` the transposed convolution.

    Parameters as convmat.conv_matrix, plus
    comm : a PETSc.Comm (default PETSc.COMM_WORLD); every rank of it must call
    max_memory : this rank's memory limit in bytes for its share of W (default: half the physical
        memory divided by the ranks on this machine)

    Collective. Rows (output positions) and columns (input positions) are cut into one slab per
    rank along the first spatial axis: see layout().
    """
    return _matrix("conv_matrix", False, weight, input_size, comm, max_memory, stride=stride,
                   padding=padding, dilation=dilation, groups=groups, padding_mode=padding_mode)


def conv_transpose_matrix(weight, input_size, stride=1, padding=0, output_padding=0, groups=1,
                          dilation=1, *, comm=None, max_memory=None):
    """The transposed convolution's matrix W.T as a distributed PETSc.Mat: PETSc's virtual
    transpose (MATTRANSPOSEVIRTUAL) of the convolution's W, so ``M.mult`` runs W's
    multTranspose -- no transposed copy. Parameters as convmat.conv_transpose_matrix, plus comm
    and max_memory as in conv_matrix."""
    return _matrix("conv_transpose_matrix", True, weight, input_size, comm, max_memory,
                   stride=stride, padding=padding, output_padding=output_padding, groups=groups,
                   dilation=dilation)


def refill(M, weight):
    """New weights, same structure: every rank rewrites the values of its rows of W in PETSc's
    own arrays -- no new matrix, no assembly, no communication beyond agreeing on the input.

    weight : the layer's weight (the shape conv_matrix was given), converted to float64.
    Collective: every rank calls it with the same weight.
    """
    w = _a.array(weight, "refill", "weight")
    _core.refill(M, w.astype("float64", copy=False))


def _side(fn, side):
    side = _a.string(fn, "side", side)
    if side not in ("input", "output"):
        raise ValueError(f"{fn}: side must be 'input' or 'output', got {side!r}")
    return side


def scatter(M, sample, side="input"):
    """A whole sample of the layer's input (side="input", M's columns) or output
    (side="output", M's rows), shape (C, *spatial), given on rank 0 -- the others pass None --
    as a new distributed PETSc.Vec in M's layout: each rank receives its slab. Collective; a
    wrong shape on rank 0 is a ValueError on every rank."""
    return _core.scatter(M, _side("scatter", side), sample)


def gather(M, vec, side="output"):
    """A distributed vector of the layer's output (side="output") or input (side="input") back
    to a whole (C, *spatial) float64 array in C order on rank 0; the other ranks get None.
    Collective: every rank calls it with its part of the vector."""
    return _core.gather(M, _side("gather", side), vec)


def from_local(M, slab, side="input"):
    """A distributed PETSc.Vec from each rank's own slab -- ``x[:, begin:end]`` of the
    (C, *spatial) sample, (begin, end) = layout(M)["input_slab"] -- without communication."""
    return _core.from_local(M, _side("from_local", side), slab)


def to_local(M, vec, side="output"):
    """This rank's slab of a distributed vector as a float64 array (C, end - begin, *rest), with
    (begin, end) = layout(M)["output_slab"] (side="output") or ["input_slab"], read from the
    vector's local part without communication."""
    return _core.to_local(M, _side("to_local", side), vec)


def layout(M):
    """This rank's share: ranks, rank, input_slab and output_slab ((begin, end) along the first
    spatial axis), nnz (all ranks) and local_nnz, halo_received / halo_sent (values per product,
    counted from W's structure) and halo_neighbours, interface_halo (the formula
    ((k - 1) d + 1 - s) * C * prod(other input sizes) per interface), rank_matrix_bytes (the
    memory guard's estimate of this rank's share)."""
    return _core.layout(M)


def deconvolve(M, b, damp=0.0, atol=1e-6, btol=1e-6, conlim=1e8, iter_lim=None, *,
               adjoint=False):
    """x = argmin ||M x - b||^2 + damp^2 ||x||^2 by PETSc's KSPLSQR (adjoint=True: the same for
    M.T, b an input vector, x an output vector).

    The keywords and stopping rules are convmat.lstsq's (SciPy's lsqr): istop 1 (||r|| <= btol
    ||b|| + atol ||M|| ||x||), 2 (||M.T r - damp^2 x|| <= atol ||M|| ||r||), 3 (cond estimate >=
    conlim), 4-6 (the same at machine precision), 7 (iter_lim, default 2 * columns).

    Returns (x, info): x a new PETSc.Vec, info the dict of convmat.lstsq (method "lsqr", status,
    message, istop, iterations, residual_norm, relative_residual, normal_residual_norm,
    solution_norm, condition_estimate, residual_history: KSPLSQR's estimate per iteration).
    Collective.
    """
    fn = "deconvolve"
    options = _options(fn, damp, atol, btol, conlim, iter_lim, None, None, "automatic")
    x, info = _core.deconvolve(M, b, options, bool(adjoint))
    return x, _info(info, None)


def singular_values(M, k=6, which="both", method="shift_invert", ncv=None, tol=1e-10,
                    maxiter=1000):
    """The k largest and/or smallest singular values of a distributed layer matrix, by SLEPc.

    Parameters
    ----------
    M : a matrix of conv_matrix / conv_transpose_matrix (W and W.T share singular values)
    k, ncv, tol, maxiter : as convmat.largest_singular_values
    which : "largest", "smallest" or "both"
    method : for the smallest: "shift_invert" (Krylov-Schur on (G + delta I)^-1, G the smaller
        Gram matrix, factored by MUMPS -- the serial method) or "lanczos" (SLEPc's thick-restart
        Lanczos, matrix-free, slow when small singular values cluster)

    Returns
    -------
    dict: "largest" and/or "smallest" (convmat.analysis.PartialSingularValues: largest
    descending, smallest ascending) and, for "both", "condition_number" (largest[0] /
    smallest[0], NaN unless both converged). Collective; ValueError for invalid options.
    """
    fn = "singular_values"
    d = _core.extremes(M, _a.string(fn, "which", which), _a.integer(fn, "k", k),
                       0 if ncv is None else _a.integer(fn, "ncv", ncv),
                       _a.integer(fn, "maxiter", maxiter), _a.number(fn, "tol", tol),
                       _a.string(fn, "method", method))
    result = {part: PartialSingularValues(**d[part]) for part in ("largest", "smallest") if part in d}
    if "condition" in d:
        result["condition_number"] = d["condition"]["value"]
    return result
