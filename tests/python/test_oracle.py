"""convmat.check and convmat.diagnose against PyTorch: right outputs pass, deliberately wrong ones
(made with torch: a flipped kernel, swapped SAME padding, output_padding at the wrong end, a
oneDNN-style weight layout, a missing bias, one corrupted element) fail, are blamed on the right
elements with the right terms, and are diagnosed as the mistake that made them.

References: every candidate is computed by PyTorch (never by convmat); the blamed terms are
checked against the input and weight arrays themselves.
"""

import unittest

import numpy as np
import torch
import torch.nn.functional as F

import convmat
import helpers as h


class RightOutputsPass(unittest.TestCase):

    def test_random_torch_layers(self):
        rng = h.rng(401)
        for i in range(120):
            transposed = bool(i % 2)
            dtype = np.float32 if i % 3 else np.float64
            case = (h.random_conv_transpose if transposed else h.random_conv)(rng)
            x, w, b = h.conv_tensors(rng, case, dtype, False, transposed)
            y = h.torch_forward(case, h.as_torch(h.batched(x, case)), h.as_torch(w),
                                h.as_torch(b), transposed).numpy()
            y = h.unbatched(y, case)
            op = ("conv_transpose" if transposed else "conv") + f"{case['rank']}d"
            r = convmat.check(y, x, w, b, op=op, **h.layer_keywords(case, transposed))
            context = f"case {i}: {case}, {np.dtype(dtype).name}\n{r}"
            self.assertTrue(r.passed, context)
            self.assertTrue(r)
            self.assertEqual(r.bad, 0)
            self.assertEqual(r.elements, y.size, context)
            self.assertEqual(r.tolerance.storage, np.dtype(dtype).name)
            self.assertLessEqual(r.max_error_ratio, 1)
            self.assertEqual(r.worst, [])
            self.assertIn("result: ok", str(r))

    def test_onnx_ops_and_torch_tensors(self):
        x = torch.randn(2, 4, 7, 6, generator=torch.Generator().manual_seed(1))
        w = torch.randn(6, 2, 3, 3, generator=torch.Generator().manual_seed(2))
        # ONNX Conv, SAME_UPPER, stride 2: total padding 2 (rows) and 1 (columns, at the end).
        y = F.conv2d(F.pad(x, [0, 1, 1, 1]), w, stride=2, groups=2)
        r = convmat.check(y, x, w, op="onnx_conv", auto_pad="SAME_UPPER", strides=[2, 2],
                          group=2)
        self.assertTrue(r, str(r))
        self.assertEqual(r.tolerance.storage, "float32")
        # A bfloat16 tensor: its storage precision is detected, the sum in bfloat16 stated.
        xb, wb = x.to(torch.bfloat16), w.to(torch.bfloat16)
        yb = F.conv2d(xb.float(), wb.float(), padding=1, groups=2).to(torch.bfloat16)
        r = convmat.check(yb, xb, wb, op="conv2d", padding=1, groups=2, precision="bfloat16")
        self.assertTrue(r, str(r))
        self.assertEqual((r.tolerance.storage, r.tolerance.arithmetic), ("bfloat16", "bfloat16"))

    def test_tolerance_follows_the_precision(self):
        rng = h.rng(403)
        x = rng.standard_normal((1, 3, 9, 9))
        w = rng.standard_normal((4, 3, 3, 3))
        y32 = F.conv2d(torch.from_numpy(x).float(), torch.from_numpy(w).float()).double().numpy()
        x32, w32 = x.astype(np.float32).astype(np.float64), w.astype(np.float32).astype(np.float64)
        # float32 results presented as float64 are wrong at float64 precision ...
        self.assertFalse(convmat.check(y32, x32, w32, op="conv2d"))
        # ... and right when the caller states that the sums ran in float32.
        r = convmat.check(y32, x32, w32, op="conv2d", precision="float32")
        self.assertTrue(r, str(r))
        self.assertEqual(r.tolerance.arithmetic, "float32")
        # rtol given explicitly replaces the formula.
        self.assertTrue(convmat.check(y32, x32, w32, op="conv2d", rtol=1e-5))
        self.assertEqual(convmat.check(y32, x32, w32, op="conv2d", rtol=1e-5).tolerance.rtol,
                         1e-5)


