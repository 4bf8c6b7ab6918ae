"""A layer named the way its function is called: ``op`` plus that function's keywords.

Every function that takes a layer rather than a matrix (check, diagnose, kernel_matrix,
estimate_kernel, deconvolve) accepts ``op=`` one of

    "conv", "conv1d", "conv2d", "conv3d"                      torch.nn.functional.conv*d
    "conv_transpose", "conv_transpose1d", ..._transpose3d     torch.nn.functional.conv_transpose*d
    "onnx_conv" (or "Conv"), "onnx_conv_transpose" (or "ConvTranspose")   ONNX
    "tf_conv", "tf_conv_transpose", "tf_depthwise_conv2d"     tf.nn.convolution, ...
    "xla_conv" (or "conv_general_dilated")     jax.lax.conv_general_dilated, StableHLO

("conv" and "conv_transpose" take the rank from the weight) and then exactly the keywords of
that function -- stride, padding, dilation, groups, padding_mode for conv*d; stride, padding,
output_padding, groups, dilation (and padding_mode, "zeros" only, as nn.ConvTransposeNd) for
conv_transpose*d; auto_pad, dilations, group, kernel_shape,
pads, strides (+ output_padding, output_shape) for ONNX; window_strides, padding, lhs_dilation,
rhs_dilation, dimension_numbers (three strings), feature_group_count, batch_group_count,
window_reversal for xla_conv -- with the same defaults and meaning.
A keyword of another op is a TypeError, as it would be for the function itself.

Every op also takes the layout keywords ``data_format`` ("NCHW", "NHWC", "NCW", "NWC", "NCDHW",
"NDHWC") and ``weight_format`` ("OIHW", "HWIO", "OHWI", "IOHW", ... and their 1-d/3-d forms; O
and I are the layer's output and input channels): the arrays are then given and returned in that
order (the layer functions, check, diagnose, deconvolve; the others refuse them).

The ops, their keywords and defaults are the C++ library's table (include/convmat/core/
layer_ops.hpp); here each keyword's value is only put in the form its kind says.
"""

from dataclasses import dataclass, field

from convmat import _arguments as _a
from convmat import _convmat as _core

# op name (or alias) -> the table's row: name, aliases, convention, kind, rank, batch_required,
# keywords (name, kind, default, per_axis).
_OPS = {}
for _row in _core.layer_ops():
    for _name in [_row["name"]] + _row["aliases"]:
        _OPS[_name] = _row
# The keywords every op takes besides its own (C++ layout_keywords()).
_LAYOUT_KEYWORDS = tuple(_core.layout_keywords())


def _value(caller, keyword, value):
    """A keyword's Python value -> the form of its kind (TypeError naming it otherwise)."""
    name, kind = keyword["name"], keyword["kind"]
    if kind == "ints":
        return _a.ints(caller, name, value)
    if kind == "ints_or_name":
        if isinstance(value, str):
            return value
        if isinstance(value, (list, tuple)) and value and all(
                isinstance(v, (list, tuple)) for v in value):  # pairs (TensorFlow's paddings)
            return [v for pair in value for v in _a.ints(caller, name, pair)]
        return _a.ints(caller, name, value)
    if kind == "integer":
        return _a.integer(caller, name, value)
    if kind == "name":
        if name == "dimension_numbers":  # XLA's three strings (lhs, rhs, out)
            from convmat.xla import dimension_numbers_keyword
            return dimension_numbers_keyword(caller, value)
        return _a.string(caller, name, value)
    if name == "window_reversal":  # XLA's booleans
        from convmat.xla import window_reversal_keyword
        return window_reversal_keyword(caller, value)
    return _a.optional_ints(caller, name, value)


@dataclass
class Layer:
    """A layer description: the op and the keywords given, in the C++ table's forms."""
    op: str
    row: dict
    keywords: dict = field(default_factory=dict)

    @property
    def batch_required(self):
        """The op's input is always batched, (N, C, *spatial) (ONNX)."""
        return self.row["batch_required"]

    def resolve(self, caller, input_shape, weight_shape, layouts=False):
        """The C++ LayerCall for an input and a weight of these shapes (ValueError with the
        PyTorch or ONNX rule when they do not fit). Shapes in another layout than convmat's
        (data_format, weight_format, or a convention's own such as TensorFlow's) only where the
        caller handles them (`layouts`); TypeError otherwise."""
        call = _core.resolve_layer(self.op, list(input_shape), list(weight_shape), self.keywords)
        if call.has_layouts and not layouts:
            raise TypeError(f"{caller}: takes tensors in convmat's (PyTorch's) order only; op="
                            f"{self.op!r} with data_format/weight_format is taken by the layer "
                            f"functions, check, diagnose and deconvolve")
        return call

    def input_shape(self, caller, weight_shape, input_size, batch=None):
        """input_size (the spatial size: an int for every dimension or a tuple of rank ints --
        or already the input's full shape) -> the input shape the resolver takes: (C_in, *size),
        or (batch, C_in, *size) when `batch` is given or the op requires a batch (batch 1)."""
        size = _a.ints(caller, "input_size", input_size)
        return _core.layer_input_shape(self.op, list(weight_shape), size, batch, self.keywords)


def layer(caller, op, keywords):
    """The Layer of `op` with `keywords` (a dict); TypeError for an unknown op or a keyword that
    op's function does not take. A layout keyword (data_format, weight_format) given as None is
    absent: the op's own layout."""
    keywords = {name: value for name, value in keywords.items()
                if not (name in _LAYOUT_KEYWORDS and value is None)}
    if not isinstance(op, str) or op not in _OPS:
        raise TypeError(f"{caller}: op must be one of {', '.join(map(repr, _OPS))}, got {op!r}")
    row = _OPS[op]
    taken = {k["name"]: k for k in row["keywords"]}
    unknown = [name for name in keywords if name not in taken and name not in _LAYOUT_KEYWORDS]
    if unknown:
        raise TypeError(f"{caller}: op={op!r} takes the keywords {', '.join(taken)}; got "
                        f"{', '.join(map(repr, unknown))}")
    taken.update({name: {"name": name, "kind": "name"} for name in _LAYOUT_KEYWORDS
                  if name not in taken})
    return Layer(op, row, {name: _value(caller, taken[name], value)
                           for name, value in keywords.items()})
