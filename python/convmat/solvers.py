"""Least squares and deconvolution: the real inverse of a layer, not the transposed convolution.

    x, info = convmat.lstsq(A, b, method="qr")       min ||A x - b||^2 + damp^2 ||x||^2
    x, info = convmat.deconvolve(y, w, input_size, op="conv2d", stride=2)   x from y = conv(x)

Methods (include/convmat/lsq.hpp):
    "qr"        SuiteSparseQR, rank-revealing; the minimum-norm solution for wide or
                rank-deficient A (numpy.linalg.lstsq's answer); exact to rounding
    "cholesky"  CHOLMOD on the damped normal equations (A.T A + damp^2 I) or A A.T + damp^2 I;
                the fastest direct method, squares cond(A)
    "lsqr"      Paige & Saunders' LSQR, matrix-free (scipy.sparse.linalg.lsqr's algorithm,
                keywords and stopping rules)
    "lsmr"      Fong & Saunders' LSMR, matrix-free (scipy.sparse.linalg.lsmr's)

Numerical outcomes -- iteration limit, condition limit, a matrix that is not positive definite --
are reported in ``info["status"]``, never raised. Invalid input raises ValueError (the C++
message), wrong types TypeError. A solve whose estimated memory (A, the arrays, and for QR and
Cholesky the factor: 8 times the nonzeros of the Gram matrix) passes convmat.memory_limit() raises
convmat.MemoryLimitExceeded before it runs, with the estimate.
"""

import numpy as np
import scipy.sparse

from convmat import _arguments as _a
from convmat import _convmat as _core
from convmat import _layers
from convmat.layer import Layer

__all__ = ["lstsq", "deconvolve"]

_METHODS = ("qr", "cholesky", "lsqr", "lsmr")


def _options(fn, damp, atol, btol, conlim, iter_lim, maxiter, qr_tol, cholesky_form,
             preconditioner="none", preconditioner_delta=None, noise_level=None,
             discrepancy_factor=1.01):
    if iter_lim is not None and maxiter is not None:
        raise TypeError(f"{fn}: give iter_lim (scipy's lsqr) or maxiter (scipy's lsmr), not both")
    limit = iter_lim if iter_lim is not None else maxiter
    rule = "given"
    if isinstance(damp, str):
        if damp != "gcv":
            raise ValueError(f"{fn}: damp must be a number or 'gcv', got {damp!r}")
        rule, damp = "gcv", 0.0
    return _core.LsqOptions(
        damp=_a.number(fn, "damp", damp), atol=_a.number(fn, "atol", atol),
        btol=_a.number(fn, "btol", btol), conlim=_a.number(fn, "conlim", conlim),
        iteration_limit=0 if limit is None else _a.integer(
            fn, "iter_lim" if iter_lim is not None else "maxiter", limit),
        qr_tolerance=-1.0 if qr_tol is None else _a.number(fn, "qr_tol", qr_tol),
        cholesky_form=_a.string(fn, "cholesky_form", cholesky_form), damp_rule=rule,
        preconditioner=preconditioner,
        preconditioner_delta=-1.0 if preconditioner_delta is None else _a.number(
            fn, "preconditioner_delta", preconditioner_delta),
        noise_level=0.0 if noise_level is None else _a.number(fn, "noise_level", noise_level),
        discrepancy_factor=_a.number(fn, "discrepancy_factor", discrepancy_factor))


def _preconditioner(fn, preconditioner, side, shape):
    """(kind for LsqOptions, (size, matvec, rmatvec, side) for an operator or None).

    A string names a layer preconditioner (the C++ core reads the name and decides whether it
    applies: preconditioner_kind_from_string, ValueError for an unknown one); anything
    with matvec and rmatvec is a user-supplied square operator S on `side` ("left": S A, size
    A.shape[0]; "right": A S, size A.shape[1]; default: left for a wide or square A, else right).
    """
    if preconditioner is None:
        return "none", None
    if isinstance(preconditioner, str):
        if side is not None:
            raise TypeError(f"{fn}: preconditioner_side is for a preconditioner operator; "
                            f"{preconditioner!r} picks its own side")
        return preconditioner, None
    if not _is_operator(preconditioner):
        raise TypeError(f"{fn}: preconditioner must be a string or an operator with matvec and "
                        f"rmatvec, got {type(preconditioner).__name__}")
    if side is None:
        side = "left" if shape[0] <= shape[1] else "right"
    side = _a.string(fn, "preconditioner_side", side)
    size = shape[0] if side == "left" else shape[1]
    pshape = tuple(getattr(preconditioner, "shape", (size, size)))
    if pshape != (size, size):
        raise ValueError(f"{fn}: a {side} preconditioner for A of shape {tuple(shape)} must be "
                         f"{size}x{size}, got shape {pshape}")
    return "none", (size, preconditioner.matvec, preconditioner.rmatvec, side)


