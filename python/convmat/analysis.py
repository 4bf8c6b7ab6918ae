"""How far is "transposed" from "inverse"? Singular values, the pseudo-inverse, the checkerboard.

The matrix functions take any matrix A -- a layer's ``conv_matrix(...)`` or
``conv_transpose_matrix(...)``, another scipy.sparse matrix, or a 2-D array -- and compute in
float64:

    singular_values(A)                all of them (dense SVD), rank, nullity, condition numbers
    largest_singular_values(A, k)     the k largest / smallest (Lanczos, for large A)
    smallest_singular_values(A, k)
    condition_number(A)               sigma_max / sigma_min
    pseudo_inverse(A)                 A+ (dense), numpy.linalg.pinv with an absolute tolerance
    transpose_versus_inverse(A)       ||A.T - A+|| / ||A+||, is A A.T = c I?, reconstructions

The layer functions take a weight and the layer's arguments:

    circular_singular_values(weight, input_size, ...)   Sedghi, Gupta & Long's FFT formula
    checkerboard(weight, input_size, stride, ...)       kernel taps reaching each output pixel

Dense computations hold A densely and accept at most ``DENSE_ENTRY_LIMIT`` = 2**22 entries
(e.g. 2048 x 2048); larger A raises ValueError naming the size (use the Lanczos functions).
Numerical outcomes (no convergence) are a ``status`` field, never an exception.
"""

from dataclasses import dataclass
from typing import Optional

import numpy as np

from convmat import _arguments as _a
from convmat import _convmat as _core
from convmat import _layers

__all__ = ["DENSE_ENTRY_LIMIT", "SingularValues", "PartialSingularValues",
           "TransposeVersusInverse", "CircularSpectrum", "Checkerboard", "singular_values",
           "largest_singular_values", "smallest_singular_values", "condition_number",
           "pseudo_inverse", "transpose_versus_inverse", "circular_singular_values",
           "checkerboard"]

DENSE_ENTRY_LIMIT = _core.dense_entry_limit


@dataclass(frozen=True)
class SingularValues:
    """Every singular value of an m x n matrix A, and what follows from them.

    values : ndarray, the min(m, n) singular values, descending (numpy.linalg.svd's S)
    rank : #{sigma > tolerance}
    tolerance : the rank tolerance, by default max(m, n) * eps * sigma_1 (numpy.linalg.matrix_rank's
        and MATLAB's rank()), eps = 2**-52
    nullity : n - rank, the dimension of A's null space
    condition_number : sigma_1 / sigma_min(m,n), inf when rank < min(m, n)
    effective_condition_number : sigma_1 / sigma_rank, the condition on the row space
    shape : (m, n)
    status : "converged", or "not_converged" when LAPACK's SVD did not (practically never)
    """
    values: np.ndarray
    rank: int
    tolerance: float
    nullity: int
    condition_number: float
    effective_condition_number: float
    shape: tuple
    status: str


@dataclass(frozen=True)
class PartialSingularValues:
    """A few singular values by Lanczos (Spectra) on the smaller Gram matrix G.

    values : ndarray, the converged ones: largest descending, or smallest ascending
    status : "converged" (all k), "not_converged" (maxiter reached: `values` holds those that
        converged) or "numerical_issue" (the shift-invert factorization or Lanczos broke down)
    iterations : Lanczos restarts
    operations : products with G (largest) or solves with G + delta I (smallest)
    gram_size : min(m, n)
    """
    values: np.ndarray
    status: str
    iterations: int
    operations: int
    gram_size: int

    @property
    def converged(self):
        return self.status == "converged"


@dataclass(frozen=True)
class TransposeVersusInverse:
    """How far A.T is from A+ (the C++ TransposeVersusInverse, pseudo_inverse.hpp).

    With G the smaller Gram matrix (A A.T for m <= n, else A.T A) and c = trace(G) / min(m, n):
    if G = c I (orthogonal rows, or columns, of equal norm) then A.T = c A+.

    relative_difference : ||A.T - A+||_F / ||A+||_F
    scale : c
    gram_error : ||G - c I||_F / ||G||_F
    orthogonality_tolerance : the threshold for gram_error (default 16 max(m, n) eps)
    orthogonal_rows, orthogonal_columns : gram_error <= that threshold, for m <= n / m >= n
    scaled_relative_difference : ||A.T / c - A+||_F / ||A+||_F
    transpose_reconstruction_error : ||A.T A x - x|| / ||x||
    scaled_transpose_reconstruction_error : ||A.T A x / c - x|| / ||x||
    inverse_reconstruction_error : ||A+ A x - x|| / ||x|| (0 for full column rank, else the part
        of x in A's null space)
    rank, tolerance : A's rank with the pseudo-inverse's tolerance
    shape : (m, n)
    status : of the SVD behind A+
    """
    relative_difference: float
    scale: float
    gram_error: float
    orthogonality_tolerance: float
    orthogonal_rows: bool
    orthogonal_columns: bool
    scaled_relative_difference: float
    transpose_reconstruction_error: float
    scaled_transpose_reconstruction_error: float
    inverse_reconstruction_error: float
    rank: int
    tolerance: float
    shape: tuple
    status: str