class WrongOutputsAreCaught(unittest.TestCase):

    def assert_blame_is_true(self, result, x, w, b, want):
        """Every blamed element: the oracle value is torch's right output there; each term is
        x and w at the stated positions; all terms plus the bias sum to the oracle value."""
        self.assertGreater(len(result.worst), 0)
        for blame in result.worst:
            self.assertAlmostEqual(blame.oracle, float(want[blame.index]),
                                   delta=1e-12 * (1 + abs(blame.oracle)))
            self.assertGreater(blame.error, blame.tolerance)
            total = 0.0 if b is None else float(b[blame.index[1]])
            self.assertEqual(blame.bias is None, b is None)
            for t in blame.terms:
                self.assertEqual(t.input, x[t.input_index])
                self.assertEqual(t.weight, w[t.weight_index])
                total += t.input * t.weight
            if len(blame.terms) == blame.term_count:
                self.assertAlmostEqual(total, blame.oracle, delta=1e-12 * (1 + abs(total)))
            # Largest |x w| first.
            products = [abs(t.input * t.weight) for t in blame.terms]
            self.assertEqual(products, sorted(products, reverse=True))

    def test_one_corrupted_element_is_blamed_exactly(self):
        rng = h.rng(404)
        for i in range(20):
            transposed = bool(i % 2)
            case = (h.random_conv_transpose if transposed else h.random_conv)(rng)
            case["batch"] = 2
            x, w, b = h.conv_tensors(rng, case, np.float64, True, transposed)
            y = h.torch_forward(case, torch.from_numpy(x), torch.from_numpy(w), h.as_torch(b),
                                transposed).numpy()
            if y.size == 0:
                continue
            wrong = y.copy()
            where = np.unravel_index(int(rng.integers(y.size)), y.shape)
            wrong[where] += 0.5
            op = "conv_transpose" if transposed else "conv"
            r = convmat.check(wrong, x, w, b, op=op, blame_terms=1000,
                              **h.layer_keywords(case, transposed))
            context = f"case {i}: {case}\n{r}"
            self.assertFalse(r.passed, context)
            self.assertEqual(r.bad, 1, context)
            self.assertEqual([bl.index for bl in r.worst], [tuple(int(v) for v in where)])
            self.assertEqual(r.worst[0].candidate, wrong[where])
            self.assertAlmostEqual(r.max_abs_error, 0.5, delta=1e-12)
            self.assert_blame_is_true(r, x, w, b, y)
            self.assertIn(f"y[{', '.join(str(int(v)) for v in where)}]", str(r))
            d = convmat.diagnose(wrong, x, w, b, op=op, **h.layer_keywords(case, transposed))
            self.assertEqual(d.reproducing, [], str(d))
            self.assertIn("no single mistake of the catalogue reproduces", str(d))

    def test_nan_and_wrong_shape(self):
        x = np.ones((1, 1, 4, 4))
        w = np.ones((1, 1, 2, 2))
        y = F.conv2d(torch.from_numpy(x), torch.from_numpy(w)).numpy()
        y[0, 0, 1, 2] = np.nan
        r = convmat.check(y, x, w, op="conv2d")
        self.assertEqual((r.bad, r.nonfinite), (1, 1))
        self.assertEqual(r.worst[0].index, (0, 0, 1, 2))
        r = convmat.check(y[..., :2], x, w, op="conv2d")
        self.assertFalse(r.shape_matches)
        self.assertEqual((r.expected_shape, r.candidate_shape), ((1, 1, 3, 3), (1, 1, 3, 2)))
        self.assertIn("differs from the layer's output shape", str(r))
        # An unbatched candidate compares with the batched output (leading 1s).
        good = F.conv2d(torch.from_numpy(x), torch.from_numpy(w)).numpy()
        self.assertTrue(convmat.check(good[0], x, w, op="conv2d"))


