"""convmat as an oracle: is another implementation's output right, and if not, where and why?

    result = convmat.check(candidate, x, w, b, op="conv_transpose2d", stride=2, padding=1)
    assert result, result          # a CheckResult is true when it passed; str() is the report
    d = convmat.diagnose(candidate, x, w, b, op="conv_transpose2d", stride=2, padding=1)
    d.reproducing                  # e.g. ['kernel_flipped']: the mistake that explains it

The oracle computes the layer as W x + b in float64 from the same data and compares element by
element under a tolerance derived from the precision the candidate computed in and from the
number of terms each output element sums (include/convmat/oracle.hpp):

    |candidate_i - oracle_i| <= atol_i + rtol_i * s_i,   s_i = sum_t |w_t x_t| + |b_c|
    rtol_i = (n_i + 1) eps + eps_out,   atol_i = (n_i + 1) lambda

with n_i the terms of element i, eps the machine epsilon of `precision`, eps_out that of the
candidate's dtype and lambda the smallest normal number -- a bound that holds for any summation
order (Higham, section 3.1). Failing elements are blamed: the oracle's sum, the candidate's
value and the terms (input position, kernel tap, values) read off W. diagnose() recomputes a
catalogue of common mistakes -- flipped kernel, swapped or off-by-one padding (SAME_UPPER versus
SAME_LOWER), output_padding at the wrong end, channel axes swapped, groups on the wrong axis,
dilation off by one, bias missing or doubled, stride and dilation swapped, padding mode
ignored -- and names those that reproduce the candidate. For the quantized ops (ONNX's
ConvInteger and QLinearConv) it tries the mistakes of int8 implementations instead -- zero
points ignored, the padding not holding x's zero point, per-channel parameters on the wrong
axis, B after the scaling, float32 accumulation, the rounding and the saturation -- each
computed exactly and compared exactly.

The layer is given as in kernel_matrix: ``op`` ("conv2d", "conv_transpose2d", "onnx_conv", ...)
and that function's keywords. Arrays may be NumPy arrays or PyTorch tensors (bfloat16 included);
they are converted to float64 exactly.
"""

from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np

from convmat import _arguments as _a
from convmat import _convmat as _core
from convmat import _layers

__all__ = ["check", "diagnose", "CheckResult", "Blame", "BlameTerm", "Tolerance", "Diagnosis",
           "Hypothesis", "QuantizedCheckResult", "QuantizedMismatch", "QuantizedDiagnosis",
           "QuantizedHypothesis"]

_PRECISION_OF_DTYPE = {"float16": "float16", "float32": "float32", "float64": "float64",
                       "bfloat16": "bfloat16"}


@dataclass(frozen=True)
class BlameTerm:
    """One product input * weight summed into a blamed element."""
    input_index: tuple   # in the input's shape
    weight_index: tuple  # in the weight's shape
    input: float
    weight: float


@dataclass(frozen=True)
class Blame:
    """An output element outside the tolerance, with the terms the oracle summed for it."""
    index: tuple         # in the output's shape
    candidate: float
    oracle: float        # sum of the terms + bias
    error: float         # |candidate - oracle| (inf when exactly one is NaN or infinite)
    tolerance: float     # atol_i + rtol_i s_i
    term_count: int      # n_i (0: every tap falls into the padding)
    terms: List[BlameTerm]  # the largest |input * weight| first, at most `blame_terms`
    bias: Optional[float]


@dataclass(frozen=True)
class Tolerance:
    """The tolerance rule used (module docstring): the precisions and atol/rtol when given."""
    arithmetic: str      # the precision the candidate summed in (eps)
    storage: str         # the precision of its output (eps_out)
    eps: float
    eps_out: float
    rtol: Optional[float]  # None: (n + 1) eps + eps_out
    atol: Optional[float]  # None: (n + 1) lambda
    rtol_at_max_terms: float
    atol_at_max_terms: float


def _number(v):
    return f"{v:.9g}"


def _index(i):
    return _core.dims_to_list(list(i))