@dataclass(frozen=True)
class CircularSpectrum:
    """The singular values of a circular convolution from the kernel's FFT.

    values : ndarray, all prod(input_size) * min(C_out, C_in), descending
    by_frequency : ndarray (*input_size, min(C_out, C_in)): the singular values of the
        C_out x C_in matrix P(f) of each frequency f, descending
    """
    values: np.ndarray
    by_frequency: np.ndarray


@dataclass(frozen=True)
class Checkerboard:
    """How many kernel taps of a transposed convolution reach each output position.

    tap_count : int ndarray of the output's spatial shape: taps reaching each position from one
        input channel
    weight_sum : ndarray (C_out, *output_size): the layer applied to an all-ones input (the
        total weight reaching each position), or None when only the weight's shape was given
    interior : tuple of slices, the positions every tap could reach (away from the border), or
        None when empty; tap_count[interior] is the periodic pattern
    interior_positions : how many positions the interior has
    min_taps, max_taps, mean_taps : over the interior
    tap_amplitude : (max - min) / mean of tap_count over the interior (NaN when empty)
    weight_amplitude : per output channel, (max - min) / |mean| of weight_sum over the interior
    even : the interior is non-empty and every position in it has the same tap count
    period : the stride; the pattern repeats with this period
    period_pattern : int ndarray of shape `period`: tap counts over one period from the
        interior's first position, or None when the interior is shorter than the stride
    """
    tap_count: np.ndarray
    weight_sum: Optional[np.ndarray]
    interior: Optional[tuple]
    interior_positions: int
    min_taps: int
    max_taps: int
    mean_taps: float
    tap_amplitude: float
    weight_amplitude: tuple
    even: bool
    period: tuple
    period_pattern: Optional[np.ndarray]


def _matrix(op, A):
    """A -> the C++ core's (data, indices, indptr, rows, cols) in float64."""
    return _a.csr(op, "A", A, dtype=np.float64)


def singular_values(A, tol=None):
    """Every singular value of A, its rank, nullity and condition numbers (dense SVD).

    Parameters
    ----------
    A : scipy.sparse matrix or 2-D array, at most DENSE_ENTRY_LIMIT entries
    tol : absolute rank tolerance (default max(m, n) * eps * sigma_1, as numpy.linalg.matrix_rank)

    Returns
    -------
    SingularValues: ``.values`` equals ``numpy.linalg.svd(A.toarray(), compute_uv=False)``.

    Example
    -------
    >>> W = convmat.conv_matrix(numpy.array([[[[1.0, 2.0], [3.0, 4.0]]]]), (3, 3))
    >>> s = convmat.singular_values(W)      # W is 4 x 9
    >>> s.rank, s.nullity
    (4, 5)
    """
    op = "singular_values"
    d = _core.singular_values(*_matrix(op, A), _a.optional_number(op, "tol", tol))
    return SingularValues(shape=(d.pop("rows"), d.pop("cols")), **d)


def _partial(op, A, k, ncv, tol, maxiter):
    d = getattr(_core, op)(*_matrix(op, A), count=_a.integer(op, "k", k),
                           subspace=0 if ncv is None else _a.integer(op, "ncv", ncv),
                           max_iterations=_a.integer(op, "maxiter", maxiter),
                           tolerance=_a.number(op, "tol", tol))
    return PartialSingularValues(**d)


_PARTIAL_DOC = """The k {which} singular values of A by Spectra's Lanczos method, for A too large
for the dense SVD (scipy.sparse.linalg.svds(A, k, which="{svds}") computes the same values).

{how}

Parameters (named as in scipy.sparse.linalg.svds / eigsh)
----------
A : scipy.sparse matrix or 2-D array (m x n)
k : how many, 1 <= k < min(m, n)
ncv : Lanczos basis size, k < ncv <= min(m, n); default min(min(m, n), max(2k + 1, 20))
tol : relative accuracy of the Ritz values (default 1e-10)
maxiter : Lanczos restarts (default 1000)

Returns
-------
PartialSingularValues: ``.values`` {order}; ``.status`` says whether all k converged.

Accuracy: working on G = A A.T (or A.T A) squares the spectrum, so singular values below about
sqrt(eps) * sigma_1 ~ 1.5e-8 sigma_1 are at rounding level. A repeated singular value may be
returned fewer times than its multiplicity (singular_values is exact about that).
"""