def _starting_vectors(fn, x0, columns, n):
    """x0 as the (k, n) C-order block the C++ core takes (one starting vector per row)."""
    if x0 is None:
        return None
    a = _a.array(x0)
    want = (n,) if columns is None else (n, columns)
    if a.shape != want:
        raise ValueError(f"{fn}: x0 must have shape {want} (one starting vector per right-hand "
                         f"side), got {a.shape}")
    return np.ascontiguousarray(a.reshape(n, -1).T)


def _method(fn, method):
    method = _a.string(fn, "method", method)
    if method not in _METHODS:
        raise ValueError(f"{fn}: method must be one of 'qr', 'cholesky', 'lsqr', 'lsmr', got "
                         f"{method!r}")
    return method


def _is_operator(A):
    return (not scipy.sparse.issparse(A) and not isinstance(A, np.ndarray)
            and hasattr(A, "matvec") and hasattr(A, "rmatvec"))


def _info(info, columns):
    """The C++ info dict (LsqInfo's fields) with SciPy's name istop for stop_code; one residual
    history (an array) for a 1-d b."""
    info = {("istop" if k == "stop_code" else k): v for k, v in info.items()}
    if columns is None:
        info["residual_history"] = (info["residual_history"][0] if info["residual_history"]
                                    else np.zeros(0))
    return info