class Diagnosis(unittest.TestCase):
    """Each mistake made by PyTorch is named by diagnose."""

    def diagnosed(self, candidate, *args, **kwargs):
        d = convmat.diagnose(candidate, *args, **kwargs)
        self.assertFalse(d.check.passed, str(d))
        self.assertGreater(len(d.tried), 5)
        self.assertEqual(d.reproducing, [t.id for t in d.tried if t.reproduces])
        return d

    def test_flipped_kernel(self):
        rng = h.rng(405)
        for i in range(10):
            rank = 1 + i % 3
            transposed = bool(i % 2)
            x = rng.standard_normal([2, 2] + [5] * rank)
            w = rng.standard_normal([2, 3] + [3] * rank)
            flipped = torch.from_numpy(w).flip(list(range(2, 2 + rank)))
            torch_layer = h.TORCH_CONV_TRANSPOSE if transposed else h.TORCH_CONV
            op = "conv_transpose" if transposed else "conv"
            if not transposed:
                w = w.transpose(1, 0, *range(2, 2 + rank)).copy()  # (C_out, C_in, k)
                flipped = torch.from_numpy(w).flip(list(range(2, 2 + rank)))
            y = torch_layer[rank](torch.from_numpy(x), flipped, None, 2).numpy()
            d = self.diagnosed(y, x, w, op=op, stride=2)
            self.assertIn("kernel_flipped", d.reproducing, str(d))
            self.assertEqual(len(d.explanation), len(d.reproducing))
            self.assertIn("kernel_flipped:", str(d))

    def test_same_upper_computed_as_same_lower(self):
        rng = h.rng(406)
        x = rng.standard_normal((1, 3, 8, 7))
        w = rng.standard_normal((4, 3, 4, 3))
        # SAME with stride 1, kernel (4, 3): total padding (3, 2); SAME_UPPER puts the odd one at
        # the end, SAME_LOWER at the begin. The candidate pads like SAME_LOWER.
        lower = F.conv2d(F.pad(torch.from_numpy(x), [1, 1, 2, 1]), torch.from_numpy(w)).numpy()
        upper = F.conv2d(F.pad(torch.from_numpy(x), [1, 1, 1, 2]), torch.from_numpy(w)).numpy()
        self.assertTrue(convmat.check(upper, x, w, op="onnx_conv", auto_pad="SAME_UPPER"))
        d = self.diagnosed(lower, x, w, op="onnx_conv", auto_pad="SAME_UPPER")
        self.assertIn("pads_swapped", d.reproducing, str(d))

    def test_output_padding_at_the_begin(self):
        rng = h.rng(407)
        x = rng.standard_normal((1, 2, 4, 5))
        w = rng.standard_normal((2, 3, 3, 3))
        s, p, a = 2, 1, 1
        full = F.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(w), stride=s).numpy()
        out = [(n - 1) * s - 2 * p + 3 + a for n in (4, 5)]
        # output_padding adds a rows at the end of the (uncropped) output: zeros there.
        end = np.pad(full, [(0, 0), (0, 0), (0, a), (0, a)])
        right = end[..., p:p + out[0], p:p + out[1]]
        torch_right = F.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(w), stride=s,
                                         padding=p, output_padding=a).numpy()
        np.testing.assert_array_equal(right, torch_right)  # the construction is right
        begin = np.pad(full, [(0, 0), (0, 0), (a, 0), (a, 0)])
        wrong = begin[..., p:p + out[0], p:p + out[1]]
        d = self.diagnosed(wrong, x, w, op="conv_transpose2d", stride=s, padding=p,
                           output_padding=a)
        self.assertIn("output_padding_at_begin", d.reproducing, str(d))

    def test_onednn_weight_layout(self):
        rng = h.rng(408)
        g, cin_g, cout_g = 2, 2, 3
        x = rng.standard_normal((1, g * cin_g, 4, 4))
        w = rng.standard_normal((g * cin_g, cout_g, 3, 3))
        # The candidate reads w's memory as (g, C_out/g, C_in/g, k): its weight in PyTorch's
        # layout is that view with the channel axes swapped back.
        read = w.reshape(g, cout_g, cin_g, 3, 3).transpose(0, 2, 1, 3, 4)
        read = read.reshape(g * cin_g, cout_g, 3, 3).copy()
        y = F.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(read), stride=2,
                               groups=g).numpy()
        d = self.diagnosed(y, x, w, op="conv_transpose2d", stride=2, groups=g)
        self.assertIn("weight_channels_swapped", d.reproducing, str(d))

    def test_bias_missing(self):
        rng = h.rng(409)
        x, w, b = (rng.standard_normal(s) for s in ((2, 3, 6), (4, 3, 2), (4,)))
        y = F.conv1d(torch.from_numpy(x), torch.from_numpy(w)).numpy()
        d = self.diagnosed(y, x, w, b, op="conv1d")
        self.assertEqual(d.reproducing, ["bias_missing"], str(d))

    def test_right_output_has_nothing_to_diagnose(self):
        x, w = np.ones((1, 1, 3)), np.ones((1, 1, 2))
        d = convmat.diagnose(np.full((1, 1, 2), 2.0), x, w, op="conv1d")
        self.assertTrue(d.check.passed)
        self.assertEqual((d.tried, d.reproducing), ([], []))
        self.assertIn("nothing to diagnose", str(d))


