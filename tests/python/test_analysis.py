"""The analysis bindings against independent references: NumPy's dense SVD, matrix_rank, pinv and
cond, plain NumPy formulas for the transposed-versus-inverse figures, PyTorch for the
checkerboard's tap counts and weight sums.

Tolerances, stated once: singular values, pseudo-inverses and the figures derived from them are
backward stable, so two SVDs of the same m x n matrix agree to c * max(m, n) * eps * sigma_1; we
use c = 16 (SVD_RTOL below scaled by sigma_1). Lanczos values are asked to 1e-10 relative
accuracy; the smallest ones come from a shift-invert on the Gram matrix, accurate to about
eps * sigma_1^2 / sigma (stated in spectrum.hpp), so they are compared where that is small.
Tap counts and the checkerboard structure are integers: ==.
"""

import unittest

import numpy as np
import scipy.sparse
import torch
import torch.nn.functional as F

import convmat
import helpers as h

EPS = np.finfo(np.float64).eps


def svd_tolerance(matrix):
    m, n = matrix.shape
    return 16 * max(m, n) * EPS


def random_matrices(rng, count):
    """Layers' matrices (convolution and transposed, with rank-deficient ones: strides that skip
    inputs, all-zero channels) and plain random sparse matrices, at most 400 x 400."""
    out = []
    for i in range(count):
        kind = i % 3
        if kind == 0:
            case = h.random_conv(rng, rank=int(rng.integers(1, 3)))
            k = [min(v, 3) for v in case["kernel"]]
            w = h.data(rng, [case["c_out"], case["c_in"] // case["groups"]] + k, np.float64,
                       integer=bool(i % 2))
            try:
                A = convmat.conv_matrix(w, case["size"], case["stride"], case["padding"],
                                        case["dilation"], case["groups"], case["padding_mode"])
            except ValueError:  # the smaller kernel may not fit a "same"/circular case
                continue
        elif kind == 1:
            case = h.random_conv_transpose(rng, rank=int(rng.integers(1, 3)))
            w = h.data(rng, [case["c_in"], case["c_out"] // case["groups"]] + case["kernel"],
                       np.float64, integer=bool(i % 2))
            if i % 4 == 1:
                w[0] = 0  # a zero input channel: rank-deficient
            A = convmat.conv_transpose_matrix(w, case["size"], case["stride"], case["padding"],
                                              case["output_padding"], case["groups"],
                                              case["dilation"])
        else:
            m, n = (int(v) for v in rng.integers(1, 40, size=2))
            A = scipy.sparse.random(m, n, density=0.3, random_state=int(rng.integers(1 << 30)))
        if 0 < A.shape[0] * A.shape[1] <= 160_000:
            out.append(A)
    return out


class SingularValues(unittest.TestCase):

    def test_all_values_rank_nullity_and_condition_against_numpy(self):
        rng = h.rng(101)
        matrices = random_matrices(rng, 60)
        self.assertGreater(len(matrices), 40)
        deficient = 0
        for i, A in enumerate(matrices):
            dense = A.toarray()
            want = np.linalg.svd(dense, compute_uv=False)
            s = convmat.singular_values(A)
            context = f"matrix {i}, shape {A.shape}"
            sigma1 = want[0] if want.size else 0.0
            np.testing.assert_allclose(s.values, want, rtol=0,
                                       atol=svd_tolerance(dense) * sigma1, err_msg=context)
            self.assertEqual(s.shape, A.shape)
            self.assertEqual(s.status, "converged")
            rank = np.linalg.matrix_rank(dense)  # tol = max(m, n) eps sigma_1: the same rule
            self.assertEqual(s.rank, rank, context)
            self.assertEqual(s.nullity, A.shape[1] - rank, context)
            self.assertAlmostEqual(s.tolerance, max(A.shape) * EPS * sigma1, delta=1e-3 * EPS)
            if rank == min(A.shape) and rank > 0:
                self.assertLess(abs(s.condition_number - np.linalg.cond(dense)),
                                1e-9 * np.linalg.cond(dense), context)
                self.assertEqual(s.effective_condition_number, s.condition_number)
            else:
                deficient += 1
                self.assertEqual(s.condition_number, np.inf, context)
                if rank > 0:
                    self.assertAlmostEqual(s.effective_condition_number / (want[0] /
                                                                           want[rank - 1]), 1,
                                           delta=1e-9, msg=context)
        self.assertGreater(deficient, 5)

    def test_explicit_tolerance_and_inputs(self):
        A = np.diag([4.0, 2.0, 1e-3, 0.0])
        self.assertEqual(convmat.singular_values(A).rank, 3)
        self.assertEqual(convmat.singular_values(A, tol=1e-2).rank, 2)
        self.assertEqual(convmat.singular_values(scipy.sparse.csc_matrix(A)).rank, 3)
        self.assertEqual(convmat.singular_values(A.astype(np.float32)).rank, 3)
        self.assertEqual(convmat.singular_values((A * 1000).astype(np.int64)).rank, 3)


class PartialSpectrum(unittest.TestCase):

    def test_largest_and_smallest_against_the_dense_svd(self):
        rng = h.rng(102)
        for i in range(12):
            c_in, c_out = int(rng.integers(1, 3)), int(rng.integers(1, 3))
            k = int(rng.integers(2, 4))
            n = int(rng.integers(9, 15))
            w = rng.standard_normal((c_out, c_in, k, k))
            stride = int(rng.integers(1, 3))
            A = convmat.conv_matrix(w, n, stride=stride, padding=int(rng.integers(0, 2)))
            want = np.linalg.svd(A.toarray(), compute_uv=False)
            count = 4
            context = f"case {i}: {A.shape}"
            big = convmat.largest_singular_values(A, k=count)
            self.assertTrue(big.converged, context)
            self.assertEqual(big.gram_size, min(A.shape))
            np.testing.assert_allclose(big.values, want[:count], rtol=1e-8, err_msg=context)
            small = convmat.smallest_singular_values(A, k=count)
            self.assertTrue(small.converged, context)
            # Shift-invert on G: error ~ eps sigma_1^2 / sigma (spectrum.hpp).
            bound = 1e-8 * want[-count:][::-1] + 100 * EPS * want[0] ** 2 / want[-count:][::-1]
            np.testing.assert_array_less(np.abs(small.values - want[-count:][::-1]), bound,
                                         err_msg=context)

    def test_condition_number_methods(self):
        rng = h.rng(103)
        w = rng.standard_normal((2, 1, 3, 3))
        A = convmat.conv_matrix(w, 12, padding=2)  # the full convolution: injective
        want = np.linalg.cond(A.toarray())
        self.assertAlmostEqual(convmat.condition_number(A) / want, 1, delta=1e-10)
        self.assertAlmostEqual(convmat.condition_number(A, method="dense") / want, 1, delta=1e-10)
        self.assertAlmostEqual(convmat.condition_number(A, method="lanczos") / want, 1,
                               delta=1e-6)
        # auto goes to Lanczos beyond the dense limit: 120 x 120 inputs, W is 14400 x 14400.
        big = convmat.conv_matrix(np.array([[[[1.0, 0.25]]]]), (120, 121))
        self.assertGreater(big.shape[0] * big.shape[1], convmat.DENSE_ENTRY_LIMIT)
        value = convmat.condition_number(big)
        # Each row of W is the 1-d filter [1, 0.25] (121 -> 120): a bidiagonal Toeplitz block
        # whose singular values lie in (1 - 0.25, 1 + 0.25).
        self.assertTrue(1 < value < 1.25 / 0.75, value)

    def test_not_converged_is_a_status(self):
        A = convmat.conv_matrix(np.random.default_rng(0).standard_normal((1, 1, 3, 3)), 30)
        r = convmat.largest_singular_values(A, k=5, maxiter=1, ncv=6)
        self.assertEqual(r.status, "not_converged")
        self.assertLess(len(r.values), 5)


class PseudoInverse(unittest.TestCase):

    def test_against_numpy_pinv(self):
        rng = h.rng(104)
        for i, A in enumerate(random_matrices(rng, 30)):
            dense = A.toarray()
            want = np.linalg.pinv(dense, rcond=max(A.shape) * EPS)  # the same tolerance rule
            got = convmat.pseudo_inverse(A)
            self.assertEqual(got.shape, dense.T.shape)
            scale = np.linalg.norm(want, 2) if want.size else 0
            cond = np.linalg.cond(dense) if dense.size else 1
            # Perturbation of A+ is ~ cond * eps relative to ||A+|| on the retained subspace.
            np.testing.assert_allclose(got, want, rtol=0,
                                       atol=max(1, min(cond, 1e6)) * svd_tolerance(dense) * scale
                                       + 1e-300, err_msg=f"matrix {i} {A.shape}")


class TransposeVersusInverse(unittest.TestCase):

    def reference(self, dense, x):
        """The figures of pseudo_inverse.hpp, computed with NumPy."""
        m, n = dense.shape
        pinv = np.linalg.pinv(dense, rcond=max(m, n) * EPS)
        gram = dense @ dense.T if m <= n else dense.T @ dense
        c = np.trace(gram) / min(m, n)
        y = dense @ x
        return dict(
            relative_difference=np.linalg.norm(dense.T - pinv) / np.linalg.norm(pinv),
            scale=c,
            gram_error=np.linalg.norm(gram - c * np.eye(min(m, n))) / np.linalg.norm(gram),
            scaled_relative_difference=np.linalg.norm(dense.T / c - pinv) / np.linalg.norm(pinv),
            transpose_reconstruction_error=np.linalg.norm(dense.T @ y - x) / np.linalg.norm(x),
            scaled_transpose_reconstruction_error=(np.linalg.norm(dense.T @ y / c - x)
                                                   / np.linalg.norm(x)),
            inverse_reconstruction_error=np.linalg.norm(pinv @ y - x) / np.linalg.norm(x))

    def test_figures_against_numpy(self):
        rng = h.rng(105)
        for i in range(20):
            k, s = int(rng.integers(1, 4)), int(rng.integers(1, 4))
            w = rng.standard_normal((int(rng.integers(1, 3)), 1, k, k))
            A = convmat.conv_matrix(w, int(rng.integers(k, 8)), stride=s)
            if i % 2:
                A = convmat.conv_transpose_matrix(w, int(rng.integers(1, 5)), stride=s)
            x = rng.standard_normal(A.shape[1])
            got = convmat.transpose_versus_inverse(A, x)
            want = self.reference(A.toarray(), x)
            for name, value in want.items():
                self.assertLess(abs(getattr(got, name) - value), 1e-8 * max(1, abs(value)),
                                f"case {i} {A.shape}: {name}")
            self.assertEqual(got.rank, np.linalg.matrix_rank(A.toarray()))

    def test_transposed_equals_scaled_inverse_exactly_when_windows_do_not_overlap(self):
        rng = h.rng(106)
        k = rng.standard_normal((1, 1, 3, 3))
        # stride = kernel size, one channel: orthogonal rows of norm ||k||, Wᵀ = ||k||² W⁺.
        r = convmat.transpose_versus_inverse(convmat.conv_matrix(k, 9, stride=3))
        self.assertTrue(r.orthogonal_rows)
        self.assertAlmostEqual(r.scale, np.sum(k ** 2), delta=1e-12 * np.sum(k ** 2))
        self.assertLess(r.scaled_relative_difference, 1e-12)
        self.assertLess(r.scaled_transpose_reconstruction_error, 1
                        - 1e-3)  # x only in the row space is recovered; the rest is projected
        self.assertAlmostEqual(r.scaled_transpose_reconstruction_error,
                               r.inverse_reconstruction_error, delta=1e-12)
        # Overlapping windows (stride 1): not orthogonal, Wᵀ is far from every c·W⁺.
        r = convmat.transpose_versus_inverse(convmat.conv_matrix(k, 9, stride=1))
        self.assertFalse(r.orthogonal_rows or r.orthogonal_columns)
        self.assertGreater(r.scaled_relative_difference, 0.1)

    def test_default_input_is_documented(self):
        A = convmat.conv_matrix(np.ones((1, 1, 2)), 5)
        x = np.random.default_rng(0).uniform(-1.0, 1.0, 5)
        self.assertEqual(convmat.transpose_versus_inverse(A),
                         convmat.transpose_versus_inverse(A, x))


class CircularSingularValues(unittest.TestCase):

    def test_fft_formula_against_the_dense_svd(self):
        rng = h.rng(107)
        for i in range(12):
            rank = int(rng.integers(1, 4))
            groups = int(rng.integers(1, 3))
            c_in, c_out = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
            kernel = [int(rng.choice([1, 3])) for _ in range(rank)]
            dilation = [int(rng.integers(1, 3)) for _ in range(rank)]
            size = [int(rng.integers(max(3, d * (k - 1)), 7 if rank < 3 else 5))
                    for k, d in zip(kernel, dilation)]
            w = rng.standard_normal([c_out, c_in // groups] + kernel)
            got = convmat.circular_singular_values(w, size, dilation=dilation, groups=groups)
            A = convmat.conv_matrix(w, size, padding="same", dilation=dilation, groups=groups,
                                    padding_mode="circular")
            want = np.linalg.svd(A.toarray(), compute_uv=False)
            context = f"case {i}: w {w.shape}, size {size}, dilation {dilation}, groups {groups}"
            self.assertEqual(got.values.shape, (np.prod(size) * min(c_in, c_out),), context)
            # The dense SVD has min(m, n) = the same count of values.
            np.testing.assert_allclose(got.values, want, rtol=0,
                                       atol=svd_tolerance(A) * want[0], err_msg=context)
            self.assertEqual(got.by_frequency.shape, tuple(size) + (min(c_in, c_out),))
            np.testing.assert_allclose(np.sort(got.by_frequency.ravel())[::-1], got.values,
                                       rtol=1e-14)

    def test_numpy_fft_for_one_channel(self):
        # One channel, no dilation: the eigenvalues of the circulant are the DFT of the kernel
        # placed at offsets -p..p, so the singular values are |fft(h)|.
        w = np.array([[[1.0, -2.0, 0.5]]])
        h_ = np.zeros(8)
        h_[[7, 0, 1]] = w[0, 0]
        got = convmat.circular_singular_values(w, 8).values
        np.testing.assert_allclose(got, np.sort(np.abs(np.fft.fft(h_)))[::-1], rtol=1e-14)


class Checkerboard(unittest.TestCase):

    def test_tap_counts_and_weight_sums_against_torch(self):
        rng = h.rng(108)
        for i in range(60):
            case = h.random_conv_transpose(rng, rank=int(rng.integers(1, 3)))
            rank = case["rank"]
            w = h.data(rng, [case["c_in"], case["c_out"] // case["groups"]] + case["kernel"],
                       np.float64, integer=True)
            args = (case["size"], case["stride"], case["padding"], case["output_padding"],
                    case["groups"], case["dilation"])
            got = convmat.checkerboard(w, *args)
            shape_only = convmat.checkerboard(w.shape, *args)
            context = f"case {i}: {case}"

            # Taps from one input channel: the layer with an all-ones 1 -> 1 kernel on ones.
            ones_w = torch.ones([1, 1] + case["kernel"], dtype=torch.float64)
            ones_x = torch.ones([1, 1] + case["size"], dtype=torch.float64)
            taps = h.TORCH_CONV_TRANSPOSE[rank](ones_x, ones_w, None, case["stride"],
                                                case["padding"], case["output_padding"], 1,
                                                case["dilation"])[0, 0].numpy()
            np.testing.assert_array_equal(got.tap_count, taps, err_msg=context)
            np.testing.assert_array_equal(shape_only.tap_count, taps, err_msg=context)
            self.assertIsNone(shape_only.weight_sum)

            x1 = torch.ones([1, case["c_in"]] + case["size"], dtype=torch.float64)
            sums = h.TORCH_CONV_TRANSPOSE[rank](x1, torch.from_numpy(w), None, case["stride"],
                                                case["padding"], case["output_padding"],
                                                case["groups"], case["dilation"])[0].numpy()
            np.testing.assert_array_equal(got.weight_sum, sums, err_msg=context)

            if got.interior is not None:
                inner = taps[got.interior]
                self.assertEqual(got.interior_positions, inner.size)
                self.assertEqual((got.min_taps, got.max_taps), (inner.min(), inner.max()))
                self.assertEqual(got.even, inner.min() == inner.max())
                self.assertEqual(got.period, h.spatial(case["stride"], rank))
                if got.period_pattern is not None:
                    period = tuple(slice(0, s) for s in got.period)
                    np.testing.assert_array_equal(got.period_pattern, inner[period])
                    # The pattern repeats with the stride over the whole interior.
                    tiled = np.tile(got.period_pattern,
                                    [-(-n // s) for n, s in zip(inner.shape, got.period)])
                    np.testing.assert_array_equal(
                        inner, tiled[tuple(slice(0, n) for n in inner.shape)], err_msg=context)

    def test_even_exactly_when_the_stride_divides_the_kernel(self):
        for k in range(1, 8):
            for s in range(1, 6):
                c = convmat.checkerboard((1, 1, k, k), 12, stride=s)
                self.assertEqual(c.even, k % s == 0, f"k={k}, s={s}")
                self.assertEqual((c.min_taps, c.max_taps),
                                 ((k // s) ** 2, (-(-k // s)) ** 2), f"k={k}, s={s}")


class Errors(unittest.TestCase):

    def test_messages(self):
        W = convmat.conv_matrix(np.ones((1, 1, 2)), 5)
        cases = [
            (lambda: convmat.singular_values("A"), TypeError, "singular_values: A must be a "
             "scipy.sparse matrix or a 2-D array"),
            (lambda: convmat.singular_values(np.ones(3)), TypeError, "shape (3,)"),
            (lambda: convmat.singular_values(np.ones((2, 2), complex)), TypeError,
             "complex128, not a real number type"),
            (lambda: convmat.singular_values(W, tol="1"), TypeError, "tol must be a number"),
            (lambda: convmat.singular_values(scipy.sparse.csr_matrix((3000, 3000))), ValueError,
             "singular_values: a dense 3000x3000 matrix has 9000000 entries, more than the "
             "dense limit"),
            (lambda: convmat.largest_singular_values(W, k=4), ValueError, "count"),
            (lambda: convmat.largest_singular_values(W, k=1.5), TypeError,
             "k must be an int"),
            (lambda: convmat.condition_number(W, method="svd"), ValueError,
             "method must be 'auto', 'dense' or 'lanczos', got 'svd'"),
            (lambda: convmat.transpose_versus_inverse(W, np.ones(4)), ValueError,
             "x must have A.shape[1] = 5 entries, got 4"),
            (lambda: convmat.circular_singular_values(np.ones((1, 1, 3)), 5, padding=0),
             ValueError, "circular"),
            (lambda: convmat.circular_singular_values((1, 1, 3), 5), TypeError,
             "weight must be an array"),
            (lambda: convmat.checkerboard((1, 1, 3), 5, stride=0), ValueError, "stride"),
            (lambda: convmat.checkerboard(np.ones((1, 1, 3), np.int32), 5), TypeError,
             "weight has dtype int32"),
            (lambda: convmat.checkerboard(np.ones((1, 1, 3)), 5, padding_mode="zeros"),
             TypeError, "padding_mode"),
        ]
        h.assert_errors(self, cases)


if __name__ == "__main__":
    unittest.main()
