"""XLA's general convolution (xla_conv, op="xla_conv") against a small reference written from
the StableHLO specification's definition of `convolution` (docs/spec.md), not from convmat:

- lhs and rhs are read through dimension_numbers (JAX's string form: the spatial dimensions are
  matched by letter, in the order of the rhs string);
- feature_group_count > 1: split lhs along its feature dimension and rhs along its output
  feature dimension, convolve the pieces, concatenate along the output feature dimension;
  batch_group_count > 1: the same with lhs split along its batch dimension;
- otherwise padded_lhs = pad(lhs, 0, padding low, padding high, lhs_dilation - 1) (interior
  padding, then edge padding, negative = removed), every window starts at
  output_spatial_index * window_strides, is sliced with rhs_dilation, reversed along the
  dimensions of window_reversal, and dotted with rhs over the spatial and input feature axes;
- the padding strings as jax.lax.padtype_to_pads computes them on the dilated kernel: total
  max((ceil(n/s) - 1)s + k_eff - n, 0), SAME ⌊total/2⌋ low, SAME_LOWER ⌊total/2⌋ high.

Integer-valued data: every comparison is exact. JAX itself is not on this machine; PyTorch is,
and every layer with a PyTorch equivalent is also compared with it.
"""

import itertools
import unittest

import numpy as np
import torch

import convmat


def ints(rng, shape):
    return rng.integers(-3, 4, size=shape).astype(np.float64)


def spec_pad(x, axis, low, high, interior):
    """StableHLO pad along one axis: `interior` zeros between elements, then low/high (negative:
    elements removed)."""
    n = x.shape[axis]
    shape = list(x.shape)
    shape[axis] = (n - 1) * (interior + 1) + 1 if n else 0
    dilated = np.zeros(shape)
    index = [slice(None)] * x.ndim
    index[axis] = slice(None, None, interior + 1)
    dilated[tuple(index)] = x
    widths = [(0, 0)] * x.ndim
    widths[axis] = (max(low, 0), max(high, 0))
    out = np.pad(dilated, widths)
    index = [slice(None)] * x.ndim
    index[axis] = slice(max(-low, 0), out.shape[axis] - max(-high, 0))
    return out[tuple(index)]


