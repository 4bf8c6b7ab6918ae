"""A layer named the way its function is called: ``op`` plus that function's keywords.

Every function that takes a layer rather than a matrix (check, diagnose, kernel_matrix,
estimate_kernel, deconvolve) accepts ``op=`` one of

    "conv", "conv1d", "conv2d", "conv3d"                      torch.nn.functional.conv*d
    "conv_transpose", "conv_transpose1d", ..._transpose3d     torch.nn.functional.conv_transpose*d
    "onnx_conv" (or "Conv"), "onnx_conv_transpose" (or "ConvTranspose")   ONNX

("conv" and "conv_transpose" take the rank from the weight) and then exactly the keywords of
that function -- stride, padding, dilation, groups, padding_mode for conv*d; stride, padding,
output_padding, groups, dilation for conv_transpose*d; auto_pad, dilations, group, kernel_shape,
pads, strides (+ output_padding, output_shape) for ONNX -- with the same defaults and meaning.
A keyword of another op is a TypeError, as it would be for the function itself.
"""

from dataclasses import dataclass, field

from convmat import _arguments as _a
from convmat import _convmat as _core
from convmat.functional import _torch_args
from convmat.onnx import _attributes

_TORCH_CONV = dict(stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros")
_TORCH_CONV_TRANSPOSE = dict(stride=1, padding=0, output_padding=0, groups=1, dilation=1)
_ONNX_CONV = dict(auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None, pads=None,
                  strides=None)
_ONNX_CONV_TRANSPOSE = dict(_ONNX_CONV, output_padding=None, output_shape=None)

# op -> (transposed, rank or 0 for "from the weight", ONNX?)
_OPS = {"conv": (False, 0, False), "conv_transpose": (True, 0, False),
        "onnx_conv": (False, 0, True), "Conv": (False, 0, True),
        "onnx_conv_transpose": (True, 0, True), "ConvTranspose": (True, 0, True)}
for _rank in (1, 2, 3):
    _OPS[f"conv{_rank}d"] = (False, _rank, False)
    _OPS[f"conv_transpose{_rank}d"] = (True, _rank, False)


@dataclass
class Layer:
    """A layer description: the op and its keywords, defaults filled in."""
    op: str
    transposed: bool
    rank: int          # 0: from the weight
    onnx: bool
    keywords: dict = field(default_factory=dict)

    def arguments(self, caller):
        """The C++ argument object (TorchConvArgs or OnnxConvAttributes)."""
        k = self.keywords
        if self.onnx:
            return _attributes(caller, k["auto_pad"], k["dilations"], k["group"],
                               k["kernel_shape"], k["pads"], k["strides"],
                               k.get("output_padding"), k.get("output_shape"))
        return _torch_args(caller, k["stride"], k["padding"], k["dilation"], k["groups"],
                           k.get("output_padding", 0), k.get("padding_mode", "zeros"))

    def resolve(self, caller, input_shape, weight_shape):
        """The C++ LayerCall for an input and a weight of these shapes (ValueError with the
        PyTorch or ONNX rule when they do not fit)."""
        args = self.arguments(caller)
        input_shape, weight_shape = list(input_shape), list(weight_shape)
        if self.onnx:
            resolve = _core.onnx_conv_transpose if self.transposed else _core.onnx_conv
            return resolve(input_shape, weight_shape, args)
        resolve = _core.torch_conv_transpose if self.transposed else _core.torch_conv
        return resolve(input_shape, weight_shape, args, self.rank)

    def input_channels(self, caller, weight_shape):
        """C_in from the weight's layout: (C_out, C_in/groups, *k) or, transposed, (C_in, ...)."""
        if self.transposed:
            return weight_shape[0]
        groups = self.keywords["group" if self.onnx else "groups"]
        return weight_shape[1] * _a.integer(caller, "group" if self.onnx else "groups", groups)

    def input_shape(self, caller, weight_shape, input_size, batch=None):
        """input_size (the spatial size: an int for every dimension or a tuple of rank ints --
        or already the input's full shape) -> the input shape the resolver takes: (C_in, *size),
        or (batch, C_in, *size) when `batch` is given or the op is ONNX's (batch 1)."""
        size = _a.ints(caller, "input_size", input_size)
        rank = len(weight_shape) - 2
        if rank < 1 or len(size) not in (1, rank):
            return size  # a full shape, or something the resolver rejects with its rule
        spatial = size * rank if len(size) == 1 else size
        shape = [self.input_channels(caller, weight_shape)] + spatial
        if batch is not None or self.onnx:
            shape = [1 if batch is None else batch] + shape
        return shape


def layer(caller, op, keywords):
    """The Layer of `op` with `keywords` (a dict); TypeError for an unknown op or a keyword that
    op's function does not take."""
    if not isinstance(op, str) or op not in _OPS:
        raise TypeError(f"{caller}: op must be one of {', '.join(map(repr, _OPS))}, got {op!r}")
    transposed, rank, onnx = _OPS[op]
    if onnx:
        defaults = _ONNX_CONV_TRANSPOSE if transposed else _ONNX_CONV
    else:
        defaults = _TORCH_CONV_TRANSPOSE if transposed else _TORCH_CONV
    unknown = [name for name in keywords if name not in defaults]
    if unknown:
        raise TypeError(f"{caller}: op={op!r} takes the keywords {', '.join(defaults)}; got "
                        f"{', '.join(map(repr, unknown))}")
    return Layer(op, transposed, rank, onnx, dict(defaults, **keywords))
