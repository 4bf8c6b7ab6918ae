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


def array(value):
    """An array-like -> ndarray (no copy for an ndarray); None stays None.

    The dtype is checked by the C++ core (float32 or float64, the same for every array of a call).
    """
    return None if value is None else np.asarray(value)
