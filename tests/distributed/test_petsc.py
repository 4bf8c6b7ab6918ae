"""convmat.petsc under MPI: CTest runs this module with mpirun on 1, 2 and 3 ranks.

Every rank runs every test in the same order (collective calls meet). References: PyTorch for the
layers (integer data: ==), the serial convmat matrix (itself checked against PyTorch by
tests/python) for the adjoint and least squares, NumPy's dense SVD for singular values.
"""

import doctest
import unittest

import numpy as np
import scipy.sparse
import torch
from petsc4py import PETSc

import convmat
import convmat.petsc as cp
import helpers as h

COMM = PETSc.COMM_WORLD
RANK, SIZE = COMM.getRank(), COMM.getSize()


def torch_layer(case, x, w, transposed):
    """PyTorch's output for one sample x (C, *spatial)."""
    y = h.torch_forward(case, torch.from_numpy(x[None]), torch.from_numpy(w), None, transposed)
    return y[0].numpy()


def serial_matrix(case, w, transposed):
    keywords = h.layer_keywords(case, transposed)
    if transposed:
        return convmat.conv_transpose_matrix(w, tuple(case["size"]), **keywords)
    return convmat.conv_matrix(w, tuple(case["size"]), **keywords)


def distributed_matrix(case, w, transposed, **extra):
    keywords = h.layer_keywords(case, transposed)
    if transposed:
        return cp.conv_transpose_matrix(w, tuple(case["size"]), **keywords, **extra)
    return cp.conv_matrix(w, tuple(case["size"]), **keywords, **extra)


def on_root(a):
    return a if RANK == 0 else None


class Products(unittest.TestCase):
    def test_random_layers_equal_torch_and_the_serial_adjoint(self):
        rng = h.rng(11)
        for i in range(60):
            transposed = i % 2 == 1
            case = h.random_conv_transpose(rng) if transposed else h.random_conv(rng)
            case["batch"] = None
            x, w, _ = h.conv_tensors(rng, case, np.float64, True, transposed)
            with self.subTest(case=case, transposed=transposed):
                M = distributed_matrix(case, w, transposed)
                self.assertEqual(M.getType(), "transpose" if transposed else "mpiaij")
                want = torch_layer(case, x, w, transposed)
                xv = cp.scatter(M, on_root(x))
                yv = M.createVecLeft()
                M.mult(xv, yv)
                got = cp.gather(M, yv)
                # The adjoint on integer data against the serial W's transpose.
                g = rng.integers(-3, 4, size=want.shape).astype(np.float64)
                back = M.createVecRight()
                M.multTranspose(cp.scatter(M, on_root(g), side="output"), back)
                got_adjoint = cp.gather(M, back, side="input")
                if RANK == 0:
                    np.testing.assert_array_equal(got, want)
                    adjoint = serial_matrix(case, w, transposed).T @ g.ravel()
                    np.testing.assert_array_equal(got_adjoint.ravel(), adjoint)
                else:
                    self.assertIsNone(got)

    def test_local_slabs_refill_and_layout(self):
        case = dict(rank=2, groups=1, c_in=2, c_out=3, kernel=[3, 3], size=[11, 6], stride=1,
                    dilation=1, padding=1, padding_mode="zeros", batch=None, bias=False)
        rng = h.rng(12)
        x, w, _ = h.conv_tensors(rng, case, np.float64, True)
        M = distributed_matrix(case, w, False)
        info = cp.layout(M)
        self.assertEqual((info["ranks"], info["rank"]), (SIZE, RANK))
        b, e = info["input_slab"]
        ob, oe = info["output_slab"]
        y = M.createVecLeft()
        M.mult(cp.from_local(M, x[:, b:e]), y)
        np.testing.assert_array_equal(cp.to_local(M, y), torch_layer(case, x, w, False)[:, ob:oe])
        self.assertEqual(info["nnz"], serial_matrix(case, w, False).nnz)
        # The formula: ((k - 1) d + 1 - s) = 2 positions of 2 channels x 6 per interface.
        self.assertEqual(info["interface_halo"], 2 * 2 * 6)
        # New weights, same structure.
        w2 = h.data(rng, w.shape, np.float64, True)
        cp.refill(M, w2)
        M.mult(cp.from_local(M, x[:, b:e]), y)
        np.testing.assert_array_equal(cp.to_local(M, y),
                                      torch_layer(case, x, w2, False)[:, ob:oe])