@dataclass(frozen=True)
class CheckResult:
    """The verdict of check(): true when every element is within the tolerance.

    ``str(result)`` is the report: the layer, the tolerance, and for a failure the worst
    elements with the terms W sums for each.
    """
    passed: bool
    op: str
    layer: str               # the layer as convmat resolved it (ConvSpec)
    expected_shape: tuple
    candidate_shape: tuple
    shape_matches: bool      # equal after dropping leading 1s
    elements: int            # compared
    bad: int                 # outside the tolerance
    nonfinite: int           # of those, NaN or inf in the candidate or the oracle, not alike
    overflow: int            # accepted: the candidate's inf (or NaN) where the oracle's value
                             # overflows the candidate's precision
    padded_nonfinite: int    # NaN in the oracle: an inf or NaN weight meets zero padding
    padding_skipped: int     # of those, computed by the candidate without the padded taps
    max_abs_error: float
    max_rel_error: float
    max_error_ratio: float   # max |c - o| / tolerance_i: > 1 fails
    min_terms: int           # range of n_i
    max_terms: int
    tolerance: Tolerance
    worst: List[Blame] = field(default_factory=list)
    ieee: str = ""           # the IEEE rules that applied (oracle/check.hpp), or empty

    def __bool__(self):
        return self.passed

    def __str__(self):
        lines = [f"layer: {self.layer}  (op={self.op})",
                 f"candidate {self.candidate_shape} against the oracle in float64 "
                 f"{self.expected_shape}"]
        if not self.shape_matches:
            lines.append(f"result: FAIL, the candidate's shape {self.candidate_shape} differs "
                         f"from the layer's output shape {self.expected_shape}")
            return "\n".join(lines)
        t = self.tolerance
        n = (f"{self.min_terms}" if self.min_terms == self.max_terms
             else f"{self.min_terms}..{self.max_terms}")
        rtol = (_number(t.rtol) if t.rtol is not None else
                f"(n+1)*eps + eps_out = {_number(t.rtol_at_max_terms)} at n = {self.max_terms}")
        atol = (_number(t.atol) if t.atol is not None else
                f"(n+1)*lambda = {_number(t.atol_at_max_terms)} at n = {self.max_terms}")
        lines.append(f"tolerance: |candidate - oracle| <= atol + rtol * sum|w*x|, n = {n} terms "
                     f"per element; rtol = {rtol} ({t.arithmetic} arithmetic, {t.storage} "
                     f"output), atol = {atol}")
        if self.ieee:
            lines.append(f"IEEE: {self.ieee}")
        summary = (f"max abs error {_number(self.max_abs_error)}, max rel error "
                   f"{_number(self.max_rel_error)}, worst error/tolerance "
                   f"{_number(self.max_error_ratio)}")
        if self.passed:
            lines.append(f"result: ok, all {self.elements} elements within the tolerance "
                         f"({summary})")
            return "\n".join(lines)
        nonfinite = (f" ({self.nonfinite} NaN or infinite in the candidate or the oracle, "
                     "not alike in both)" if self.nonfinite else "")
        lines.append(f"result: FAIL, {self.bad} of {self.elements} elements outside the "
                     f"tolerance{nonfinite}; {summary}")
        if self.worst:
            lines.append("worst elements (the terms W sums for each, largest |x*w| first):")
        for b in self.worst:
            lines.append(f"  y{_index(b.index)}: candidate {_number(b.candidate)}, oracle "
                         f"{_number(b.oracle)} (error {_number(b.error)}, tolerance "
                         f"{_number(b.tolerance)})")
            bias = f"bias {_number(b.bias)} + " if b.bias is not None else ""
            empty = " (every tap falls into the padding)" if b.term_count == 0 else ""
            lines.append(f"    oracle = {bias}sum of {b.term_count} terms{empty}")
            for term in b.terms:
                lines.append(f"      x{_index(term.input_index)} = {_number(term.input)}  *  "
                             f"w{_index(term.weight_index)} = {_number(term.weight)}")
            if len(b.terms) < b.term_count:
                lines.append(f"      ... and {b.term_count - len(b.terms)} more")
        return "\n".join(lines)


@dataclass(frozen=True)
class Hypothesis:
    """One mistake of the catalogue, recomputed by the oracle and compared with the candidate."""
    id: str                # e.g. "kernel_flipped", "pads_swapped", "pad_begin+1 (size kept)"
    description: str       # one sentence with the values
    shape: tuple           # the output shape with the mistake
    comparable: bool       # that shape matches the candidate's
    reproduces: bool       # comparable and every element within the tolerance
    bad: int               # elements outside the tolerance (when comparable)
    max_error_ratio: float


