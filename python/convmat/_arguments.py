"""The form of the arguments: Python values -> what the C++ core takes.

Only types are handled here ("an int or a tuple of ints" -> a list of ints, array-likes ->
ndarrays). What the values mean -- PyTorch's and ONNX's rules for stride, padding, groups,
output_padding, auto_pad, ... -- is decided once, in C++ (include/convmat/layer_args.hpp), whose
errors arrive as ValueError carrying the C++ message.
"""

import operator

import numpy as np

_INT64_LIMIT = 2**63  # the C++ side holds sizes in int64


def ints(op, name, value):
    """An int or a sequence of ints -> list of ints (one entry for an int).

    TypeError for anything else (floats, strings, None), naming the operation and the argument.
    """
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{op}: {name} must be an int or a tuple of ints, got {value!r}")
    try:
        values = [operator.index(value)]
    except TypeError:
        try:
            values = [operator.index(v) for v in value]
        except TypeError:
            raise TypeError(
                f"{op}: {name} must be an int or a tuple of ints, got {value!r}") from None
    for v in values:
        if not -_INT64_LIMIT <= v < _INT64_LIMIT:
            raise ValueError(f"{op}: {name}={value!r} does not fit in 64 bits")
    return values


def padding_pairs(op, padding, names, pair):
    """A padding name (`names` says which, for the message) or explicit pairs [[a, b], ...]
    (`pair` names their two entries) -> the name, or the pairs' flat list of ints."""
    if isinstance(padding, (str, bytes)):
        return string(op, "padding", padding)
    try:
        pairs = [ints(op, "padding", p) for p in padding]
    except TypeError:
        raise TypeError(f"{op}: padding must be {names} or a list of ({pair}) pairs, got "
                        f"{padding!r}") from None
    if any(len(p) != 2 for p in pairs):
        raise ValueError(f"{op}: an explicit padding is a list of ({pair}) pairs, got "
                         f"{padding!r}")
    return [v for p in pairs for v in p]


def optional_ints(op, name, value):
    """Like ints(), with None -> [] (an absent ONNX attribute)."""
    return [] if value is None else ints(op, name, value)


def integer(op, name, value):
    """One int (groups, group). TypeError for anything else."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{op}: {name} must be an int, got {value!r}")
    try:
        v = operator.index(value)
    except TypeError:
        raise TypeError(f"{op}: {name} must be an int, got {value!r}") from None
    if not -_INT64_LIMIT <= v < _INT64_LIMIT:
        raise ValueError(f"{op}: {name}={value!r} does not fit in 64 bits")
    return v


def string(op, name, value):
    """A str (bytes are decoded: ONNX's helper returns string attributes as bytes)."""
    if isinstance(value, bytes):
        return value.decode()
    if not isinstance(value, str):
        raise TypeError(f"{op}: {name} must be a string, got {value!r}")
    return value


def array(value, op=None, name=None):
    """An array-like -> ndarray (no copy for a native-byte-order ndarray). None stays None for an
    optional argument; with `name` (a required one) it is a TypeError naming op and name.

    Non-native byte order (e.g. '>f8' read from a file) is converted to native, as NumPy's own
    arithmetic would. The dtype is checked by the C++ core (float32 or float64, the same for
    every array of a call).
    """
    if value is None:
        if name is not None:
            raise TypeError(f"{op}: {name} must be an array, got None")
        return None
    a = np.asarray(value)
    if not a.dtype.isnative:
        a = a.astype(a.dtype.newbyteorder("="))
    return a


def number(op, name, value):
    """A real number (int or float, not bool) -> float. TypeError for anything else."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer,
                                                                     np.floating)):
        raise TypeError(f"{op}: {name} must be a number, got {value!r}")
    return float(value)


def optional_number(op, name, value):
    """Like number(), with None staying None."""
    return None if value is None else number(op, name, value)


def numbers(op, name, value):
    """A number or a sequence of numbers -> list of floats (one entry for a number)."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{op}: {name} must be a number or a tuple of numbers, got {value!r}")
    try:
        return [number(op, name, value)]
    except TypeError:
        pass
    try:
        return [number(op, name, v) for v in value]
    except TypeError:
        raise TypeError(
            f"{op}: {name} must be a number or a tuple of numbers, got {value!r}") from None


def boolean(op, name, value):
    """True or False (also NumPy's bool)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{op}: {name} must be True or False, got {value!r}")
    return bool(value)


def csr(op, name, matrix, dtype=None):
    """A matrix -> its canonical scipy CSR form: sorted, unique column indices per row, int32
    indices (what the C++ core takes, see arrays.hpp: csr_from_arrays).

    `matrix` is a scipy.sparse matrix or array, or a 2-D array-like (made sparse). With `dtype`
    the values are converted to it (the analysis computes in float64); without, they must already
    be float32 or float64. TypeError for anything else; ValueError when the matrix has 2^31
    nonzeros or more (beyond int32 indices).
    """
    import scipy.sparse
    if scipy.sparse.issparse(matrix):
        a = scipy.sparse.csr_matrix(matrix)  # a view when matrix already is a csr_matrix
    else:
        if isinstance(matrix, (str, bytes)) or matrix is None:
            raise TypeError(f"{op}: {name} must be a scipy.sparse matrix or a 2-D array, "
                            f"got {matrix!r}")
        dense = np.asarray(matrix)
        if dense.ndim != 2:
            raise TypeError(f"{op}: {name} must be a scipy.sparse matrix or a 2-D array, got an "
                            f"array of shape {dense.shape}")
        if dense.dtype.kind not in "biuf":
            raise TypeError(f"{op}: {name} has dtype {dense.dtype}, not a real number type")
        a = scipy.sparse.csr_matrix(dense)
    if dtype is not None:
        if a.dtype.kind not in "biuf":
            raise TypeError(f"{op}: {name} has dtype {a.dtype}, not a real number type")
        data = a.data.astype(dtype, copy=False)
    elif a.dtype in (np.float32, np.float64):
        data = a.data
    else:
        raise TypeError(f"{op}: {name} has dtype {a.dtype}, but convmat computes in float32 or "
                        f"float64 (convert it with .astype(numpy.float64))")
    if a.nnz >= 2**31:
        raise ValueError(f"{op}: {name} has {a.nnz} nonzeros, more than the 2^31 - 1 that "
                         f"convmat's 32-bit indices hold")
    a = scipy.sparse.csr_matrix((data, a.indices, a.indptr), shape=a.shape)
    if not a.has_canonical_format:
        a = a.copy()
        a.sum_duplicates()  # also sorts the indices
    return (a.data, a.indices.astype(np.int32, copy=False),
            a.indptr.astype(np.int32, copy=False), a.shape[0], a.shape[1])