def lstsq(A, b, method="qr", damp=0.0, atol=1e-6, btol=1e-6, conlim=1e8, iter_lim=None, *,
          maxiter=None, qr_tol=None, cholesky_form="automatic", x0=None, preconditioner=None,
          preconditioner_side=None, preconditioner_delta=None, noise_level=None,
          discrepancy_factor=1.01):
    """x = argmin ||A x - b||^2 + damp^2 ||x||^2, the minimum-norm one among the minimizers.

    For damp = 0 that is the pseudo-inverse solution A+ b (numpy.linalg.lstsq(A, b)[0],
    MATLAB's lsqminnorm). The keywords mean what they mean in scipy.sparse.linalg.lsqr / lsmr.

    Parameters
    ----------
    A : scipy.sparse matrix or 2-D array (float32 or float64: every method), a convmat.Layer
        (every method, on the layer's own W, and its preconditioners), or an operator --
        scipy.sparse.linalg.LinearOperator or any object with ``shape``, ``matvec(x)`` and
        ``rmatvec(y)`` (A x and A.T y) -- for "lsqr" and "lsmr" only
    b : ndarray (m,) or (m, k): one or k right-hand sides, A's dtype (an operator takes b's)
    method : "qr" (default), "cholesky", "lsqr" or "lsmr"
    damp : the regularization lambda >= 0 (every method), or "gcv": lambda by generalized
        cross-validation (exact from A's SVD up to 2**22 entries; for a larger Layer on its
        FFT-diagonalized problem); info["damp"] is the one used
    atol, btol, conlim : LSQR/LSMR stopping rules, SciPy's: stop when ||r|| <= btol ||b|| +
        atol ||A|| ||x|| (a consistent system is solved), when ||A.T r - damp^2 x|| <= atol ||A||
        ||r|| (a least-squares solution is found), or when cond estimate >= conlim (0: none)
    iter_lim, maxiter : LSQR/LSMR iteration limit per right-hand side (either name: lsqr's or
        lsmr's); default 2 * A.shape[1]
    qr_tol : QR's rank tolerance on column norms (default SuiteSparseQR's 20 (m + n) eps max
        column norm; 0: only exact dependence)
    cholesky_form : "automatic" (the smaller Gram matrix), "normal_equations" or "min_norm"
    x0 : LSQR/LSMR starting vectors, shape (n,) or (n, k) like x (SciPy's x0: the damping then
        applies to x - x0; the minimum-norm limit needs x0 in the range of A.T, e.g. 0)
    preconditioner : LSQR/LSMR. None (default); for a Layer "auto", "dct" or "circulant" (its
        FFT-diagonalized Gram matrix, include/convmat/solve/preconditioner.hpp: the answer is
        still the minimum-norm solution, in far fewer iterations); or an operator S (matvec,
        rmatvec) applied on preconditioner_side ("left": S A x ~ S b, "right": x = S y)
    preconditioner_delta : delta >= 0: the layer preconditioner inverts G + delta^2 I (noisy
        data); default automatic (0, or with noise_level the discrepancy damp of the
        FFT-diagonalized problem)
    noise_level, discrepancy_factor : LSQR/LSMR on noisy data, ||e|| / ||b||: stop at the first
        iterate with ||b - A x|| <= discrepancy_factor * noise_level * ||b|| (istop 8)

    Returns
    -------
    (x, info): x of shape (n,) or (n, k) in b's dtype; info a dict with
        method, status ("success", "condition_limit", "iteration_limit",
        "not_positive_definite", "cancelled", "numerical_issue"), message (why it stopped),
        istop (SciPy's stop code for LSQR/LSMR, -1 otherwise), rank (QR; -1 otherwise),
        iterations, residual_norm ||b - A x|| (Frobenius over columns), relative_residual,
        normal_residual_norm ||A.T (b - A x) - damp^2 x||, solution_norm, condition_estimate,
        qr_tolerance, damp, preconditioner ("none", "dct", "circulant", "custom"),
        preconditioner_side, preconditioner_delta, residual_history (LSQR/LSMR: the residual
        after each iteration, an array -- a list of arrays for a 2-d b).

    Example
    -------
    >>> A = numpy.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    >>> x, info = convmat.lstsq(A, numpy.array([1.0, 2.0, 3.0]))
    >>> x, info["rank"], round(info["residual_norm"], 12)
    (array([1., 1.]), 2, 3.0)
    """
    fn = "lstsq"
    method = _method(fn, method)
    shape = tuple(getattr(A, "shape", ()))
    kind, operator = _preconditioner(fn, preconditioner, preconditioner_side,
                                     shape if len(shape) == 2 else (0, 0))
    options = _options(fn, damp, atol, btol, conlim, iter_lim, maxiter, qr_tol, cholesky_form,
                       kind, preconditioner_delta, noise_level, discrepancy_factor)
    rhs = _a.array(b)
    if rhs is None or rhs.ndim not in (1, 2):
        raise ValueError(f"{fn}: b must be a 1-d or 2-d array, got "
                         f"{'None' if rhs is None else f'shape {rhs.shape}'}")
    if rhs.size == 0:  # nothing to solve for; the C++ rules name the empty dimension
        shape = tuple(getattr(A, "shape", ()))
        if len(shape) == 2 and min(shape) > 0 and rhs.shape[0] != shape[0]:
            raise ValueError(f"{fn}: b must have A.shape[0] = {shape[0]} rows, got "
                             f"{rhs.shape[0]} (b of shape {rhs.shape})")
        raise ValueError(f"{fn}: A must have at least one row and column and b at least one "
                         f"column, got A of shape {shape} and b of shape {rhs.shape}")
    columns = None if rhs.ndim == 1 else rhs.shape[1]
    block = np.ascontiguousarray(rhs.reshape(rhs.shape[0], -1).T)  # (k, m): C++'s column-major
    start = _starting_vectors(fn, x0, columns, shape[1]) if len(shape) == 2 else None
    if isinstance(A, Layer):
        x, info = A._lstsq(block, method, options, start, operator)
    elif _is_operator(A):
        if method in ("qr", "cholesky"):
            raise TypeError(f"{fn}: method {method!r} factorizes the matrix and needs its entries;"
                            f" an operator ({type(A).__name__}) works with 'lsqr' or 'lsmr' -- or "
                            f"pass a scipy.sparse matrix")
        try:
            rows, cols = (_a.integer(fn, "A.shape", v) for v in A.shape)
        except (AttributeError, TypeError, ValueError):
            raise TypeError(f"{fn}: the operator A must have shape (m, n), got "
                            f"{getattr(A, 'shape', None)!r}") from None
        x, info = _core.lstsq_operator(rows, cols, A.matvec, A.rmatvec, block, method, options,
                                       start, operator)
    else:
        if isinstance(A, (str, bytes)) or A is None or not (
                scipy.sparse.issparse(A) or hasattr(A, "__array__") or isinstance(A, list)):
            raise TypeError(f"{fn}: A must be a scipy.sparse matrix, a 2-d array, or an operator "
                            f"with shape, matvec and rmatvec; got {type(A).__name__}")
        x, info = _core.lstsq_matrix(*_a.csr(fn, "A", A), block, method, options, start,
                                     operator)
    x = x[0] if columns is None else np.ascontiguousarray(x.T)
    return x, _info(info, columns)


