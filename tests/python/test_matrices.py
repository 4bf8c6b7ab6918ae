"""convmat.conv_matrix / conv_transpose_matrix: the layers as scipy CSR matrices.

W @ x equals PyTorch's convolution for every argument, Wᵀ @ y its transposed convolution, the
transposed layer's matrix is the convolution's W transposed entry by entry, and the arrays scipy
receives are the C++ matrix's own (no copy).
"""

import gc
import math
import unittest

import numpy as np
import scipy.sparse

import convmat
import helpers as h
from test_functional import reference, terms

CASES = 150


def per_sample(matrix, x, out_shape):
    """matrix @ every sample of a batched x -> (N, *out_shape)."""
    n = x.shape[0]
    return np.asarray((matrix @ x.reshape(n, matrix.shape[1]).T).T).reshape((n,) + tuple(out_shape))


class SeedZero(unittest.TestCase):
    """Seed 000: kernel2matrix and "transposed" by matrix multiplication."""

    def test_kernel2matrix(self):
        K = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
        W = convmat.conv_matrix(K, (3, 3))
        self.assertIsInstance(W, scipy.sparse.csr_matrix)
        np.testing.assert_array_equal(W.toarray(), [[1, 2, 0, 3, 4, 0, 0, 0, 0],
                                                    [0, 1, 2, 0, 3, 4, 0, 0, 0],
                                                    [0, 0, 0, 1, 2, 0, 3, 4, 0],
                                                    [0, 0, 0, 0, 1, 2, 0, 3, 4]])
        X = np.arange(9.0)
        np.testing.assert_array_equal(W @ X, [27, 37, 57, 67])
        Y = np.array([27.0, 37.0, 57.0, 67.0])
        # trans_conv(Y, K) written out: every Y[i, j] times K added at (i, j)
        Z = np.zeros((3, 3))
        for i in range(2):
            for j in range(2):
                Z[i:i + 2, j:j + 2] += Y.reshape(2, 2)[i, j] * K[0, 0]
        np.testing.assert_array_equal((W.T @ Y).reshape(3, 3), Z)
        np.testing.assert_array_equal(convmat.conv_transpose_matrix(K, (2, 2)).toarray(),
                                      W.T.toarray())


class ConvMatrixAgainstTorch(unittest.TestCase):

    def test_w_times_x_is_the_convolution(self):
        rng = h.rng(51)
        for i in range(CASES):
            case = h.random_conv(rng)
            for dtype, integer in ((np.float64, True), (np.float32, False)):
                x, w, b = h.conv_tensors(rng, case, dtype, integer)
                case_nb = dict(case, bias=False)
                want, magnitude = reference(case_nb, x, w, None, transposed=False)
                W = convmat.conv_matrix(w, case["size"], case["stride"], case["padding"],
                                        case["dilation"], case["groups"], case["padding_mode"])
                context = f"case {i} {dtype.__name__}: {case}"
                self.assertEqual(W.dtype, np.dtype(dtype), context)
                xb, wantb = h.batched(x, case), h.batched(want, case)
                got = per_sample(W, xb, wantb.shape[1:]).astype(dtype)
                self.assertEqual(W.shape, (math.prod(wantb.shape[1:]), math.prod(xb.shape[1:])))
                if integer:
                    np.testing.assert_array_equal(got, wantb, err_msg=context)
                else:
                    h.assert_close(self, got, wantb, h.batched(magnitude, case), terms(case),
                                   dtype, context)

    def test_transposed_matrix_times_y_is_the_transposed_convolution(self):
        rng = h.rng(52)
        for i in range(CASES):
            case = h.random_conv_transpose(rng)
            x, w, _ = h.conv_tensors(rng, case, np.float64, True, transposed=True)
            want, _ = reference(dict(case, bias=False), x, w, None, transposed=True)
            M = convmat.conv_transpose_matrix(w, case["size"], case["stride"], case["padding"],
                                              case["output_padding"], case["groups"],
                                              case["dilation"])
            wantb = h.batched(want, case)
            got = per_sample(M, h.batched(x, case), wantb.shape[1:])
            np.testing.assert_array_equal(got, wantb, err_msg=f"case {i}: {case}")

    def test_transposed_matrix_is_w_transposed(self):
        """conv_transpose_matrix(k, n) == conv_matrix(k, o).T, o the transposed output size,
        restricted to the rows of W that the transposed input covers (all of them unless
        output_padding >= stride)."""
        rng = h.rng(53)
        for i in range(CASES):
            case = h.random_conv_transpose(rng)
            _, w, _ = h.conv_tensors(rng, case, np.float64, False, transposed=True)
            rank = case["rank"]
            s, d = h.spatial(case["stride"], rank), h.spatial(case["dilation"], rank)
            p, a = h.spatial(case["padding"], rank), h.spatial(case["output_padding"], rank)
            out = [(n - 1) * si - 2 * pi + di * (k - 1) + ai + 1 for n, k, si, di, pi, ai in
                   zip(case["size"], case["kernel"], s, d, p, a)]
            M = convmat.conv_transpose_matrix(w, case["size"], s, p, a, case["groups"], d)
            W = convmat.conv_matrix(w, out, s, p, d, case["groups"])
            conv_out = [(o + 2 * pi - di * (k - 1) - 1) // si + 1 for o, k, si, di, pi in
                        zip(out, case["kernel"], s, d, p)]
            rows = np.indices([case["c_in"]] + conv_out).reshape(rank + 1, -1)
            covered = np.all(rows[1:] < np.array(case["size"])[:, None], axis=0)
            context = f"case {i}: {case}"
            self.assertEqual(M.shape, (W.shape[1], int(covered.sum())), context)
            self.assertEqual((M != W[covered].T).nnz, 0, context)
            np.testing.assert_array_equal(M.toarray(), W[covered].T.toarray(), err_msg=context)


