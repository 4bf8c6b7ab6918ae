"""The memory guard: a layer whose W would not fit under the limit is refused before it is built.

Building W for a large layer (e.g. conv2d of 64 -> 64 channels, 3x3, on 256x256: 2.4e9 nonzeros)
would otherwise exhaust the machine and get the process killed. Every function that builds W
(the layers with method="matrix", conv_matrix, conv_transpose_matrix, transposed_as_convolution,
deconvolve, check, diagnose) or A(x) (kernel_matrix, estimate_kernel: W's size per sample) first
estimates its bytes (values, 32-bit column indices, row pointers; for a convmat.Layer held
channel-blocked, that storage's bytes) plus the call's arrays and raises MemoryLimitExceeded (a MemoryError) with the estimate and the limit when they exceed it.
deconvolve and lstsq also count the solver (include/convmat/solve/solver_memory.hpp, the
estimate of `convmat deconv`): QR and Cholesky copy A and hold a factor estimated at 8 times the
nonzeros of the Gram matrix they factor; LSQR and LSMR a few vectors per right-hand side.
method="loops" builds no W and is not limited; the analysis functions take a matrix already
built (and their dense parts have their own limit, DENSE_ENTRY_LIMIT).
"""

from convmat import _arguments as _a
from convmat import _convmat as _core

MemoryLimitExceeded = _core.MemoryLimitExceeded
MemoryLimitExceeded.__doc__ = """Raised (a MemoryError) before W is built when W's estimated bytes
(values, 32-bit column indices, row pointers) plus the call's arrays exceed memory_limit(); the
message gives the estimate, the number of nonzeros, the limit and how to raise it."""

__all__ = ["MemoryLimitExceeded", "memory_limit", "set_memory_limit"]


def set_memory_limit(bytes=None):
    """Sets the memory limit, in bytes, that every function building W checks first.

    bytes : an int > 0, or None for the default (half the physical memory). Functions refuse a
    layer whose W and arrays would need more with MemoryLimitExceeded; method="loops" is not
    limited. ValueError for bytes <= 0, TypeError for a non-integer.

    >>> convmat.set_memory_limit(2**30); convmat.memory_limit()
    1073741824
    >>> convmat.set_memory_limit(None)
    """
    if bytes is not None:
        bytes = _a.integer("set_memory_limit", "bytes", bytes)
        if bytes <= 0:
            raise ValueError(f"set_memory_limit: the limit must be > 0 bytes, got {bytes}")
    _core.set_memory_limit(bytes)


def memory_limit():
    """The memory limit in bytes that functions building W check before they build it: what
    set_memory_limit set, or by default half the physical memory of the machine (so that a
    layer too large for it is refused with MemoryLimitExceeded instead of exhausting it)."""
    return _core.memory_limit()