class Errors(unittest.TestCase):

    def test_messages(self):
        x, w = np.zeros((1, 2, 5, 5)), np.zeros((3, 2, 3, 3))
        y = np.zeros((1, 3, 3, 3))
        cases = [
            (lambda: convmat.check(y, x, w, op="conv2"), TypeError, "check: op must be one of"),
            (lambda: convmat.check(y, x, w, op="conv2d", output_padding=1), TypeError,
             "check: op='conv2d' takes the keywords stride, padding, dilation, groups, "
             "padding_mode; got 'output_padding'"),
            (lambda: convmat.check(y, x, w, op="onnx_conv", stride=1), TypeError,
             "op='onnx_conv' takes the keywords auto_pad, dilations, group"),
            (lambda: convmat.check(y, x, w, op="conv1d"), ValueError, "conv1d"),
            (lambda: convmat.check(y, x, np.zeros((3, 3, 3, 3))), ValueError,
             "expected input[1, 2, 5, 5] to have 3 channels, but got 2 channels instead"),
            (lambda: convmat.check(y, x, w, np.zeros(2)), ValueError, "bias"),
            (lambda: convmat.check(y.astype(complex), x, w), TypeError,
             "check: candidate has dtype complex128, not a real number type"),
            (lambda: convmat.check(y, x, w, precision="fp8"), ValueError,
             "precision must be one of float16 (or half, fp16, f16), bfloat16 (or bf16), tfloat32 "
             "(or tf32), float32 (or float, fp32, f32), float64 (or double, fp64, f64), got 'fp8'"),
            (lambda: convmat.check(y, x, w, atol="0"), TypeError, "atol must be a number"),
            (lambda: convmat.check(None, x, w), TypeError, "must be arrays"),
            (lambda: convmat.check(y, x, w, atol=-1.0), ValueError,
             "atol must be a finite number >= 0, got -1"),
            (lambda: convmat.check(y, x, w, rtol=float("nan")), ValueError,
             "rtol must be a finite number >= 0, got nan"),
            (lambda: convmat.check(y, x, w, atol=float("inf")), ValueError, "got inf"),
            (lambda: convmat.diagnose(y, x, w, blame=-1), ValueError,
             "diagnose: blame must be >= 0, got -1"),
            (lambda: convmat.diagnose(y, x, w, op="conv2d", padding="full"), ValueError,
             "padding"),
        ]
        h.assert_errors(self, cases)



