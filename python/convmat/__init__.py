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
Matrices (scipy.sparse.csr_matrix):
    conv_matrix                                     W
    conv_transpose_matrix                           Wᵀ, the transposed layer's matrix

Every function takes ``method="matrix"`` (the sparse matrix, the default) or ``"loops"`` (the
independent direct loops) where it computes a layer. Invalid arguments raise ValueError carrying
the C++ rule and values; wrong types and dtypes raise TypeError.
"""

from convmat.functional import (conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d,
                                conv_transpose3d)
from convmat.matrices import conv_matrix, conv_transpose_matrix
from convmat.onnx import onnx_conv, onnx_conv_transpose

__all__ = [
    "conv1d", "conv2d", "conv3d",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "onnx_conv", "onnx_conv_transpose",
    "conv_matrix", "conv_transpose_matrix",
]