@dataclass(frozen=True)
class Diagnosis:
    """The verdict of diagnose(): the check, and which single mistakes explain the candidate.

    ``reproducing`` lists the ids of the mistakes that reproduce the candidate within the
    tolerance (empty when the candidate is right, or when no single mistake explains it:
    ``closest()`` then ranks them). ``str(diagnosis)`` is the report.
    """
    check: CheckResult
    tried: List[Hypothesis]
    reproducing: List[str]

    @property
    def explanation(self):
        """The descriptions of the reproducing mistakes, one sentence each."""
        return [h.description for h in self.tried if h.reproduces]

    def closest(self, count=3):
        """The comparable hypotheses with the smallest worst error/tolerance ratio."""
        comparable = [h for h in self.tried if h.comparable]
        return sorted(comparable, key=lambda h: h.max_error_ratio)[:count]

    def __str__(self):
        lines = [str(self.check)]
        if self.check.passed:
            lines.append("diagnosis: the candidate agrees with the oracle; nothing to diagnose")
            return "\n".join(lines)
        lines.append(f"diagnosis: tried {len(self.tried)} single mistakes of the catalogue")
        if self.reproducing:
            lines.append("reproduced (within the tolerance) by:")
            lines += [f"  {h.id}: {h.description}" for h in self.tried if h.reproduces]
        else:
            lines.append("no single mistake of the catalogue reproduces the candidate; the "
                         "closest (worst error/tolerance):")
            lines += [f"  {h.id}: {_number(h.max_error_ratio)} ({h.bad} elements outside)"
                      for h in self.closest()]
        return "\n".join(lines)


def _float64(op, name, value):
    """An array or a PyTorch tensor -> (C-contiguous float64 ndarray, the precision name of its
    dtype or None). Real dtypes only (integers convert exactly below 2**53)."""
    if value is None:
        return None, None
    if hasattr(value, "detach") and hasattr(value, "dtype") and type(value).__module__.startswith(
            "torch"):
        dtype = str(value.dtype).replace("torch.", "")
        tensor = value.detach().cpu()
        if tensor.is_complex():
            raise TypeError(f"{op}: {name} has dtype {dtype}, not a real number type")
        return np.ascontiguousarray(tensor.double().numpy()), _PRECISION_OF_DTYPE.get(dtype)
    a = np.asarray(value)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{op}: {name} has dtype {a.dtype}, not a real number type")
    return (np.ascontiguousarray(a, dtype=np.float64), _PRECISION_OF_DTYPE.get(a.dtype.name))


def _count(fn, name, value):
    """blame, blame_terms: an int >= 0 (the C++ rule, oracle/check.hpp)."""
    v = _a.integer(fn, name, value)
    _core.require_blame_count(f"{fn}: {name}", v)
    return v


# The C++ defaults: check blames 5 elements with 8 terms each, diagnose 3 with 4.
_CHECK_BLAME, _CHECK_BLAME_TERMS = _core.blame_defaults(False)
_DIAGNOSE_BLAME, _DIAGNOSE_BLAME_TERMS = _core.blame_defaults(True)


def _run(fn, candidate, input, weight, bias, op, precision, atol, rtol, blame, blame_terms,
         layer_keywords):
    layer = _layers.layer(fn, op, layer_keywords)
    c, storage = _float64(fn, "candidate", candidate)
    x, _ = _float64(fn, "input", input)
    w, _ = _float64(fn, "weight", weight)
    b, _ = _float64(fn, "bias", bias)
    if c is None or x is None or w is None:
        raise TypeError(f"{fn}: candidate, input and weight must be arrays, got None")
    storage = storage or "float64"
    arithmetic = storage if precision is None else _a.string(fn, "precision", precision)
    atol = _a.optional_number(fn, "atol", atol)
    rtol = _a.optional_number(fn, "rtol", rtol)
    blame, blame_terms = _count(fn, "blame", blame), _count(fn, "blame_terms", blame_terms)
    try:
        call = layer.resolve(fn, x.shape, w.shape, layouts=True)
        described = str(call.spec)
        d = _core.run_oracle(call, x, w, b, c, arithmetic, storage, atol, rtol, blame,
                             blame_terms, fn == "diagnose")
    except _core.EmptyOutput as e:  # xla_conv where no window fits: jax's output is empty
        described = str(e)
        d = _core.empty_oracle(e.shape, c.shape, arithmetic, storage, atol, rtol,
                               fn == "diagnose")
    report = d["check"]
    worst = [Blame(**dict(r, terms=[BlameTerm(**t) for t in r["terms"]]))
             for r in report.pop("worst")]
    result = CheckResult(op=op, layer=described,
                         tolerance=Tolerance(**d["tolerance"]), worst=worst, ieee=d["ieee"],
                         **report)
    if fn == "check":
        return result
    tried = [Hypothesis(**h) for h in d["tried"]]
    return Diagnosis(check=result, tried=tried,
                     reproducing=list(d["reproducing"]))