class IeeeSpecialValues(unittest.TestCase):
    """NaN and infinities: convmat's W, its loops and PyTorch give the same IEEE values, and the
    oracle accepts them (oracle/check.hpp: zero padding meeting a non-finite weight, overflow)."""

    def test_inf_weight_meeting_zero_padding(self):
        x = np.array([[[1.0, 2.0, 3.0]]], dtype=np.float32)
        w = np.array([[[np.inf, 1.0, 1.0]]], dtype=np.float32)
        y = F.conv1d(torch.from_numpy(x), torch.from_numpy(w), padding=1).numpy()
        np.testing.assert_array_equal(y, [[[np.nan, np.inf, np.inf]]])  # PyTorch's IEEE answer
        for method in ("matrix", "loops"):
            np.testing.assert_array_equal(convmat.conv1d(x, w, padding=1, method=method), y)
        r = convmat.check(y, x, w, op="conv1d", padding=1)
        self.assertTrue(r, str(r))
        self.assertEqual((r.padded_nonfinite, r.padding_skipped), (1, 0))
        self.assertIn("IEEE: 1 element is NaN in the oracle because an infinite or NaN weight "
                      "meets zero padding", str(r))
        # An implementation that skips the padded taps gives 3 there: accepted and counted.
        skipped = convmat.check(np.array([[[3.0, np.inf, np.inf]]], np.float32), x, w,
                                op="conv1d", padding=1)
        self.assertTrue(skipped, str(skipped))
        self.assertEqual(skipped.padding_skipped, 1)
        wrong = convmat.check(np.array([[[4.0, np.inf, np.inf]]], np.float32), x, w,
                              op="conv1d", padding=1)
        self.assertFalse(wrong)
        self.assertEqual(wrong.bad, 1)

    def test_inf_weight_meeting_the_gaps_of_a_transposed_convolution(self):
        # A transposed convolution is, by definition, the convolution of the input with s - 1
        # zeros inserted between positions, padded by d(k - 1) - p, with the kernel flipped; an
        # implementation computing that gather multiplies the inserted zeros and the padding by
        # the weight (0*inf = NaN), PyTorch's scatter does not. Both are accepted.
        rng = np.random.default_rng(5)
        gaps = 0
        for trial in range(20):
            n, k = int(rng.integers(2, 5)), int(rng.integers(2, 4))
            s, d = int(rng.integers(1, 4)), int(rng.integers(1, 3))
            p = int(rng.integers(0, d * (k - 1) + 1))
            if (n - 1) * s - 2 * p + d * (k - 1) + 1 < 1:
                continue  # no output
            x = rng.integers(1, 4, (1, 2, n)).astype(np.float64)
            w = rng.integers(-2, 3, (2, 1, k)).astype(np.float64)
            w[int(rng.integers(0, 2)), 0, int(rng.integers(0, k))] = np.inf
            scatter = F.conv_transpose1d(torch.from_numpy(x), torch.from_numpy(w), stride=s,
                                         padding=p, dilation=d).numpy()
            # the gather, written from the definition (numpy, IEEE products of every tap)
            dilated = np.zeros((1, 2, (n - 1) * s + 1))
            dilated[:, :, ::s] = x
            e = d * (k - 1) - p
            padded = np.pad(dilated, ((0, 0), (0, 0), (e, e)))
            flipped = w[:, :, ::-1]
            gather = np.zeros_like(scatter)
            with np.errstate(invalid="ignore"):
                for o in range(gather.shape[2]):
                    window = padded[0, :, o:o + d * (k - 1) + 1:d]  # (C_in, k)
                    gather[0, 0, o] = np.sum(window * flipped[:, 0, :])  # w: (C_in, 1, k)
            for candidate in (scatter, gather):
                r = convmat.check(candidate, x, w, op="conv_transpose1d", stride=s, padding=p,
                                  dilation=d)
                self.assertTrue(r, f"{trial}: {candidate} {r}")
            nan_only_in_gather = int(np.sum(np.isnan(gather) & ~np.isnan(scatter)))
            r = convmat.check(gather, x, w, op="conv_transpose1d", stride=s, padding=p,
                              dilation=d)
            self.assertEqual(r.padded_nonfinite, nan_only_in_gather, str(r))
            gaps += nan_only_in_gather
            wrong = scatter.copy()
            finite = np.flatnonzero(np.isfinite(scatter) & ~np.isnan(gather))
            if finite.size:
                wrong.flat[finite[0]] += 1
                self.assertFalse(convmat.check(wrong, x, w, op="conv_transpose1d", stride=s,
                                               padding=p, dilation=d))
        self.assertGreater(gaps, 10)

    def test_random_layers_with_nan_and_infinities_equal_pytorch(self):
        # Integer data in float64 with infinities and NaN planted in the weight and the input:
        # every value (NaN, +-inf, finite) equals PyTorch's exactly, by W and by the loops, and the
        # oracle passes PyTorch's output.
        rng = h.rng(977)
        padded_nan = 0
        for i in range(150):
            transposed = bool(i % 3 == 2)
            case = (h.random_conv_transpose if transposed else h.random_conv)(rng)
            x, w, b = h.conv_tensors(rng, case, np.float64, True, transposed)
            for a, count in ((w, 2), (x, 1 if i % 2 else 0)):
                flat = a.reshape(-1)
                for _ in range(count if flat.size else 0):
                    flat[rng.integers(flat.size)] = rng.choice([np.inf, -np.inf, np.nan])
            y = h.torch_forward(case, h.as_torch(h.batched(x, case)), h.as_torch(w),
                                h.as_torch(b), transposed).numpy()
            y = h.unbatched(y, case)
            context = f"case {i}: {case}"
            for method in ("matrix", "loops"):
                np.testing.assert_array_equal(
                    h.convmat_forward(case, x, w, b, transposed, method=method), y,
                    err_msg=f"{context}, {method}")
            op = ("conv_transpose" if transposed else "conv") + f"{case['rank']}d"
            r = convmat.check(y, x, w, b, op=op, **h.layer_keywords(case, transposed))
            self.assertTrue(r, f"{context}\n{r}")
            padded_nan += r.padded_nonfinite > 0
        self.assertGreater(padded_nan, 10)  # the cases reached padding with non-finite weights

    def test_infinite_and_nan_inputs(self):
        w = np.array([[[1.0, 2.0, 1.0]]])
        x = np.array([[[np.inf, 1.0, -np.inf, 2.0]]])
        for padding, want in ((0, [np.nan, -np.inf]), (1, [np.inf, np.nan, -np.inf, -np.inf])):
            y = F.conv1d(torch.from_numpy(x), torch.from_numpy(w), padding=padding).numpy()
            np.testing.assert_array_equal(y[0, 0], want)
            np.testing.assert_array_equal(convmat.conv1d(x, w, padding=padding), y)
            self.assertTrue(convmat.check(y, x, w, op="conv1d", padding=padding))
            flipped = -y
            self.assertEqual(convmat.check(flipped, x, w, op="conv1d", padding=padding).nonfinite,
                             np.count_nonzero(np.isinf(y)))
        xn = np.array([[[1.0, np.nan, 3.0, 4.0]]])
        y = F.conv1d(torch.from_numpy(xn), torch.from_numpy(w[..., :2])).numpy()
        np.testing.assert_array_equal(y[0, 0], [np.nan, np.nan, 11.0])  # 3*1 + 4*2
        self.assertTrue(convmat.check(y, xn, w[..., :2], op="conv1d"))
        self.assertFalse(convmat.check(np.array([[[1.0, np.nan, 11.0]]]), xn, w[..., :2],
                                       op="conv1d"))

    def test_signed_zero(self):
        # PyTorch sums from +0: conv1d([-0.], [1.]) is +0, as convmat's; -0 is accepted too.
        x, w = np.array([[[-0.0]]]), np.array([[[1.0]]])
        y = F.conv1d(torch.from_numpy(x), torch.from_numpy(w)).numpy()
        self.assertFalse(np.signbit(y[0, 0, 0]))
        self.assertFalse(np.signbit(convmat.conv1d(x, w)[0, 0, 0]))
        self.assertTrue(convmat.check(y, x, w, op="conv1d"))
        self.assertTrue(convmat.check(-y, x, w, op="conv1d"))

    def test_overflow_in_float32(self):
        x = np.array([[[3e38, 3e38]]], dtype=np.float32)
        w = np.array([[[1.0, 1.0]]], dtype=np.float32)
        y = F.conv1d(torch.from_numpy(x), torch.from_numpy(w)).numpy()
        self.assertEqual(y[0, 0, 0], np.inf)
        self.assertEqual(convmat.conv1d(x, w)[0, 0, 0], np.inf)
        r = convmat.check(y, x, w, op="conv1d")
        self.assertTrue(r, str(r))
        self.assertEqual(r.overflow, 1)
        self.assertIn("1 element overflows the candidate's precision", str(r))
        # In float64 the sum 6e38 is finite: inf is wrong there.
        wide = convmat.check(y.astype(np.float64), x, w, op="conv1d")
        self.assertFalse(wide)
        self.assertEqual(wide.nonfinite, 1)
        self.assertFalse(convmat.check(-y, x, w, op="conv1d"))