def deconvolve(output, weight, input_size, bias=None, op="conv", method="qr", damp=0.0,
               atol=1e-6, btol=1e-6, conlim=1e8, iter_lim=None, *, maxiter=None, qr_tol=None,
               cholesky_form="automatic", x0=None, preconditioner=None, preconditioner_side=None,
               preconditioner_delta=None, noise_level=None, discrepancy_factor=1.01, **layer):
    """The layer's input recovered from its output by least squares: deconvolution.

    x = argmin ||M x - y||^2 + damp^2 ||x||^2 per sample, M the layer's matrix (W for a
    convolution, W.T for a transposed one), minimum-norm when the layer loses information. Both
    directions of seed 000's remark, "deconvolution, not transposed convolution, is the inverse":
        recover x from y = conv2d(x, w, ...):            deconvolve(y, w, x_size, op="conv2d", ...)
        recover y from x' = conv_transpose2d(y, w, ...): deconvolve(x', w, y_size,
                                                                    op="conv_transpose2d", ...)

    Parameters
    ----------
    output : the layer's output, (N, C_out, *out) or unbatched (C_out, *out), float32/float64
    weight : the layer's weight in PyTorch's layout, output's dtype
    input_size : the spatial size of the input to recover (int or tuple): a strided convolution
        maps several sizes to the same output size
    bias : the layer's bias (subtracted first), or None
    op : "conv" (default), "conv1d".."conv3d", "conv_transpose", "conv_transpose1d".."3d",
        "onnx_conv", "onnx_conv_transpose", "tf_conv", "tf_conv_transpose",
        "tf_depthwise_conv2d", "xla_conv"
    **layer : that op's keywords (stride, padding, dilation, groups, output_padding, ...), and
        data_format / weight_format for arrays in another layout (x is returned in it)
    method, damp, atol, btol, conlim, iter_lim, maxiter, qr_tol, cholesky_form : as in lstsq
    x0 : LSQR/LSMR starting input, the shape of x (as in lstsq)
    preconditioner, preconditioner_side, preconditioner_delta, noise_level, discrepancy_factor :
        as in lstsq ("auto", "dct", "circulant": the layer's own preconditioner)

    Returns
    -------
    (x, info): x the input, (N, C_in, *input_size) or unbatched, in the output's dtype; info as
    in lstsq (residuals over the whole batch).

    Example
    -------
    >>> x = numpy.array([[[[0.0, 1.0], [2.0, 3.0]]]])           # seed 000: 2x2 -> 3x3 and back
    >>> y = convmat.conv_transpose2d(x, x)
    >>> back, info = convmat.deconvolve(y, x, 2, op="conv_transpose2d")
    >>> numpy.abs(back - x).max() < 1e-12, info["rank"]
    (True, 4)
    """
    fn = "deconvolve"
    method = _method(fn, method)
    y, w, b = _a.array(output, fn, "output"), _a.array(weight, fn, "weight"), _a.array(bias)
    description = _layers.layer(fn, op, layer)
    batched = y.ndim == w.ndim or description.batch_required
    batch = y.shape[0] if batched and y.ndim > 0 else None
    call = description.resolve(fn, description.input_shape(fn, w.shape, input_size, batch),
                               w.shape, layouts=True)
    if tuple(call.given_output_shape) != y.shape:
        raise ValueError(f"{fn}: output has shape {y.shape}, but op={op!r} on an input of shape "
                         f"{tuple(call.given_input_shape)} gives "
                         f"{tuple(call.given_output_shape)}")
    if call.has_layouts:  # solved in convmat's order, returned in the caller's
        y = _core.layout_array(call, "output", y, True)
        w = _core.layout_array(call, "weight", w, True)
    if b is not None:
        if b.shape != (call.spec.out_channels,):
            raise ValueError(f"{fn}: bias must have shape ({call.spec.out_channels},), got "
                             f"{b.shape}")
        if b.dtype != y.dtype:
            raise TypeError(f"{fn}: bias has dtype {b.dtype} but output has dtype {y.dtype}; they "
                            f"must have the same dtype (float32 or float64)")
        y = y - b.reshape((-1,) + (1,) * (y.ndim - (2 if batched else 1)))
    samples = y.reshape(call.batch, call.spec.output_numel)
    shape = (call.spec.output_numel, call.spec.input_numel)
    kind, operator = _preconditioner(fn, preconditioner, preconditioner_side, shape)
    options = _options(fn, damp, atol, btol, conlim, iter_lim, maxiter, qr_tol, cholesky_form,
                       kind, preconditioner_delta, noise_level, discrepancy_factor)
    start = None
    if x0 is not None:
        start = _a.array(x0)
        if call.has_layouts:  # in the input's layout, like x
            start = _core.layout_array(call, "input", start, True)
        if start.shape != tuple(call.input_shape):
            raise ValueError(f"{fn}: x0 must have the input's shape {tuple(call.input_shape)}, "
                             f"got {start.shape}")
        start = np.ascontiguousarray(start.reshape(call.batch, call.spec.input_numel))
    x, info = _core.deconvolve(call.spec, w, samples, method, options, start, operator)
    x = x.reshape(tuple(call.input_shape))
    if call.has_layouts:
        x = _core.layout_array(call, "input", x, False)
    return x, _info(info, call.batch)