def largest_singular_values(A, k=6, ncv=None, tol=1e-10, maxiter=1000):
    return _partial("largest_singular_values", A, k, ncv, tol, maxiter)


def smallest_singular_values(A, k=6, ncv=None, tol=1e-10, maxiter=1000):
    return _partial("smallest_singular_values", A, k, ncv, tol, maxiter)


largest_singular_values.__doc__ = _PARTIAL_DOC.format(
    which="largest", svds="LM", order="descending",
    how="Lanczos on G applied matrix-free (x -> A(A.T x)).")
smallest_singular_values.__doc__ = _PARTIAL_DOC.format(
    which="smallest", svds="SM", order="ascending",
    how="Shift-invert Lanczos on G formed explicitly, around -1e-10 ||G||_1 so that a "
        "rank-deficient A works (zeros come out at rounding level).")


def condition_number(A, method="auto", ncv=None, tol=1e-10, maxiter=1000):
    """sigma_max / sigma_min of A (the smaller dimension's min(m, n) singular values).

    Parameters
    ----------
    A : scipy.sparse matrix or 2-D array
    method : "dense" (every singular value: inf when A is rank-deficient, see singular_values),
        "lanczos" (one largest and one smallest by Lanczos: an estimate for large A, NaN when it
        did not converge) or "auto" (dense when A has at most DENSE_ENTRY_LIMIT entries)
    ncv, tol, maxiter : the Lanczos options of largest_singular_values

    Returns
    -------
    float (numpy.linalg.cond(A.toarray()) for full-rank A)
    """
    op = "condition_number"
    method = _a.string(op, "method", method)
    if method not in ("auto", "dense", "lanczos"):
        raise ValueError(f"{op}: method must be 'auto', 'dense' or 'lanczos', got {method!r}")
    data, indices, indptr, rows, cols = _matrix(op, A)
    if method == "auto":  # the library's choice (spectrum_method.hpp)
        method = _core.automatic_spectrum_method(rows, cols)
    if method == "dense":
        return _core.singular_values(data, indices, indptr, rows, cols)["condition_number"]
    d = _core.condition_number(data, indices, indptr, rows, cols,
                               subspace=0 if ncv is None else _a.integer(op, "ncv", ncv),
                               max_iterations=_a.integer(op, "maxiter", maxiter),
                               tolerance=_a.number(op, "tol", tol))
    return d["value"]


def pseudo_inverse(A, tol=None):
    """The Moore-Penrose pseudo-inverse A+ (dense n x m ndarray, float64) by the SVD.

    Singular values <= tol count as zero; the default tol = max(m, n) * eps * sigma_1 is MATLAB's
    pinv (numpy.linalg.pinv takes a relative rcond instead: tol = rcond * sigma_1).
    A has at most DENSE_ENTRY_LIMIT entries.
    """
    op = "pseudo_inverse"
    return _core.pseudo_inverse(*_matrix(op, A), _a.optional_number(op, "tol", tol))


def transpose_versus_inverse(A, x=None, rank_tol=None, orthogonality_tol=None):
    """Transposed versus inverse: how far A.T is from the pseudo-inverse A+ (dense).

    Seed 000: deconvolution, not transposed convolution, is the inverse. A.T equals c A+ exactly
    when A A.T = c I (A.T A = c I for tall A) -- e.g. stride = kernel size with one channel, where
    the kernel windows do not overlap and c = ||kernel||^2.

    Parameters
    ----------
    A : scipy.sparse matrix or 2-D array (a layer's conv_matrix), at most DENSE_ENTRY_LIMIT entries
    x : the test input for the reconstruction errors (n entries, any shape); default uniform in
        [-1, 1] from numpy.random.default_rng(0)
    rank_tol : rank tolerance of A+ (default max(m, n) eps sigma_1)
    orthogonality_tol : threshold on ||G - c I|| / ||G|| (default 16 max(m, n) eps)

    Returns
    -------
    TransposeVersusInverse
    """
    op = "transpose_versus_inverse"
    data, indices, indptr, rows, cols = _matrix(op, A)
    if x is None:
        x = np.random.default_rng(0).uniform(-1.0, 1.0, cols)
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{op}: x has dtype {x.dtype}, not a real number type")
    if x.size != cols:
        raise ValueError(f"{op}: x must have A.shape[1] = {cols} entries, got {x.size} "
                         f"(shape {x.shape})")
    d = _core.transpose_versus_inverse(data, indices, indptr, rows, cols,
                                       x.astype(np.float64).ravel(),
                                       _a.optional_number(op, "rank_tol", rank_tol),
                                       _a.optional_number(op, "orthogonality_tol",
                                                          orthogonality_tol))
    return TransposeVersusInverse(shape=(d.pop("rows"), d.pop("cols")), **d)