_PARAMETERS = """
Parameters
----------
candidate : the output to check: an ndarray or a torch tensor of the layer's output shape
    (leading dimensions of size 1 may be missing or extra); its dtype sets the output precision
input, weight, bias : the layer's data (bias may be None), arrays or tensors of any real dtype
op : "conv" (default), "conv1d".."conv3d", "conv_transpose", "conv_transpose1d".."3d",
    "onnx_conv", "onnx_conv_transpose", "tf_conv", "tf_conv_transpose", "tf_depthwise_conv2d",
    "xla_conv" (their keywords as their functions take them; xla_conv's output may be empty);
    also "onnx_conv_integer" ("ConvInteger") and
    "onnx_qlinear_conv" ("QLinearConv"), compared exactly (check: a QuantizedCheckResult listing
    each mismatch with its int32 accumulator and the value before rounding; diagnose: a
    QuantizedDiagnosis naming the int8 mistakes of the quantized catalogue that give the
    candidate exactly), their quantization inputs as keywords: x_zero_point, w_zero_point (and
    x_scale, w_scale, y_scale, y_zero_point for QLinearConv; bias is its B)
**layer : that op's keywords, e.g. stride=2, padding=1, output_padding=1, groups=2 (PyTorch)
    or auto_pad="SAME_UPPER", strides=[2, 2] (ONNX); and data_format="NHWC" /
    weight_format="HWIO" for arrays in another layout (the report's indices are then in it)
precision : the precision the candidate summed in: {precisions}; default the candidate's dtype
    (use "tfloat32" for GPU matmuls with TF32, "bfloat16" for a bf16 kernel whose output you
    converted to float32)
atol, rtol : replace the formulas of the tolerance (module docstring)
blame : how many failing elements to blame, worst first
blame_terms : how many terms to list per blamed element, largest |x*w| first

Raises ValueError when the layer's arguments are invalid or the arrays do not fit it (the
PyTorch/ONNX rule and the values), TypeError for an unknown op or keyword or a non-real dtype.
""".replace("{precisions}", ", ".join(
    name + (f" (or {', '.join(aliases)})" if aliases else "")
    for name, aliases in _core.precision_names()))


@dataclass(frozen=True)
class QuantizedMismatch:
    """One element of a quantized output that differs from ONNX's definition."""
    index: tuple         # in the output's shape
    expected: int
    candidate: int
    accumulator: int     # the exact int32 sum (+ B)
    real: float          # accumulator * multiplier before rounding (NaN for ConvInteger)


@dataclass(frozen=True)
class QuantizedCheckResult:
    """The verdict of check() for ConvInteger / QLinearConv: exact, element by element."""
    passed: bool
    op: str
    expected_shape: tuple
    candidate_shape: tuple
    shape_matches: bool
    elements: int
    mismatches: int
    off_by_one: int      # of those, one unit off
    max_difference: int
    worst: List[QuantizedMismatch] = field(default_factory=list)

    def __bool__(self):
        return self.passed

    def __str__(self):
        lines = [f"op: {self.op}, candidate {self.candidate_shape} against ONNX's definition "
                 f"{self.expected_shape}, exact integer comparison"]
        if not self.shape_matches:
            lines.append(f"result: FAIL, the candidate's shape {self.candidate_shape} differs "
                         f"from the layer's output shape {self.expected_shape}")
        elif self.passed:
            lines.append(f"result: ok, all {self.elements} elements equal")
        else:
            lines.append(f"result: FAIL, {self.mismatches} of {self.elements} elements differ "
                         f"({self.off_by_one} by one unit; largest difference "
                         f"{self.max_difference})")
            for m in self.worst:
                real = "" if np.isnan(m.real) else (
                    f", before rounding {m.real!r}"
                    + (" (a rounding tie within float32's precision)"
                       if abs(abs(m.real - np.floor(m.real)) - 0.5)
                       <= 4 * np.finfo(np.float32).eps * max(1.0, abs(m.real)) else ""))
                unit = " (one unit)" if abs(m.candidate - m.expected) == 1 else ""
                lines.append(f"  y{_index(m.index)}: candidate {m.candidate}, expected "
                             f"{m.expected}{unit}; accumulator {m.accumulator}{real}")
        return "\n".join(lines)