def reference(lhs, rhs, window_strides, padding, lhs_dilation=None, rhs_dilation=None,
              dimension_numbers=None, feature_group_count=1, batch_group_count=1,
              window_reversal=None):
    """The StableHLO definition, in loops."""
    rank = lhs.ndim - 2
    if dimension_numbers is None:
        sp = "".join("0123"[a] for a in range(rank))
        dimension_numbers = ("NC" + sp, "OI" + sp, "NC" + sp)
    ls, rs, os_ = dimension_numbers
    spatial = [c for c in rs if c not in "OI"]
    ib, if_, isp = ls.index("N"), ls.index("C"), [ls.index(c) for c in spatial]
    ki, ko, ksp = rs.index("I"), rs.index("O"), [rs.index(c) for c in spatial]
    ob, of, osp = os_.index("N"), os_.index("C"), [os_.index(c) for c in spatial]
    ones = [1] * rank
    window_strides = list(window_strides)
    lhs_dilation = list(lhs_dilation or ones)
    rhs_dilation = list(rhs_dilation or ones)
    window_reversal = list(window_reversal or [False] * rank)
    if isinstance(padding, str):
        assert lhs_dilation == ones
        padding = jax_padtype_to_pads([lhs.shape[a] for a in isp],
                                      [(rhs.shape[a] - 1) * d + 1 for a, d in
                                       zip(ksp, rhs_dilation)], window_strides, padding)
    args = dict(window_strides=window_strides, padding=padding, lhs_dilation=lhs_dilation,
                rhs_dilation=rhs_dilation, dimension_numbers=dimension_numbers,
                window_reversal=window_reversal)
    if feature_group_count > 1 or batch_group_count > 1:
        split_axis = if_ if feature_group_count > 1 else ib
        g = max(feature_group_count, batch_group_count)
        parts = [reference(a, b, **args) for a, b in zip(np.split(lhs, g, axis=split_axis),
                                                           np.split(rhs, g, axis=ko))]
        return np.concatenate(parts, axis=of)
    # lhs as (N, *spatial, C), rhs as (*k, I, O): the spec's lhs_shape / kernel order
    x = np.transpose(lhs, [ib] + isp + [if_])
    w = np.transpose(rhs, ksp + [ki, ko])
    for a in range(rank):
        x = spec_pad(x, 1 + a, padding[a][0], padding[a][1], lhs_dilation[a] - 1)
    k = w.shape[:rank]
    eff = [(k[a] - 1) * rhs_dilation[a] + 1 for a in range(rank)]
    out_spatial = [max((x.shape[1 + a] - eff[a]) // window_strides[a] + 1, 0)
                   for a in range(rank)]
    y = np.zeros((x.shape[0], *out_spatial, w.shape[-1]))
    for o in itertools.product(*[range(s) for s in out_spatial]):
        window = x[(slice(None),) + tuple(
            slice(o[a] * window_strides[a], o[a] * window_strides[a] + eff[a], rhs_dilation[a])
            for a in range(rank))]
        for a in range(rank):
            if window_reversal[a]:
                window = np.flip(window, axis=1 + a)
        y[(slice(None),) + o] = np.tensordot(window, w, axes=(list(range(1, rank + 2)),
                                                               list(range(rank + 1))))
    # (N, *spatial, O) -> the out string's order
    order = [ob] + osp + [of]
    return np.transpose(y, np.argsort(order))


def jax_padtype_to_pads(in_shape, window_shape, window_strides, padding):
    padding = padding.upper()
    if padding == "VALID":
        return [(0, 0)] * len(in_shape)
    pads = []
    for n, k, s in zip(in_shape, window_shape, window_strides):
        total = max((-(-n // s) - 1) * s + k - n, 0)
        pads.append((total // 2, total - total // 2) if padding == "SAME"
                    else (total - total // 2, total // 2))
    return pads


def permuted(rng, letters):
    """A random order of `letters`."""
    return "".join(rng.permutation(list(letters)))


class ReferenceTest(unittest.TestCase):
    def test_the_specification_example(self):
        """docs/spec.md's example: lhs_dilation 2 with window_strides 4 -> [[10, 26], [46, 62]],
        by the reference and by xla_conv (an input-dilated convolution, neither kind of PyTorch's),
        through W and through the direct loops, and accepted by the oracle."""
        lhs = np.array([[[[1], [2], [5], [6]], [[3], [4], [7], [8]], [[10], [11], [14], [15]],
                         [[12], [13], [16], [17]]]], dtype=np.float64)
        rhs = np.ones((3, 3, 1, 1))
        args = dict(window_strides=(4, 4), padding=[(0, 0), (0, 0)], lhs_dilation=(2, 2),
                    rhs_dilation=(1, 1), dimension_numbers=("NHWC", "HWIO", "NHWC"),
                    window_reversal=(False, False))
        want = np.array([[[[10], [26]], [[46], [62]]]], dtype=np.float64)
        np.testing.assert_array_equal(reference(lhs, rhs, **args), want)
        for method in ("matrix", "loops"):
            np.testing.assert_array_equal(convmat.xla_conv(lhs, rhs, **args, method=method), want)
        self.assertTrue(convmat.check(want, lhs, rhs, op="xla_conv", **args))


class XlaConvTest(unittest.TestCase):
    def random_layer(self, rng, rank, dims=True, torch_like=False):
        """torch_like: no batch groups and no window reversal (PyTorch's conv*d)."""
        sp = "".join(rng.permutation(list("xyz"))[:rank])
        g = int(rng.integers(1, 3))
        bg = int(rng.integers(1, 3)) if g == 1 and not torch_like else 1
        c, o = g * int(rng.integers(1, 3)), g * bg * int(rng.integers(1, 3))
        n = [int(v) for v in rng.integers(3, 7, size=rank)]
        k = [int(v) for v in rng.integers(1, 4, size=rank)]
        s = [int(v) for v in rng.integers(1, 4, size=rank)]
        d = [int(v) for v in rng.integers(1, 3, size=rank)]
        valid = all(n[a] >= d[a] * (k[a] - 1) + 1 for a in range(rank))  # VALID has windows
        if rng.random() < 0.3:
            padding = str(rng.choice(["SAME", "SAME_LOWER", "same"] + ["VALID"] * valid))
        else:  # negative allowed; keep at least one window
            padding = []
            for a in range(rank):
                low = int(rng.integers(-1, 3))
                high = int(rng.integers(-1, 3))
                while n[a] + low + high < d[a] * (k[a] - 1) + 1:
                    high += 1
                padding.append((low, high))
        dn = ((permuted(rng, "NC" + sp), permuted(rng, "OI" + sp), permuted(rng, "NC" + sp))
              if dims else None)
        reversal = [bool(v) for v in rng.integers(0, 2, size=rank)] if not torch_like else None
        lhs_dilation = None
        if not torch_like and not isinstance(padding, str) and rng.random() < 0.5:
            if rng.random() < 0.5:  # window strides 1: a transposed convolution
                s = [1] * rank
            lhs_dilation = [int(v) for v in rng.integers(1, 4, size=rank)]
        return dict(c=c, o=o, n=n, k=k, g=g, batch=bg * int(rng.integers(1, 3)),
                    args=dict(window_strides=s, padding=padding, rhs_dilation=d,
                              lhs_dilation=lhs_dilation,
                              dimension_numbers=dn, feature_group_count=g,
                              batch_group_count=bg, window_reversal=reversal))

    def tensors(self, rng, layer):
        ls, rs, _ = layer["args"]["dimension_numbers"] or (None, None, None)
        rank = len(layer["n"])
        sp = [c for c in rs if c not in "OI"] if rs else list(range(rank))
        sizes = {"N": layer["batch"], "C": layer["c"], "O": layer["o"],
                 "I": layer["c"] // layer["g"]}
        for a, letter in enumerate(sp):
            sizes[letter] = (layer["n"][a], layer["k"][a])
        if ls is None:
            lhs_shape = (layer["batch"], layer["c"], *layer["n"])
            rhs_shape = (layer["o"], layer["c"] // layer["g"], *layer["k"])
        else:
            lhs_shape = tuple(sizes[ch] if ch in "NC" else sizes[ch][0] for ch in ls)
            rhs_shape = tuple(sizes[ch] if ch in "OI" else sizes[ch][1] for ch in rs)
        return ints(rng, lhs_shape), ints(rng, rhs_shape)

    def test_random_layers_against_the_specification(self):
        rng = np.random.default_rng(12)
        dilated_and_strided = 0
        for trial in range(120):
            layer = self.random_layer(rng, 1 + trial % 3, dims=trial % 4 != 0)
            lhs, rhs = self.tensors(rng, layer)
            a = layer["args"]
            dilated_and_strided += (max(a["lhs_dilation"] or [1]) > 1
                                    and max(a["window_strides"]) > 1)
            want = reference(lhs, rhs, **layer["args"])
            for method in ("matrix", "loops"):
                got = convmat.xla_conv(lhs, rhs, **layer["args"], method=method)
                np.testing.assert_array_equal(got, want, err_msg=f"{layer} {method}")
            if trial % 10 == 0:  # the oracle agrees, and blames a wrong element where it is
                self.assertTrue(convmat.check(want, lhs, rhs, op="xla_conv", **layer["args"]))
                wrong = want.copy()
                index = tuple(int(rng.integers(0, s)) for s in want.shape)
                wrong[index] += 1
                result = convmat.check(wrong, lhs, rhs, op="xla_conv", **layer["args"])
                self.assertFalse(result)
                self.assertEqual(tuple(result.worst[0].index), index)
        self.assertGreater(dilated_and_strided, 10)  # input dilation with a stride was covered

    def test_empty_outputs_are_jax_s(self):
        """StableHLO's output size is the number of windows, 0 where the dilated window is longer
        than the padded input (and jax refuses a padded input below 0): convmat returns the empty
        array as jax does, check passes a candidate of its shape, and the rules still apply."""
        rng = np.random.default_rng(21)
        empty = refused = 0
        for trial in range(90):
            rank = 1 + trial % 3
            layer = self.random_layer(rng, rank, dims=trial % 3 != 0)
            layer["n"] = [int(v) for v in rng.integers(1, 4, size=rank)]
            layer["k"] = [int(v) for v in rng.integers(1, 5, size=rank)]
            layer["args"]["padding"] = [(int(lo), int(hi))
                                        for lo, hi in rng.integers(-2, 2, size=(rank, 2))]
            if trial % 9 == 4:
                layer["batch"] = 0
            lhs, rhs = self.tensors(rng, layer)
            a = layer["args"]
            l = a["lhs_dilation"] or [1] * rank
            padded = [(n - 1) * d + 1 + lo + hi
                      for n, d, (lo, hi) in zip(layer["n"], l, a["padding"])]
            if min(padded) < 0:
                refused += 1
                with self.assertRaisesRegex(ValueError, "makes the padded input -"):
                    convmat.xla_conv(lhs, rhs, **a)
                continue
            want = reference(lhs, rhs, **a)
            got = convmat.xla_conv(lhs, rhs, **a)
            self.assertEqual(got.shape, want.shape, str(layer))
            np.testing.assert_array_equal(got, want, err_msg=str(layer))
            if want.size:
                continue
            empty += 1
            self.assertEqual(convmat.xla_conv(lhs.astype(np.float32), rhs.astype(np.float32),
                                              **a).dtype, np.float32)
            self.assertTrue(convmat.check(want, lhs, rhs, op="xla_conv", **a))
            self.assertTrue(convmat.diagnose(want, lhs, rhs, op="xla_conv", **a).check)
            result = convmat.check(np.zeros(want.shape + (1,)), lhs, rhs, op="xla_conv", **a)
            self.assertFalse(result)
            self.assertFalse(result.shape_matches)
            self.assertIn("the output is empty", result.layer)
        self.assertGreater(empty, 15)
        self.assertGreater(refused, 5)
        # The rules are checked before the output is found empty.
        with self.assertRaisesRegex(ValueError, r"\(C14\)"):
            convmat.xla_conv(np.zeros((1, 2, 1)), np.zeros((1, 3, 4)), (1,), "VALID")
        with self.assertRaisesRegex(TypeError, "float32 or float64"):
            convmat.xla_conv(np.zeros((1, 1, 1), np.int32), np.zeros((1, 1, 4)), (1,), "VALID")
        with self.assertRaisesRegex(ValueError, "method must be 'matrix'"):
            convmat.xla_conv(np.zeros((1, 1, 1)), np.zeros((1, 1, 4)), (1,), "VALID",
                             method="dense")

    def test_inf_weight_on_the_inserted_zeros(self):
        # StableHLO multiplies every tap, the inserted zeros' and the padding's too: 0*inf = NaN
        # (its definition, the reference); convmat's W (a transposed convolution, which skips
        # them) gives the sums without those taps. check accepts both and counts the elements.
        x = np.array([[[1.0, 2.0, 3.0]]])
        w = np.array([[[np.inf, 1.0, 1.0]]])
        args = dict(window_strides=(1,), padding=[(1, 1)], lhs_dilation=(2,))
        with np.errstate(invalid="ignore"):
            want = reference(x, w, **args)
        self.assertTrue(np.isnan(want).any())
        got = convmat.xla_conv(x, w, **args)
        for candidate in (want, got):
            r = convmat.check(candidate, x, w, op="xla_conv", **args)
            self.assertTrue(r, str(r))
            self.assertEqual(r.padded_nonfinite, int(np.sum(np.isnan(want) & ~np.isnan(got))))

    def test_float32(self):
        rng = np.random.default_rng(3)
        layer = self.random_layer(rng, 2)
        lhs, rhs = self.tensors(rng, layer)
        got = convmat.xla_conv(lhs.astype(np.float32), rhs.astype(np.float32), **layer["args"])
        self.assertEqual(got.dtype, np.float32)
        np.testing.assert_array_equal(got, reference(lhs, rhs, **layer["args"]))

    def test_jax_s_precision_and_preferred_element_type(self):
        """JAX's keywords run unchanged: precision is checked (convmat computes in the arrays'
        dtype), preferred_element_type sets the accumulation and output dtype."""
        rng = np.random.default_rng(4)
        layer = self.random_layer(rng, 2)
        lhs, rhs = self.tensors(rng, layer)
        want = reference(lhs, rhs, **layer["args"])
        for precision in (None, "HIGHEST", "default", ("HIGH", "HIGHEST")):
            np.testing.assert_array_equal(
                convmat.xla_conv(lhs, rhs, **layer["args"], precision=precision), want)
        # a float32 sum that float64 accumulation keeps: 2^24 + 1 - 2^24
        x = np.array([[[2.0 ** 24, 1.0, -2.0 ** 24]]], np.float32)
        w = np.ones((1, 1, 3), np.float32)
        y64 = convmat.xla_conv(x, w, (1,), "VALID", preferred_element_type=np.float64)
        self.assertEqual(y64.dtype, np.float64)
        self.assertEqual(y64.item(), 1.0)
        y32 = convmat.xla_conv(x.astype(np.float64), w.astype(np.float64), (1,), "VALID",
                               preferred_element_type="float32")
        self.assertEqual((y32.dtype, y32.item()), (np.float32, 1.0))
        with self.assertRaisesRegex(ValueError, "precision must be None"):
            convmat.xla_conv(lhs, rhs, **layer["args"], precision="ULTRA")
        with self.assertRaisesRegex(ValueError, "preferred_element_type must be None, float32"):
            convmat.xla_conv(lhs, rhs, **layer["args"], preferred_element_type=np.int32)

    def test_same_as_pytorch(self):
        """Every layer without lhs_dilation is a PyTorch convolution: the same output (torch on
        an explicitly padded or cropped input) and the same W."""
        rng = np.random.default_rng(5)
        matrices = 0
        for trial in range(40):
            layer = self.random_layer(rng, 1 + trial % 3, dims=False, torch_like=True)
            lhs, rhs = self.tensors(rng, layer)
            a = layer["args"]
            got = convmat.xla_conv(lhs, rhs, **a)
            pads = a["padding"]
            if isinstance(pads, str):
                pads = jax_padtype_to_pads(layer["n"], [(k - 1) * d + 1 for k, d in
                                                        zip(layer["k"], a["rhs_dilation"])],
                                           a["window_strides"], pads)
            flat = [p for pair in reversed(pads) for p in pair]  # F.pad: last axis first
            x = torch.nn.functional.pad(torch.from_numpy(lhs), flat)
            conv = getattr(torch.nn.functional, f"conv{len(layer['n'])}d")
            want = conv(x, torch.from_numpy(rhs), stride=a["window_strides"],
                        dilation=a["rhs_dilation"], groups=a["feature_group_count"]).numpy()
            np.testing.assert_array_equal(got, want, err_msg=str(layer))
            if all(lo == hi and lo >= 0 for lo, hi in pads):
                ours = convmat.Layer("xla_conv", rhs, layer["n"], **a).matrix()
                torchs = convmat.Layer("conv", rhs, layer["n"], stride=a["window_strides"],
                                       padding=[lo for lo, _ in pads],
                                       dilation=a["rhs_dilation"],
                                       groups=a["feature_group_count"]).matrix()
                self.assertEqual((ours != torchs).nnz, 0)
                matrices += 1
        self.assertGreater(matrices, 5)

    def test_lhs_dilation_is_pytorch_s_transposed_convolution(self):
        """window_strides 1 and lhs_dilation l: conv_transpose with stride l, the kernel flipped
        and its channels swapped, padding d(k - 1) - low (PyTorch's symmetric padding, and
        output_padding for a larger high); the same output and the same W (transposed)."""
        rng = np.random.default_rng(9)
        compared = 0
        for trial in range(40):
            rank = 1 + trial % 3
            g = int(rng.integers(1, 3))
            c, o = g * int(rng.integers(1, 3)), g * int(rng.integers(1, 3))
            n = [int(v) for v in rng.integers(2, 5, size=rank)]
            k = [int(v) for v in rng.integers(1, 4, size=rank)]
            d = [int(v) for v in rng.integers(1, 3, size=rank)]
            l = [int(v) for v in rng.integers(1, 4, size=rank)]
            # torch's padding, keeping an output: (n - 1)l - 2p + d(k - 1) + 1 >= 1
            p = [int(rng.integers(0, min(d[a] * (k[a] - 1),
                                         ((n[a] - 1) * l[a] + d[a] * (k[a] - 1)) // 2) + 1))
                 for a in range(rank)]
            extra = [int(rng.integers(0, max(l[a], d[a]))) for a in range(rank)]  # output_padding
            low = [d[a] * (k[a] - 1) - p[a] for a in range(rank)]
            high = [low[a] + extra[a] for a in range(rank)]
            lhs, rhs = ints(rng, (2, c, *n)), ints(rng, (o, c // g, *k))
            a = dict(padding=list(zip(low, high)), lhs_dilation=l, rhs_dilation=d,
                     feature_group_count=g)
            got = convmat.xla_conv(lhs, rhs, [1] * rank, **a)
            np.testing.assert_array_equal(got, reference(lhs, rhs, [1] * rank, **a))
            # torch's weight (C_in, C_out/g, *k): per group, rhs's (O/g, C/g) block transposed
            wt = np.flip(rhs, axis=tuple(range(2, 2 + rank)))
            wt = wt.reshape(g, o // g, c // g, *k).swapaxes(1, 2).reshape(c, o // g, *k)
            wt = np.ascontiguousarray(wt)
            fn = getattr(torch.nn.functional, f"conv_transpose{rank}d")
            want = fn(torch.from_numpy(lhs), torch.from_numpy(wt), stride=l, padding=p,
                      output_padding=extra, groups=g, dilation=d).numpy()
            np.testing.assert_array_equal(got, want, err_msg=str((n, k, d, l, p, extra, g)))
            # W as the map of one sample: xla_conv of every unit input, one per batch entry
            size = c * int(np.prod(n))
            units = np.eye(size).reshape(size, c, *n)
            ours = convmat.xla_conv(units, rhs, [1] * rank, **a).reshape(size, -1).T
            torchs = convmat.Layer("conv_transpose", wt, n, stride=l, padding=p,
                                   output_padding=extra, groups=g, dilation=d).matrix()
            np.testing.assert_array_equal(ours, torchs.toarray())
            compared += 1
        self.assertEqual(compared, 40)

    def test_refusals(self):
        x, w = np.zeros((1, 2, 5, 5)), np.zeros((2, 2, 3, 3))
        cases = [
            (dict(window_strides=(1,)), r"\(C2\) size\(window_strides\) = 2"),
            (dict(window_strides=(0, 1)), r"\(C3\) 0 < window_strides"),
            (dict(window_strides=(1, 1), padding=[(0, 0)]), r"\(C4\)"),
            (dict(window_strides=(1, 1), rhs_dilation=(0, 1)), r"\(C8\)"),
            (dict(window_strides=(1, 1), feature_group_count=2), r"\(C14\)"),
            (dict(window_strides=(1, 1), feature_group_count=2, batch_group_count=2),
             r"\(C23\)"),
            (dict(window_strides=(1, 1), batch_group_count=2), r"\(C10\)"),
            (dict(window_strides=(1, 1), padding="FULL"), r"padding must be 'SAME'"),
            (dict(window_strides=(1, 1), padding="SAME", lhs_dilation=(2, 1)),
             r"string padding \('SAME'\) is not defined with lhs_dilation"),
            (dict(window_strides=(1, 1), window_reversal=(True,)), r"\(C9\)"),
            (dict(window_strides=(1, 1), window_reversal=(2, 0)), r"booleans \(0 or 1\)"),
            (dict(window_strides=(1, 1), window_reversal="00"), r"window_reversal"),
            (dict(window_strides=(1, 1), batch_group_count=0), r"\(C22\)"),
            (dict(window_strides=(1, 1), dimension_numbers=("NHWC", "HWIO")),
             r"dimension_numbers must be None or three strings"),
        ]
        for keywords, message in cases:
            with self.subTest(keywords=keywords):
                with self.assertRaisesRegex((ValueError, TypeError), message):
                    convmat.xla_conv(x, w, **{"padding": "VALID", **keywords})
        with self.assertRaisesRegex(ValueError, "takes its layouts from dimension_numbers"):
            convmat.check(np.zeros((1, 2, 3, 3)), x, w, op="xla_conv", data_format="NHWC")
        with self.assertRaisesRegex(ValueError, r"\(C15\)"):
            convmat.xla_conv(np.zeros((2, 2, 5, 5)), np.zeros((3, 2, 3, 3)), (1, 1), "VALID",
                             batch_group_count=2)

    def test_batch_groups_are_the_weight_gradient(self):
        """batch_group_count's use: the gradient of a convolution's weight is the convolution
        of its input with its output gradient, batches as groups (here a depthwise layer of C
        channels: dW[c] = sum_n x[n, c] * dy[n, c], computed with batch_group_count = C and
        compared with PyTorch's autograd)."""
        rng = np.random.default_rng(8)
        n, c, size, k = 2, 3, 6, 3
        x, w = ints(rng, (n, c, size)), ints(rng, (c, 1, k))
        xt, wt = torch.from_numpy(x), torch.from_numpy(w).requires_grad_()
        y = torch.nn.functional.conv1d(xt, wt, groups=c)
        dy = ints(rng, tuple(y.shape))
        y.backward(torch.from_numpy(dy))
        # lhs: x as (C, N, W) read "CNW"→ batch = C channels, features = N; rhs: dy as (O=C, I=N, W)
        got = convmat.xla_conv(x, dy, (1,), "VALID", dimension_numbers=("CNW", "IOW", "CNW"),
                               batch_group_count=c)
        # the output (batch 1, features C, width k) in "CNW": (C, 1, k) = dW's shape
        np.testing.assert_array_equal(got, wt.grad.numpy())


if __name__ == "__main__":
    unittest.main()