def _spec(op, kind, weight, input_size, keywords):
    """The ConvSpec of a layer given by its weight (an array, or just its shape) and input size;
    returns (spec, weight array or None)."""
    if isinstance(weight, np.ndarray) or hasattr(weight, "__array__"):
        w = _a.array(weight, op, "weight")
        shape = w.shape
    else:
        w, shape = None, _a.ints(op, "weight", weight)
    layer = _layers.layer(op, kind, keywords)
    call = layer.resolve(op, layer.input_shape(op, shape, input_size), shape)
    return call.spec, w


def circular_singular_values(weight, input_size, padding="same", dilation=1, groups=1,
                             padding_mode="circular"):
    """All singular values of a circular convolution, from the FFT of its kernel (Sedghi, Gupta
    & Long, "The singular values of convolutional layers", ICLR 2019).

    For a stride-1 convolution with circular padding whose output has the input's size, the DFT
    block-diagonalizes W: its singular values are the union over the frequencies f of the
    singular values of the C_out x C_in matrices P(f) = FFT of the (shifted, dilated,
    zero-padded) kernel -- ``numpy.linalg.svd(numpy.fft.fftn(h, axes=spatial).transpose(...))``.
    No matrix is built: prod(input_size) small SVDs instead of one of W's size.

    Parameters
    ----------
    weight : ndarray (C_out, C_in/groups, *k), float32 or float64
    input_size : int or tuple, the spatial size (also the output's)
    padding : "same" (default) or per-dimension ints with 2p = d(k - 1)
    dilation, groups : as in conv2d
    padding_mode : "circular" (the formula's assumption; "zeros" only works without padding)

    Returns
    -------
    CircularSpectrum: ``.values`` equals the singular values of
    ``conv_matrix(weight, input_size, padding=padding, padding_mode="circular", ...)``.
    """
    op = "circular_singular_values"
    spec, w = _spec(op, "conv", weight, input_size,
                    dict(padding=padding, dilation=dilation, groups=groups,
                         padding_mode=padding_mode))
    if w is None:
        raise TypeError(f"{op}: weight must be an array (the values matter), got {weight!r}")
    d = _core.circular_singular_values(spec, w)
    d["by_frequency"] = d["by_frequency"].reshape(tuple(spec.input_size) + (-1,))
    return CircularSpectrum(**d)


def checkerboard(weight, input_size, stride=1, padding=0, output_padding=0, groups=1,
                 dilation=1):
    """The checkerboard of a transposed convolution (Odena, Dumoulin & Olah, Distill 2016):
    how many kernel taps reach each output position, and with what total weight.

    Every input pixel splats the kernel at stride spacing; where the kernel size is not a
    multiple of the stride, neighbouring output pixels receive different numbers of taps. Away
    from the border (the interior) the pattern is periodic with the stride, and for dilation 1 it
    is even exactly when the stride divides the kernel size.

    Parameters
    ----------
    weight : ndarray (C_in, C_out/groups, *k) -- or just its shape, for the tap counts alone
    input_size : the transposed layer's input spatial size (int or tuple)
    stride, padding, output_padding, groups, dilation : as in conv_transpose2d

    Returns
    -------
    Checkerboard (tap_count and weight_sum have the output's spatial shape)

    Example
    -------
    >>> c = convmat.checkerboard((1, 1, 3, 3), 8, stride=2)   # kernel 3, stride 2: uneven
    >>> c.even, c.period_pattern
    (False, array([[4, 2],
           [2, 1]]))
    """
    op = "checkerboard"
    spec, w = _spec(op, "conv_transpose", weight, input_size,
                    dict(stride=stride, padding=padding, output_padding=output_padding,
                         groups=groups, dilation=dilation))
    d = _core.checkerboard(spec, w)
    begin, end = d.pop("interior_begin"), d.pop("interior_end")
    interior = (tuple(slice(b, e) for b, e in zip(begin, end))
                if begin and d["interior_positions"] > 0 else None)
    del d["size"], d["channels"]  # the shapes of tap_count and weight_sum
    d["weight_amplitude"] = tuple(float(v) for v in d["weight_amplitude"])
    return Checkerboard(interior=interior, **d)