class SmallThings(unittest.TestCase):

    def test_conv_transpose_takes_padding_mode_zeros(self):
        x, w = np.ones((1, 1, 4), np.float32), np.ones((1, 1, 3), np.float32)
        y = torch.nn.ConvTranspose1d(1, 1, 3, padding=1, padding_mode="zeros", bias=False)
        with torch.no_grad():
            y.weight.copy_(torch.from_numpy(w))
            out = y(torch.from_numpy(x)).numpy()
        r = convmat.check(out, x, w, op="conv_transpose1d", padding=1, padding_mode="zeros")
        self.assertTrue(r, str(r))
        with self.assertRaisesRegex(ValueError, "only 'zeros' padding mode is supported"):
            convmat.check(out, x, w, op="conv_transpose1d", padding=1, padding_mode="reflect")

    def test_precision_aliases_are_the_documented_table(self):
        x, w = np.ones((1, 1, 4), np.float32), np.ones((1, 1, 3), np.float32)
        y = convmat.conv1d(x, w)
        names = dict(convmat.oracle._core.precision_names())
        self.assertEqual(names["bfloat16"], ["bf16"])
        for name, aliases in names.items():
            for alias in [name] + aliases:
                self.assertEqual(convmat.check(y, x, w, op="conv1d",
                                               precision=alias).tolerance.arithmetic, name)
                self.assertIn(alias, convmat.check.__doc__)
        with self.assertRaisesRegex(ValueError, r"precision must be one of float16 \(or half, "
                                    r"fp16, f16\), bfloat16 \(or bf16\).*got 'BF16'"):
            convmat.check(y, x, w, op="conv1d", precision="BF16")


if __name__ == "__main__":
    unittest.main()