@dataclass(frozen=True)
class QuantizedHypothesis:
    """One mistake of the quantized catalogue (oracle/diagnose.hpp), recomputed exactly."""
    id: str                # e.g. "x_zero_point_ignored", "rounding_half_away_from_zero"
    description: str       # one sentence with the layer's values
    reproduces: bool       # equal to the candidate in every element
    mismatches: int        # elements where it differs from the candidate
    max_difference: int


@dataclass(frozen=True)
class QuantizedDiagnosis:
    """The verdict of diagnose() for ConvInteger / QLinearConv: the exact check, and which single
    mistakes of the quantized catalogue give the candidate exactly."""
    check: QuantizedCheckResult
    tried: List[QuantizedHypothesis]
    reproducing: List[str]

    @property
    def explanation(self):
        """The descriptions of the reproducing mistakes, one sentence each."""
        return [h.description for h in self.tried if h.reproduces]

    def closest(self, count=3):
        """The hypotheses with the fewest elements that differ from the candidate."""
        return sorted(self.tried, key=lambda h: h.mismatches)[:count]

    def __str__(self):
        lines = [str(self.check)]
        if self.check.passed:
            lines.append("diagnosis: the candidate equals ONNX's output; nothing to diagnose")
        elif not self.check.shape_matches:
            lines.append("diagnosis: no mistake of the quantized catalogue changes the shape")
        elif self.reproducing:
            lines.append(f"diagnosis: tried {len(self.tried)} single mistakes, each computed "
                         "exactly; reproduced exactly by:")
            lines += [f"  {h.id}: {h.description}" for h in self.tried if h.reproduces]
        else:
            lines.append(f"diagnosis: tried {len(self.tried)} single mistakes; none reproduces "
                         "the candidate; the closest (elements that differ):")
            lines += [f"  {h.id}: {h.mismatches} (max difference {h.max_difference})"
                      for h in self.closest()]
        return "\n".join(lines)


# The quantized ops check compares exactly (core/quantized.hpp), with ONNX's input names.
# op name or alias -> convmat's name.
_QUANTIZED_OPS = {name: op for op, alias, requantizes in _core.quantized_ops()
                  for name in (op, alias)}
_QUANTIZED_INPUTS = ("x_scale", "x_zero_point", "w_scale", "w_zero_point", "y_scale",
                     "y_zero_point")


def _quantized(fn, candidate, input, weight, bias, op, blame, precision, atol, rtol, layer):
    """check() or diagnose() of a quantized op: every rule and the comparison in the library
    (quantized_apply, compare_quantized, diagnose_quantized); here the arrays and the results."""
    from convmat import onnx as _onnx
    name = _QUANTIZED_OPS[op]
    if precision is not None or atol is not None or rtol is not None:
        raise TypeError(f"{fn}: op={op!r} compares integers exactly; precision, atol and rtol "
                        "do not apply")
    c = np.asarray(candidate.detach().cpu().numpy() if hasattr(candidate, "detach")
                   else candidate)
    inputs = {k: layer.pop(k) for k in _QUANTIZED_INPUTS if k in layer}
    if bias is not None:
        inputs["B"] = bias
    max_listed = _count(fn, "blame", blame)
    call, expected = _onnx.quantized_call(name, input, weight, inputs, layer)
    try:
        _core.require_quantized_output_type(name, expected["type"], c.dtype.name)
    except TypeError as e:
        raise TypeError(f"{fn}: {e}") from None
    shape = tuple(expected["values"].shape)
    if tuple(c.shape) != shape:
        result = QuantizedCheckResult(False, op, shape, c.shape, False, 0, 0, 0, 0)
        return result if fn == "check" else QuantizedDiagnosis(result, [], [])
    if fn == "check":
        real = expected["real"]
        d = _core.compare_quantized(expected["values"], c.astype(np.int64),
                                    expected["accumulators"],
                                    None if real is None else real.reshape(-1).tolist(),
                                    max_listed)
    else:
        _, d = _onnx.quantized_call(name, input, weight, inputs, layer, "diagnose_quantized",
                                    c.astype(np.int64), max_listed)
    worst = [QuantizedMismatch(index=tuple(int(v) for v in np.unravel_index(w["index"], shape)),
                               expected=w["expected"], candidate=w["candidate"],
                               accumulator=w["accumulator"], real=w["real"])
             for w in d["worst"]]
    result = QuantizedCheckResult(d["mismatches"] == 0, op, shape, c.shape, True,
                                  d["elements"], d["mismatches"], d["off_by_one"],
                                  d["max_difference"], worst)
    if fn == "check":
        return result
    return QuantizedDiagnosis(result, [QuantizedHypothesis(**h) for h in d["tried"]],
                              list(d["reproducing"]))