class Arguments(unittest.TestCase):

    def test_input_size_forms_give_the_same_matrix(self):
        w = h.rng(54).standard_normal((6, 2, 3, 2))
        expected = convmat.conv_matrix(w, (7, 5), groups=2).toarray()
        for size in [(7, 5), [7, 5], (4, 7, 5), (3, 4, 7, 5)]:
            np.testing.assert_array_equal(convmat.conv_matrix(w, size, groups=2).toarray(),
                                          expected, err_msg=str(size))
        square = convmat.conv_matrix(w, 6, groups=2)
        np.testing.assert_array_equal(square.toarray(),
                                      convmat.conv_matrix(w, (6, 6), groups=2).toarray())

    def test_float32_weight_gives_a_float32_matrix(self):
        w = np.ones((1, 1, 3), dtype=np.float32)
        self.assertEqual(convmat.conv_matrix(w, 5).dtype, np.float32)
        self.assertEqual(convmat.conv_transpose_matrix(w, 5).dtype, np.float32)


class Memory(unittest.TestCase):
    """Measured: scipy receives the C++ arrays themselves (data and indices do not own their
    memory); the matrix stays valid after every other reference is gone."""

    def test_conv_matrix_data_and_indices_are_not_copied(self):
        W = convmat.conv_matrix(np.ones((2, 3, 3, 3)), (16, 16))
        for name in ("data", "indices"):
            array = getattr(W, name)
            self.assertFalse(array.flags.owndata, name)
            self.assertIsNotNone(array.base, name)
        self.assertEqual(W.indices.dtype, np.int32)

    def test_conv_transpose_matrix_is_built_once(self):
        M = convmat.conv_transpose_matrix(np.ones((2, 3, 3, 3)), (16, 16))
        for name in ("data", "indices", "indptr"):
            self.assertFalse(getattr(M, name).flags.owndata, name)

    def test_arrays_outlive_everything_else(self):
        w = h.rng(55).standard_normal((2, 3, 3, 3))
        data = convmat.conv_matrix(w, (9, 9)).data
        M = convmat.conv_transpose_matrix(w, (5, 5))
        gc.collect()
        _ = [np.ones(1000) for _ in range(100)]  # reuse freed memory, if any was freed
        np.testing.assert_array_equal(data, convmat.conv_matrix(w, (9, 9)).data)
        np.testing.assert_array_equal(M.toarray(), convmat.conv_matrix(w, (7, 7)).T.toarray())


if __name__ == "__main__":
    unittest.main()
