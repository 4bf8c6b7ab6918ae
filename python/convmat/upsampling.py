"""Upsampling as a matrix: ``torch.nn.functional.interpolate`` is linear, so it is a sparse U.

upsampling_matrix(input_size, size | scale_factor, mode, align_corners)   U, scipy csr
interpolate(input, size | scale_factor, mode, align_corners)             U applied, as F.interpolate
bilinear_kernel(channels, rank)                                          the transposed-conv weight
                                                                         of bilinear x2 upsampling

Modes: "nearest", "nearest-exact", "linear" (1-d), "bilinear" (2-d), "trilinear" (3-d), with
PyTorch's exact index arithmetic (aten/src/ATen/native/UpSample.h): with a scale_factor the
source index uses 1/scale_factor, not n/out (recompute_scale_factor=True switches to n/out), and
align_corners=True maps the corner pixels onto each other. nn.UpsamplingNearest2d is
mode="nearest", nn.UpsamplingBilinear2d is mode="bilinear", align_corners=True.
"""

import numpy as np
import scipy.sparse

from convmat import _arguments as _a
from convmat import _convmat as _core
from convmat import matrices as _matrices

__all__ = ["upsampling_matrix", "interpolate", "bilinear_kernel"]

_LINEAR = {"linear", "bilinear", "trilinear"}


def _dtype_name(op, dtype):
    try:
        d = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{op}: dtype must be numpy.float32 or numpy.float64, got {dtype!r}") \
            from None
    if d not in (np.float32, np.float64):
        raise TypeError(f"{op}: dtype must be numpy.float32 or numpy.float64, got {d}")
    return d.name


def _matrix(op, input_size, size, scale_factor, mode, align_corners, channels,
            recompute_scale_factor, dtype):
    """(U, output_size) -- the arguments checked as F.interpolate checks them."""
    mode = _a.string(op, "mode", mode)
    if align_corners is not None and mode not in _LINEAR:
        # F.interpolate's rule: align_corners may not even be given for the other modes.
        raise ValueError(f"{op}: align_corners option can only be set with the interpolating "
                         f"modes: linear | bilinear | trilinear, got mode {mode!r} with "
                         f"align_corners={align_corners!r}")
    align = False if align_corners is None else _a.boolean(op, "align_corners", align_corners)
    recompute = (False if recompute_scale_factor is None
                 else _a.boolean(op, "recompute_scale_factor", recompute_scale_factor))
    sizes = [] if size is None else _a.ints(op, "size", size)
    scales = [] if scale_factor is None else _a.numbers(op, "scale_factor", scale_factor)
    csr, output_size, _ = _core.upsampling_matrix(
        _a.integer(op, "channels", channels), _a.ints(op, "input_size", input_size), sizes,
        scales, mode, align, recompute, _dtype_name(op, dtype))
    data, indices, indptr, shape = csr
    return scipy.sparse.csr_matrix((data, indices, indptr), shape=shape, copy=False), output_size


def upsampling_matrix(input_size, size=None, scale_factor=None, mode="nearest",
                      align_corners=None, channels=1, recompute_scale_factor=None,
                      dtype=np.float64, format="scipy"):
    """The matrix U of ``torch.nn.functional.interpolate``: ``interpolate(x) == U @ x.ravel()``
    for one sample x of shape (channels, *input_size).

    Parameters
    ----------
    input_size : the spatial input size, an int (1-d) or a tuple of 1 to 3 ints (sets the rank)
    size : the output size (int for every dimension, or a tuple) -- or
    scale_factor : a float or a tuple of floats; output size floor(n * scale_factor)
    mode : "nearest", "nearest-exact", "linear" (rank 1), "bilinear" (rank 2), "trilinear" (3)
    align_corners : None (= False) or a bool, only for the linear modes (F.interpolate's rule)
    channels : the number of channels (U is block diagonal, one block per channel)
    recompute_scale_factor : as F.interpolate: True uses n/out instead of 1/scale_factor
    dtype : numpy.float64 (default) or numpy.float32 (PyTorch's float32 arithmetic)
    format : "scipy" (default) or "torch": a torch.sparse_csr_tensor sharing the same arrays

    Returns
    -------
    scipy.sparse.csr_matrix (channels * prod(out), channels * prod(input_size)). Nearest modes
    have one 1 per row; linear modes at most 2**rank weights (1 - l, l) products per row.

    Raises ValueError for what F.interpolate rejects (the rule and the values).

    Example
    -------
    >>> U = convmat.upsampling_matrix((3, 3), scale_factor=2, mode="bilinear", align_corners=True)
    >>> (U @ numpy.arange(1.0, 10.0)).reshape(6, 6)[0]   # nn.UpsamplingBilinear2d, seed 002
    array([1. , 1.4, 1.8, 2.2, 2.6, 3. ])
    """
    _matrices.check_format("upsampling_matrix", format)
    return _matrices.as_format(
        "upsampling_matrix", _matrix("upsampling_matrix", input_size, size, scale_factor, mode,
                                     align_corners, channels, recompute_scale_factor, dtype)[0],
        format)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None):
    """``torch.nn.functional.interpolate`` computed as ``U @ x`` (see upsampling_matrix).

    Parameters
    ----------
    input : ndarray (N, C, *spatial) with 1 to 3 spatial dimensions, float32 or float64
    size, scale_factor, mode, align_corners, recompute_scale_factor : as F.interpolate

    Returns
    -------
    ndarray (N, C, *out) in the input's dtype.

    One difference: PyTorch 1.13 computes 2-d and 3-d inputs with a single channel by its
    channels-last kernel, whose "nearest" mode copies when out = n and takes j // 2 when
    out = 2n whatever the scale factor (e.g. n = 2, scale_factor 2.2); convmat follows its
    channels-first kernel (1/scale_factor) for every input.
    """
    op = "interpolate"
    x = _a.array(input, op, "input")
    if x.ndim not in (3, 4, 5):
        raise ValueError(f"{op}: input must be (N, C, *spatial) with 1 to 3 spatial dimensions "
                         f"(3-d to 5-d), got shape {x.shape}")
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"{op}: input has dtype {x.dtype}, but convmat computes in float32 or "
                        f"float64 (convert it with .astype(numpy.float64))")
    U, output_size = _matrix(op, x.shape[2:], size, scale_factor, mode, align_corners, 1,
                             recompute_scale_factor, x.dtype)
    # One channel's U on every (sample, channel): columns of a (prod(n), N*C) block.
    samples = x.reshape(-1, int(np.prod(x.shape[2:])))
    return np.ascontiguousarray((U @ samples.T).T).reshape(x.shape[:2] + tuple(output_size))


def bilinear_kernel(channels=1, rank=2, dtype=np.float64):
    """The weight of bilinear x2 upsampling as a transposed convolution: [1, 3, 3, 1] / 4 along
    each axis, their outer product, shape (channels, 1, 4, ...) for
    ``conv_transpose{rank}d(x, w, stride=2, padding=1, groups=channels)``.

    Away from the border that layer equals ``interpolate(x, scale_factor=2, mode="bilinear")``
    (linear / trilinear for rank 1 / 3, align_corners=False); on the first and last position of
    each axis the interpolation gives the edge pixel weight 1, the transposed convolution 3/4.
    """
    op = "bilinear_kernel"
    return _core.bilinear_kernel(_a.integer(op, "channels", channels),
                                 _a.integer(op, "rank", rank), _dtype_name(op, dtype))