def check(candidate, input, weight, bias=None, *, op="conv", precision=None, atol=None,
          rtol=None, blame=_CHECK_BLAME, blame_terms=_CHECK_BLAME_TERMS, **layer):
    if isinstance(op, str) and op in _QUANTIZED_OPS:
        return _quantized("check", candidate, input, weight, bias, op, blame, precision, atol,
                          rtol, dict(layer))
    return _run("check", candidate, input, weight, bias, op, precision, atol, rtol, blame,
                blame_terms, layer)


def diagnose(candidate, input, weight, bias=None, *, op="conv", precision=None, atol=None,
             rtol=None, blame=_DIAGNOSE_BLAME, blame_terms=_DIAGNOSE_BLAME_TERMS, **layer):
    if isinstance(op, str) and op in _QUANTIZED_OPS:
        return _quantized("diagnose", candidate, input, weight, bias, op, blame, precision, atol,
                          rtol, dict(layer))
    return _run("diagnose", candidate, input, weight, bias, op, precision, atol, rtol, blame,
                blame_terms, layer)


check.__doc__ = """Checks another implementation's output of a convolution layer against the
oracle W x + b (float64), with blame for every element outside the tolerance.
""" + _PARAMETERS + """
Returns
-------
CheckResult: true when it passed; ``print(result)`` gives the report, ``result.worst`` the blamed
elements with the terms W sums for each.

Example
-------
>>> x, w = numpy.arange(4.0).reshape(1, 1, 2, 2), numpy.arange(9.0).reshape(1, 1, 3, 3)
>>> y = convmat.conv_transpose2d(x, w, stride=2)      # stands for another implementation
>>> bool(convmat.check(y, x, w, op="conv_transpose2d", stride=2))
True
>>> convmat.check(y, x, w, op="conv_transpose2d", stride=1).candidate_shape  # wrong stride
(1, 1, 5, 5)
"""

diagnose.__doc__ = """Checks the candidate (as check) and, when it fails, recomputes the
catalogue of common mistakes to name the ones that reproduce it.
""" + _PARAMETERS + """
Returns
-------
Diagnosis: ``.reproducing`` the ids of the mistakes that explain the candidate (e.g.
``['kernel_flipped']``, ``['pads_swapped']``), ``.explanation`` their descriptions,
``.tried`` every hypothesis with its error ratio, ``.check`` the CheckResult.
For ConvInteger / QLinearConv: a QuantizedDiagnosis (the same attributes; ``.check`` a
QuantizedCheckResult), from this catalogue, each mistake computed exactly from the integers and
named when it equals the candidate in every element:
""" + "".join(f"    {id:<31}{summary}\n" for id, summary in _core.quantized_mistakes()) + """

Example
-------
>>> x, w = numpy.arange(4.0).reshape(1, 1, 2, 2), numpy.arange(9.0).reshape(1, 1, 3, 3)
>>> flipped = convmat.conv_transpose2d(x, w[..., ::-1, ::-1].copy(), stride=2)
>>> convmat.diagnose(flipped, x, w, op="conv_transpose2d", stride=2).reproducing
['kernel_flipped']
"""