class Solvers(unittest.TestCase):
    def test_deconvolve_matches_serial_lsqr(self):
        # A transposed layer (tall, full column rank) and a convolution, solved to 1e-3: both runs
        # are the same computation before the Krylov vectors lose orthogonality.
        rng = h.rng(13)
        for transposed in (False, True):
            case = dict(rank=2, groups=1, c_in=2, c_out=2, kernel=[3, 3], size=[9, 8], stride=2,
                        dilation=1, padding=1, output_padding=0, padding_mode="zeros",
                        batch=None, bias=False)
            x, w, _ = h.conv_tensors(rng, case, np.float64, True, transposed)
            M = distributed_matrix(case, w, transposed)
            y = torch_layer(case, x, w, transposed)
            xv, info = cp.deconvolve(M, cp.scatter(M, on_root(y), side="output"), atol=1e-3,
                                     btol=1e-3)
            W = serial_matrix(case, w, transposed)
            ref, ref_info = convmat.lstsq(W, y.ravel(), method="lsqr", atol=1e-3, btol=1e-3)
            with self.subTest(transposed=transposed):
                self.assertEqual(info["method"], "lsqr")
                self.assertEqual(info["istop"], ref_info["istop"])
                self.assertEqual(info["status"], ref_info["status"])
                self.assertLessEqual(abs(info["iterations"] - ref_info["iterations"]), 1)
                self.assertLessEqual(abs(info["relative_residual"]
                                         - ref_info["relative_residual"]), 1e-12)
                self.assertEqual(len(info["residual_history"]), info["iterations"] + 1)
                got = cp.gather(M, xv, side="input")
                if RANK == 0:
                    self.assertLessEqual(np.linalg.norm(got.ravel() - ref),
                                         1e-10 * np.linalg.norm(ref))

    def test_singular_values_match_the_dense_svd(self):
        rng = h.rng(14)
        case = dict(rank=2, groups=1, c_in=1, c_out=3, kernel=[3, 2], size=[8, 7], stride=1,
                    dilation=1, padding=0, padding_mode="zeros", batch=None, bias=False)
        _, w, _ = h.conv_tensors(rng, case, np.float64, True)  # W: 108 x 56, full column rank
        sigma = np.linalg.svd(serial_matrix(case, w, False).toarray(), compute_uv=False)
        M = distributed_matrix(case, w, False)
        s = cp.singular_values(M, k=2)
        tol = 1e-8 * sigma[0]
        self.assertEqual(s["largest"].status, "converged")
        self.assertEqual(s["smallest"].status, "converged")
        self.assertLessEqual(abs(s["largest"].values[0] - sigma[0]), tol)
        self.assertLessEqual(abs(s["smallest"].values[0] - sigma[-1]), tol)
        for v in np.concatenate([s["largest"].values, s["smallest"].values]):
            self.assertLessEqual(np.min(np.abs(sigma - v)), tol)
        self.assertLessEqual(abs(s["condition_number"] - sigma[0] / sigma[-1]),
                             1e-7 * sigma[0] / sigma[-1])
        only = cp.singular_values(M, k=1, which="smallest", method="lanczos")
        self.assertEqual(set(only), {"smallest"})
        self.assertLessEqual(abs(only["smallest"].values[0] - sigma[-1]), tol)


class Docstrings(unittest.TestCase):
    def test_examples_run_as_shown_on_every_rank(self):
        result = doctest.testmod(cp, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
        self.assertEqual(result.failed, 0)
        self.assertGreaterEqual(result.attempted, 10)
        for name in cp.__all__:
            doc = getattr(cp, name).__doc__
            self.assertTrue(doc and len(doc.split()) > 20, name)


class BadInput(unittest.TestCase):
    def setUp(self):
        self.w = np.ones((1, 1, 3, 3))
        self.M = cp.conv_matrix(self.w, (8, 8))
        self.prefix = "rank 0: " if SIZE > 1 else ""

    def test_a_wrong_shape_on_rank_0_fails_every_rank_alike(self):
        with self.assertRaises(ValueError) as raised:
            cp.scatter(self.M, on_root(np.zeros((1, 8, 7))))
        self.assertEqual(str(raised.exception),
                         self.prefix + "scatter: the layer's input has shape 1x8x8, got 1x8x7")

    def test_a_wrong_slab_on_the_last_rank_fails_every_rank_alike(self):
        b, e = cp.layout(self.M)["input_slab"]
        slab = np.zeros((1, e - b + (1 if RANK == SIZE - 1 else 0), 8))
        with self.assertRaises(ValueError) as raised:
            cp.from_local(self.M, slab)
        last = f"rank {SIZE - 1}: " if SIZE > 1 else ""
        self.assertTrue(str(raised.exception).startswith(last + "from_local: this rank's slab"),
                        str(raised.exception))

    def test_memory_limit_and_foreign_matrices(self):
        with self.assertRaises(convmat.MemoryLimitExceeded) as raised:
            cp.conv_matrix(self.w, (8, 8), max_memory=100)
        self.assertIn("more than the limit of 100 bytes (max_memory)", str(raised.exception))
        foreign = PETSc.Mat().createAIJ([4, 4], comm=COMM)
        foreign.setUp()
        foreign.assemble()
        with self.assertRaises(ValueError) as raised:
            cp.layout(foreign)
        self.assertIn("was not made by convmat", str(raised.exception))
        with self.assertRaises(ValueError):
            cp.gather(self.M, self.M.createVecLeft(), side="middle")
        with self.assertRaises(ValueError) as raised:
            cp.deconvolve(self.M, self.M.createVecLeft(), damp=-1)
        self.assertIn("damp must be finite and >= 0", str(raised.exception))


if __name__ == "__main__":
    unittest.main()
