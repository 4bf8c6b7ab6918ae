"""convmat.Layer against PyTorch and SciPy: forward == torch's conv*d / conv_transpose*d (with
bias, batched or not, float32 and float64, == on integer data), apply_adjoint == the transposed
layer, the LinearOperator protocol (matvec, rmatvec, matmat, .T) == the exported matrix's
products, refill == a fresh layer, SciPy's solvers and convmat.lstsq running on it, and the
errors at the boundary. The tolerance is helpers.assert_close's; integer data compare with ==.
"""

import unittest

import numpy as np
import scipy.sparse
import scipy.sparse.linalg as sla
import torch

import convmat
import helpers as h


def layer_of(case, w, b, transposed):
    op = f"conv_transpose{case['rank']}d" if transposed else f"conv{case['rank']}d"
    return convmat.Layer(op, w, case["size"], bias=b, **h.layer_keywords(case, transposed))


class Forward(unittest.TestCase):

    def test_forward_equals_torch_on_random_layers(self):
        rng = h.rng(701)
        for n in range(120):
            transposed = n % 2 == 1
            case = h.random_conv_transpose(rng) if transposed else h.random_conv(rng)
            if case["batch"] == 0:
                continue
            dtype = np.float64 if n % 4 < 2 else np.float32
            integer = n % 3 == 0
            x, w, b = h.conv_tensors(rng, case, dtype, integer, transposed)
            layer = layer_of(case, w, b, transposed)
            context = f"case {n}: {case}, {dtype.__name__}"

            def torch_layer(x_, w_, b_):
                with torch.no_grad():
                    return h.torch_forward(case, h.as_torch(h.batched(x_, case)), h.as_torch(w_),
                                           h.as_torch(b_), transposed).numpy()
            want, magnitude = h.with_magnitude(torch_layer, x, w, b)
            got = h.batched(layer.forward(x), case)
            if integer:
                np.testing.assert_array_equal(got, want, err_msg=context)
            else:
                terms = int(np.prod(case["kernel"])) * (case["c_in"] // case["groups"]) + 1
                h.assert_close(self, got, want.astype(dtype), magnitude, terms, dtype, context)
            # apply is the same without the bias; the flat form gives the same numbers.
            no_bias = layer.apply(x)
            if b is not None:
                shape = (1,) * (no_bias.ndim - len(layer.output_shape)) + (-1,) + (1,) * (
                    len(layer.output_shape) - 1)
                np.testing.assert_allclose(no_bias + b.reshape(shape), layer.forward(x),
                                           rtol=0, atol=0, err_msg=context)
            flat = layer.apply(np.asarray(x).reshape(-1, layer.shape[1]))
            np.testing.assert_array_equal(flat.reshape(no_bias.shape), no_bias, err_msg=context)

    def test_adjoint_is_the_other_layer(self):
        # conv2d's adjoint is conv_transpose2d with the same weight (integer data: ==).
        rng = h.rng(702)
        w = rng.integers(-3, 4, (6, 4, 3, 3)).astype(np.float64)
        layer = convmat.Layer("conv2d", w, (9, 8), stride=2, padding=1)
        y = rng.integers(-3, 4, (3,) + layer.output_shape).astype(np.float64)
        out = torch.nn.functional.conv_transpose2d(torch.from_numpy(y), torch.from_numpy(w),
                                                   stride=2, padding=1, output_padding=(0, 1))
        np.testing.assert_array_equal(layer.apply_adjoint(y), out.numpy())


class LinearOperatorProtocol(unittest.TestCase):

    def test_products_equal_the_exported_matrix(self):
        rng = h.rng(703)
        for op, w, size, keywords in (
                ("conv2d", rng.standard_normal((8, 3, 3, 3)), (7, 6), dict(padding=1)),
                ("conv_transpose2d", rng.standard_normal((8, 4, 4, 4)), 5,
                 dict(stride=2, padding=1)),
                ("conv1d", rng.standard_normal((4, 4, 3)).astype(np.float32), 11,
                 dict(groups=2, dilation=2))):
            layer = convmat.Layer(op, w, size, **keywords)
            A = layer.matrix()
            self.assertIsInstance(A, scipy.sparse.csr_matrix)
            self.assertEqual(A.shape, layer.shape)
            self.assertEqual(A.nnz, layer.nnz)
            self.assertGreater(layer.memory_bytes, 0)
            m, n = layer.shape
            eps = np.finfo(layer.dtype).eps
            tol = 50 * eps * (np.abs(A).sum(axis=1).max() + np.abs(A).sum(axis=0).max())
            x = rng.standard_normal(n).astype(layer.dtype)
            y = rng.standard_normal(m).astype(layer.dtype)
            X = rng.standard_normal((n, 5)).astype(layer.dtype)
            Y = rng.standard_normal((m, 5)).astype(layer.dtype)
            for got, want in ((layer.matvec(x), A @ x), (layer.rmatvec(y), A.T @ y),
                              (layer @ X, A @ X), (layer.T @ Y, A.T @ Y),
                              (layer.matvec(x[:, None]), (A @ x)[:, None]),
                              (layer.H.matmat(Y), A.T @ Y)):
                self.assertEqual(got.shape, want.shape, op)
                np.testing.assert_allclose(got, want, rtol=0, atol=tol * 10, err_msg=op)

    def test_scipy_solvers_run_on_it(self):
        rng = h.rng(704)
        w = rng.standard_normal((2, 2, 3, 3))
        layer = convmat.Layer("conv2d", w, (8, 8), padding=1)
        A = layer.matrix()
        b = rng.standard_normal(layer.shape[0])
        ours = sla.lsqr(layer, b, atol=1e-12, btol=1e-12, iter_lim=2000)
        theirs = sla.lsqr(A, b, atol=1e-12, btol=1e-12, iter_lim=2000)
        self.assertEqual(ours[1], theirs[1])
        self.assertLessEqual(abs(ours[2] - theirs[2]), 1)
        np.testing.assert_allclose(ours[0], theirs[0], rtol=0, atol=1e-8 * np.abs(theirs[0]).max())
        x, info = convmat.lstsq(layer, b, method="lsmr", atol=1e-12, btol=1e-12)
        np.testing.assert_allclose(x, theirs[0], rtol=0, atol=1e-8 * np.abs(theirs[0]).max())
        self.assertEqual(info["method"], "lsmr")
        x_qr, info_qr = convmat.lstsq(layer, b, method="qr")
        np.testing.assert_allclose(x_qr, theirs[0], rtol=0, atol=1e-8 * np.abs(theirs[0]).max())

    def test_size_and_memory(self):
        # W in CSR: the values and 4-byte column indices per nonzero, 8-byte row pointers (one
        # per stored row + 1); a transposed layer stores the W of its convolution (rows = its
        # input size).
        for op, w, size, keywords, dtype in (
                ("conv2d", np.ones((3, 2, 3, 3)), 7, dict(padding=1), np.float64),
                ("conv_transpose2d", np.ones((3, 2, 4, 4)), 5, dict(stride=2), np.float32)):
            layer = convmat.Layer(op, w.astype(dtype), size, **keywords)
            A = layer.matrix()
            self.assertEqual(layer.nnz, A.nnz, op)
            stored_rows = layer.shape[1] if op.startswith("conv_transpose") else layer.shape[0]
            self.assertEqual(layer.memory_bytes,
                             A.nnz * (np.dtype(dtype).itemsize + 4) + (stored_rows + 1) * 8, op)

    def test_storages_agree(self):
        # The channel-blocked storage (the default where a block of channels fits) and CSR: the
        # same products exactly on integer data, the same exported matrix, and the memory the
        # library estimates, less than CSR's in float32. Blocks of 8, 4 and 2 channels and a
        # channel count that takes no block (3: CSR under "automatic").
        rng = h.rng(706)
        for op, c_in, c_out, keywords, dtype, block in (
                ("conv2d", 3, 16, dict(padding=1), np.float32, 8),
                ("conv2d", 4, 12, dict(stride=2, groups=2), np.float64, 2),
                ("conv_transpose2d", 8, 3, dict(stride=2, padding=1), np.float32, 8),
                ("conv_transpose1d", 4, 2, dict(stride=3), np.float64, 4),
                ("conv3d", 2, 3, dict(padding=1), np.float32, 1)):
            transposed = op.startswith("conv_transpose")
            shape = (c_in, c_out) if transposed else (c_out, c_in)
            groups = keywords.get("groups", 1)
            rank = int(op[-2])
            w = rng.integers(-3, 4, (shape[0], shape[1] // groups) + (3,) * rank).astype(dtype)
            size = 5 if rank == 3 else 9
            blocked = convmat.Layer(op, w, size, **keywords)
            csr = convmat.Layer(op, w, size, storage="csr", **keywords)
            forced = convmat.Layer(op, w, size, storage="channel_blocked", **keywords)
            context = f"{op} {shape} {keywords}"
            self.assertEqual(blocked.storage, "channel_blocked" if block > 1 else "csr", context)
            self.assertEqual(csr.storage, "csr", context)
            self.assertEqual(forced.storage, "channel_blocked", context)
            x = rng.integers(-3, 4, (3,) + blocked.input_shape).astype(dtype)
            y = rng.integers(-3, 4, (3,) + blocked.output_shape).astype(dtype)
            for layer in (blocked, forced):
                np.testing.assert_array_equal(layer.apply(x), csr.apply(x), err_msg=context)
                np.testing.assert_array_equal(layer.apply_adjoint(y), csr.apply_adjoint(y),
                                              err_msg=context)
                A, C = layer.matrix(), csr.matrix()
                for name in ("data", "indices", "indptr"):
                    np.testing.assert_array_equal(getattr(A, name), getattr(C, name),
                                                  err_msg=context)
                self.assertEqual(layer.nnz, csr.nnz, context)
            # Channel-blocked memory: nnz values, one column index per block column and one row
            # pointer per (group, position) + 1 (channel_blocked_matrix.hpp).
            stored_rows = forced.shape[1] if transposed else forced.shape[0]
            channels = c_in if transposed else c_out
            per_group = channels // groups
            self.assertEqual(forced.memory_bytes,
                             forced.nnz * np.dtype(dtype).itemsize + forced.nnz // per_group * 4
                             + (stored_rows // per_group + 1) * 8, context)
            if dtype == np.float32 and block > 1:
                self.assertLessEqual(forced.memory_bytes, 0.65 * csr.memory_bytes, context)
            # BSR: W with channels-last rows, exactly.
            B, perm = forced.bsr_matrix()
            self.assertIsInstance(B, scipy.sparse.bsr_matrix)
            W = forced.matrix().T.tocsr() if transposed else forced.matrix()
            self.assertEqual(B.blocksize, (max(block, 1), 1), context)
            np.testing.assert_array_equal(B.toarray(), W.toarray()[perm], err_msg=context)
        with self.assertRaisesRegex(ValueError, "storage 'csr'"):
            convmat.Layer("conv2d", np.ones((3, 1, 3, 3)), 5).bsr_matrix()

    def test_refill(self):
        rng = h.rng(705)
        w1 = rng.integers(-3, 4, (4, 2, 3, 3)).astype(np.float32)
        w2 = rng.integers(-3, 4, (4, 2, 3, 3)).astype(np.float32)
        layer = convmat.Layer("conv2d", w1, 6)
        layer.refill(w2)
        x = rng.integers(-3, 4, (2, 2, 6, 6)).astype(np.float32)
        np.testing.assert_array_equal(layer.apply(x), convmat.Layer("conv2d", w2, 6).apply(x))
        np.testing.assert_array_equal(layer.matrix().toarray(),
                                      convmat.conv_matrix(w2, 6).toarray())


class Errors(unittest.TestCase):

    def test_bad_input_is_named(self):
        w = np.ones((2, 1, 3, 3))
        layer = convmat.Layer("conv2d", w, 5)
        h.assert_errors(self, [
            (lambda: convmat.Layer("conv2d", w, 5, bias=np.ones(3)), ValueError,
             "bias must have shape (2,)"),
            (lambda: convmat.Layer("conv2d", w, 5, bias=np.ones(2, np.float32)), TypeError,
             "bias has dtype float32"),
            (lambda: convmat.Layer("conv2d", w, 5, output_padding=1), TypeError,
             "takes the keywords"),
            (lambda: layer.apply(np.ones((3, 4))), ValueError, "expected samples of shape"),
            (lambda: layer.apply(np.ones((1, 5, 5), np.float32)), TypeError, "float32"),
            (lambda: layer.refill(np.ones((2, 1, 2, 2))), ValueError, "does not match the layer"),
            (lambda: convmat.lstsq(layer, np.ones(7)), ValueError, "rows"),
            (lambda: convmat.Layer("conv2d", w, 5, storage="bsr"), ValueError,
             "expected automatic, csr or channel_blocked"),
            (lambda: convmat.Layer("conv2d", w, 5, storage=1), TypeError, "storage must be"),
        ])


if __name__ == "__main__":
    unittest.main()
