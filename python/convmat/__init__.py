"""convmat: convolution layers as explicit sparse matrices.

A convolution layer is linear, so it is a matrix W: convolution is ``W @ x``, transposed
convolution is ``W.T @ y``. convmat builds W sparsely in C++ and computes the layers with
PyTorch's and ONNX's exact semantics -- replace ``torch.nn.functional.`` by ``convmat.``:

>>> import numpy, convmat
>>> x = numpy.arange(9.0).reshape(1, 1, 3, 3)
>>> k = numpy.array([[[[1.0, 2.0], [3.0, 4.0]]]])
>>> W = convmat.conv_matrix(k, (3, 3))                   # 4 x 9, seed 000's kernel2matrix
>>> y = convmat.conv2d(x, k)                             # [[27, 37], [57, 67]] == W @ x.ravel()
>>> z = convmat.conv_transpose2d(y, k)                   # == W.T @ y.ravel(), "transposed"

Layers (NumPy in and out, float32 or float64, batched (N, C, *) or unbatched (C, *)):
    conv1d, conv2d, conv3d                          torch.nn.functional.conv*d (+ padding_mode)
    conv_transpose1d, conv_transpose2d, conv_transpose3d
    onnx_conv, onnx_conv_transpose                  ONNX Conv / ConvTranspose attributes
    tf_conv, tf_conv_transpose, tf_depthwise_conv2d tf.nn.convolution, conv_transpose,
                                                    depthwise_conv2d (channels last, HWIO)
    onnx_conv_integer, onnx_qlinear_conv            ONNX ConvInteger / QLinearConv, exactly
    xla_conv                                        jax.lax.conv_general_dilated (StableHLO)
Matrices (scipy.sparse.csr_matrix):
    conv_matrix                                     W
    conv_transpose_matrix                           Wᵀ, the transposed layer's matrix
    upsampling_matrix, interpolate, bilinear_kernel F.interpolate as a matrix U, and applied
    transposed_as_convolution                       Wᵀ = C·P·Z (flipped-kernel convolution)
    kernel_matrix, estimate_kernel                  A(x): layer(x, w) = A(x)·vec(w); w from (x, y)
Analysis (how far is Wᵀ from the inverse W⁺?):
    singular_values, largest_singular_values, smallest_singular_values, condition_number,
    pseudo_inverse, transpose_versus_inverse, circular_singular_values, checkerboard
A layer held in convmat's storage (W built once; a scipy LinearOperator):
    Layer                                           forward, apply, apply_adjoint, refill, matrix
Least squares (the real inverse; info dicts with rank, iterations, stop reason, residuals):
    lstsq                                           QR, Cholesky, LSQR, LSMR on a matrix, operator
                                                    or Layer; preconditioned LSQR/LSMR on a layer
    deconvolve                                      a layer's input from its output, both directions
The oracle (another implementation's output checked, blamed and diagnosed):
    check, diagnose
Memory: a W that would not fit under memory_limit() (default half the physical memory; see
set_memory_limit) raises MemoryLimitExceeded, a MemoryError, before it is built.

Functions that take a layer by its data (check, diagnose, kernel_matrix, estimate_kernel) name it
by ``op="conv2d"``, ``"conv_transpose2d"``, ``"onnx_conv"``, ``"tf_conv"``, ... and that
function's keywords; data_format= and weight_format= give the layouts of the arrays ("NHWC",
"HWIO", ...) to the layer functions, check, diagnose and deconvolve.
Every layer function takes ``method="matrix"`` (the sparse matrix, the default) or ``"loops"`` (the
independent direct loops) where it computes a layer. Invalid arguments raise ValueError carrying
the C++ rule and values; wrong types and dtypes raise TypeError.
"""

from convmat._convmat import __version__
from convmat.functional import (conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d,
                                conv_transpose3d)
from convmat.matrices import conv_matrix, conv_transpose_matrix
from convmat.onnx import onnx_conv, onnx_conv_integer, onnx_conv_transpose, onnx_qlinear_conv
from convmat.tensorflow import tf_conv, tf_conv_transpose, tf_depthwise_conv2d
from convmat.xla import xla_conv
from convmat.analysis import (DENSE_ENTRY_LIMIT, checkerboard, circular_singular_values,
                              condition_number, largest_singular_values, pseudo_inverse,
                              singular_values, smallest_singular_values,
                              transpose_versus_inverse)
from convmat.identities import estimate_kernel, kernel_matrix, transposed_as_convolution
from convmat.upsampling import bilinear_kernel, interpolate, upsampling_matrix
from convmat.oracle import check, diagnose
from convmat.layer import Layer
from convmat.solvers import deconvolve, lstsq
from convmat.memory import MemoryLimitExceeded, memory_limit, set_memory_limit

__all__ = [
    "conv1d", "conv2d", "conv3d",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "onnx_conv", "onnx_conv_transpose", "onnx_conv_integer", "onnx_qlinear_conv",
    "tf_conv", "tf_conv_transpose", "tf_depthwise_conv2d",
    "xla_conv",
    "conv_matrix", "conv_transpose_matrix",
    "upsampling_matrix", "interpolate", "bilinear_kernel",
    "transposed_as_convolution", "kernel_matrix", "estimate_kernel",
    "singular_values", "largest_singular_values", "smallest_singular_values", "condition_number",
    "pseudo_inverse", "transpose_versus_inverse", "circular_singular_values", "checkerboard",
    "check", "diagnose",
    "Layer", "lstsq", "deconvolve",
    "MemoryLimitExceeded", "memory_limit", "set_memory_limit",
]
