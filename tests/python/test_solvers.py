"""lstsq and deconvolve against independent references: numpy.linalg.lstsq (the minimum-norm
solution), the damped problem solved densely as the stacked system [A; damp I] x = [b; 0],
scipy.sparse.linalg.lsqr / lsmr with the same keywords (the same istop, iteration counts within
one, the same solution), and PyTorch for the layers that deconvolve inverts.

Tolerances, stated once: a backward-stable least-squares solve errs by about
cond(A) * eps * ||x|| (plus cond(A)^2 eps ||r|| / ||A|| ||x|| for inconsistent systems), so direct
methods are compared with rtol = 1e3 * cond^2 * eps, bounded below by 1e-12 -- cond is at most a
few hundred in these problems. Cholesky squares the condition number, the same bound covers it.
LSQR/LSMR are run with atol = btol = 1e-12 and compared with the dense solution at
1e3 * cond * 1e-12, and with SciPy's own iterates at the same bound.
"""

import unittest

import numpy as np
import scipy.sparse
import scipy.sparse.linalg as sla
import torch
import torch.nn.functional as F

import convmat
import helpers as h

EPS = np.finfo(np.float64).eps
METHODS = ("qr", "cholesky", "lsqr", "lsmr")


def dense_solution(A, b, damp=0.0):
    """argmin ||A x - b||^2 + damp^2 ||x||^2, minimum norm, by NumPy."""
    A = A.toarray() if scipy.sparse.issparse(A) else A
    if damp:
        A = np.vstack([A, damp * np.eye(A.shape[1])])
        b = np.concatenate([b, np.zeros((A.shape[1],) + b.shape[1:])])
    return np.linalg.lstsq(A, b, rcond=None)[0]


def problems(rng):
    """(name, A, b, damp): tall, square, wide, rank-deficient, damped; random sparse and layers."""
    out = []
    for i, (m, n) in enumerate([(60, 30), (40, 40), (25, 50), (50, 20)]):
        A = scipy.sparse.random(m, n, density=0.25, random_state=int(rng.integers(1 << 30)),
                                format="csr") + scipy.sparse.eye(m, n)
        out.append((f"random {m}x{n}", A.tocsr(), rng.standard_normal(m), 0.0))
        out.append((f"random {m}x{n} damped", A.tocsr(), rng.standard_normal(m), 0.3))
    w = rng.standard_normal((2, 1, 3, 3))
    conv = convmat.conv_matrix(w, 8, padding=2)                # tall, full column rank
    out.append(("conv tall", conv, rng.standard_normal(conv.shape[0]), 0.0))
    strided = convmat.conv_matrix(rng.standard_normal((1, 1, 3, 3)), 9, stride=2)  # wide
    out.append(("conv wide", strided, rng.standard_normal(strided.shape[0]), 0.0))
    deficient = convmat.conv_transpose_matrix(np.stack([w[0], 0 * w[1]]), 4, stride=2)
    out.append(("conv_transpose rank-deficient", deficient,
                rng.standard_normal(deficient.shape[0]), 0.0))
    return out


class Lstsq(unittest.TestCase):

    def test_every_method_against_the_dense_minimum_norm_solution(self):
        rng = h.rng(501)
        for name, A, b, damp in problems(rng):
            dense = A.toarray()
            want = dense_solution(A, b, damp)
            s = np.linalg.svd(np.vstack([dense, damp * np.eye(A.shape[1])]) if damp else dense,
                              compute_uv=False)
            rank = int(np.sum(s > max(dense.shape) * EPS * s[0]))
            cond = s[0] / s[rank - 1]
            full_rank = rank == min(dense.shape) or damp > 0
            for method in METHODS:
                if method == "cholesky" and not full_rank:
                    continue  # the normal equations are singular: a status, tested below
                x, info = convmat.lstsq(A, b, method=method, damp=damp, atol=1e-12, btol=1e-12,
                                        iter_lim=20 * A.shape[1])
                context = f"{name}, {method}: {info['message']}"
                self.assertEqual(info["status"], "success", context)
                self.assertEqual(info["method"], method)
                self.assertEqual(x.shape, (A.shape[1],))
                direct = method in ("qr", "cholesky")
                rtol = max(1e3 * cond ** 2 * EPS, 1e-12) if direct else 1e3 * cond * 1e-12 + 1e-12
                np.testing.assert_allclose(x, want, rtol=0,
                                           atol=rtol * np.linalg.norm(want), err_msg=context)
                residual = np.linalg.norm(b - dense @ x)
                self.assertAlmostEqual(info["residual_norm"], residual,
                                       delta=1e-10 * (1 + residual), msg=context)
                self.assertAlmostEqual(info["solution_norm"], np.linalg.norm(x),
                                       delta=1e-12 * (1 + np.linalg.norm(x)), msg=context)
                if method == "qr":
                    self.assertEqual(info["rank"], rank if not damp else A.shape[1], context)
                if not direct:
                    self.assertEqual(len(info["residual_history"]), info["iterations"] + 1)
                    self.assertIn(info["istop"], (1, 2, 4, 5), context)

    def test_lsqr_and_lsmr_follow_scipy(self):
        rng = h.rng(502)
        for name, A, b, damp in problems(rng):
            for method, scipy_solver in (("lsqr", sla.lsqr), ("lsmr", sla.lsmr)):
                for atol, conlim in ((1e-8, 1e8), (1e-12, 1e8), (1e-12, 10.0)):
                    limit = {"iter_lim": 500} if method == "lsqr" else {"maxiter": 500}
                    ref = scipy_solver(A, b, damp=damp, atol=atol, btol=atol, conlim=conlim,
                                       **limit)
                    x, info = convmat.lstsq(A, b, method=method, damp=damp, atol=atol,
                                            btol=atol, conlim=conlim, **limit)
                    context = f"{name}, {method}, atol {atol}, conlim {conlim}: {info['message']}"
                    self.assertEqual(info["istop"], ref[1], context)
                    self.assertLessEqual(abs(info["iterations"] - ref[2]), 1, context)
                    scale = np.linalg.norm(ref[0]) + 1e-300
                    cond = info["condition_estimate"]
                    if ref[1] in (1, 2, 4, 5):  # converged: both within the tolerance
                        bound = max(1e3 * cond * atol, 1e-10)
                    else:  # stopped early: the iterate itself, sensitive to rounding once the
                        bound = 1e-6  # Krylov basis has lost orthogonality (beyond n steps)
                    self.assertLessEqual(np.linalg.norm(x - ref[0]), bound * scale, context)
                    status = {3: "condition_limit", 6: "condition_limit", 7: "iteration_limit"}
                    self.assertEqual(info["status"], status.get(ref[1], "success"), context)

    def test_operators_give_the_matrix_results(self):
        rng = h.rng(503)
        w = rng.standard_normal((2, 3, 3, 3))
        size = (6, 7)
        W = convmat.conv_matrix(w, size, stride=2, padding=1)
        b = rng.standard_normal(W.shape[0])

        def forward(v):
            return convmat.conv2d(v.reshape(1, 3, *size), w, stride=2, padding=1).ravel()

        def adjoint(v):
            y = v.reshape(1, 2, 3, 4)
            return convmat.conv_transpose2d(y, w, stride=2, padding=1, output_padding=(1, 0)).ravel()

        class Duck:
            shape = W.shape
            matvec = staticmethod(forward)
            rmatvec = staticmethod(adjoint)

        scipy_op = sla.LinearOperator(W.shape, matvec=forward, rmatvec=adjoint, dtype=np.float64)
        for method in ("lsqr", "lsmr"):
            want, info_m = convmat.lstsq(W, b, method=method, atol=1e-12, btol=1e-12)
            for op in (scipy_op, Duck(), sla.aslinearoperator(W)):
                x, info = convmat.lstsq(op, b, method=method, atol=1e-12, btol=1e-12)
                context = f"{method}, {type(op).__name__}"
                self.assertLessEqual(abs(info["iterations"] - info_m["iterations"]), 1, context)
                np.testing.assert_allclose(x, want, rtol=0, atol=1e-9 * np.linalg.norm(want),
                                           err_msg=context)

    def test_several_right_hand_sides_and_float32(self):
        rng = h.rng(504)
        A = convmat.conv_matrix(rng.standard_normal((1, 1, 3, 3)), 9, stride=2)
        B = rng.standard_normal((A.shape[0], 3))
        for method in METHODS:
            X, info = convmat.lstsq(A, B, method=method, atol=1e-12, btol=1e-12)
            self.assertEqual(X.shape, (A.shape[1], 3))
            self.assertEqual(len(info["residual_history"]), 3 if method in ("lsqr", "lsmr") else 0)
            for j in range(3):
                x, _ = convmat.lstsq(A, B[:, j], method=method, atol=1e-12, btol=1e-12)
                np.testing.assert_allclose(X[:, j], x, rtol=0, atol=1e-12 * np.linalg.norm(x))
            A32, B32 = A.astype(np.float32), B.astype(np.float32)
            X32, info32 = convmat.lstsq(A32, B32, method=method, atol=1e-6, btol=1e-6)
            self.assertEqual(X32.dtype, np.float32)
            # float32: error ~ cond * eps32 (cond of this A is below 20)
            np.testing.assert_allclose(X32, X, rtol=0, atol=1e-4 * np.linalg.norm(X), err_msg=method)

    def test_numerical_outcomes_are_statuses(self):
        rng = h.rng(505)
        A = scipy.sparse.random(50, 30, density=0.3, random_state=3, format="csr")
        b = rng.standard_normal(50)
        x, info = convmat.lstsq(A, b, method="lsqr", iter_lim=2)
        self.assertEqual((info["status"], info["istop"], info["iterations"]),
                         ("iteration_limit", 7, 2))
        x, info = convmat.lstsq(A, b, method="lsmr", conlim=1.5, atol=0, btol=0)
        self.assertEqual((info["status"], info["istop"]), ("condition_limit", 3))
        singular = scipy.sparse.csr_matrix(np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 0.0]]))
        x, info = convmat.lstsq(singular, np.ones(3), method="cholesky",
                                cholesky_form="normal_equations")
        self.assertEqual(info["status"], "not_positive_definite", info["message"])
        x, info = convmat.lstsq(singular, np.ones(3), method="qr")
        self.assertEqual(info["rank"], 1)
        np.testing.assert_allclose(x, [0.5, 0.5], rtol=1e-14)   # the minimum-norm solution


class Deconvolve(unittest.TestCase):

    def test_seed_000_both_ways(self):
        X = np.array([[[[0.0, 1.0], [2.0, 3.0]]]])
        K = X.copy()
        # The transposed convolution (2x2 -> 3x3) has full column rank: inverted exactly.
        Y = F.conv_transpose2d(torch.from_numpy(X), torch.from_numpy(K)).numpy()
        for method in METHODS:
            back, info = convmat.deconvolve(Y, K, 2, op="conv_transpose2d", method=method,
                                            atol=1e-14, btol=1e-14)
            np.testing.assert_allclose(back, X, rtol=0, atol=1e-12, err_msg=method)
        # The convolution 3x3 -> 2x2 is not invertible: the minimum-norm x with W x = y.
        x = np.arange(9.0).reshape(1, 1, 3, 3)
        k = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
        y = F.conv2d(torch.from_numpy(x), torch.from_numpy(k)).numpy()
        W = convmat.conv_matrix(k, 3).toarray()
        min_norm = np.linalg.pinv(W) @ y.ravel()
        for method in METHODS:
            got, info = convmat.deconvolve(y, k, 3, method=method, atol=1e-14, btol=1e-14)
            np.testing.assert_allclose(got.ravel(), min_norm, rtol=0, atol=1e-12, err_msg=method)
            np.testing.assert_allclose(W @ got.ravel(), y.ravel(), rtol=0, atol=1e-11)
            self.assertGreater(np.linalg.norm(got - x), 1)      # not the x that made y
        self.assertEqual(convmat.deconvolve(y, k, 3)[1]["rank"], 4)

    def test_random_layers_against_torch(self):
        rng = h.rng(506)
        for i in range(30):
            transposed = bool(i % 2)
            rank = 1 + i % 3
            g = 1 + i % 2
            c_in, c_out = g * 1, g * 2
            k = [2] * rank
            s = [1 + (i // 3) % 2] * rank
            batch = [None, 1, 2][i % 3]
            size = [3 if rank == 3 else 4] * rank
            if transposed:
                # recover y from x' = conv_transpose(y): c_out >= c_in keeps it injective
                w = rng.standard_normal([c_in, c_out // g] + k)
                shape = ([] if batch is None else [batch]) + [c_in] + size
                y = rng.standard_normal(shape)
                b = rng.standard_normal(c_out)
                out = h.TORCH_CONV_TRANSPOSE[rank](torch.from_numpy(h.batched(y, {"batch": batch})),
                                                   torch.from_numpy(w), torch.from_numpy(b),
                                                   s, 0, 0, g).numpy()
                op, keywords, want = f"conv_transpose{rank}d", dict(stride=s, groups=g), y
            else:
                # recover x from y = conv(x): full padding keeps it injective
                w = rng.standard_normal([c_out, c_in // g] + k)
                shape = ([] if batch is None else [batch]) + [c_in] + size
                x = rng.standard_normal(shape)
                b = rng.standard_normal(c_out)
                out = h.TORCH_CONV[rank](torch.from_numpy(h.batched(x, {"batch": batch})),
                                         torch.from_numpy(w), torch.from_numpy(b), 1, 1, 1,
                                         g).numpy()
                op, keywords, want = f"conv{rank}d", dict(padding=1, groups=g), x
            out = h.unbatched(out, {"batch": batch})
            for method in METHODS:
                got, info = convmat.deconvolve(out, w, size, bias=b, op=op, method=method,
                                               atol=1e-13, btol=1e-13, **keywords)
                context = f"case {i}, {op} {keywords}, batch {batch}, {method}"
                self.assertEqual(got.shape, want.shape, context)
                np.testing.assert_allclose(got, want, rtol=0, atol=1e-8, err_msg=context)
                if method in ("lsqr", "lsmr"):
                    self.assertEqual(len(info["residual_history"]), 1 if batch is None else batch)

    def test_damping_matches_the_dense_tikhonov_solution(self):
        rng = h.rng(507)
        w = rng.standard_normal((1, 1, 3, 3))
        y = rng.standard_normal((1, 1, 6, 6))
        W = convmat.conv_matrix(w, 8).toarray()
        want = dense_solution(W, y.ravel(), damp=0.5)
        for method in METHODS:
            got, _ = convmat.deconvolve(y, w, 8, method=method, damp=0.5, atol=1e-13, btol=1e-13)
            np.testing.assert_allclose(got.ravel(), want, rtol=0, atol=1e-10, err_msg=method)


class Operator:
    """A 4 x 4 duck-typed operator: shape, matvec (given) and rmatvec (the identity)."""
    shape = (4, 4)

    def __init__(self, matvec):
        self.matvec = matvec

    def rmatvec(self, v):
        return v


def human_bytes(b):
    """Bytes as the messages print them (memory_limit.hpp: "37.8 KiB", whole bytes below 1 KiB)."""
    units, u = ["bytes", "KiB", "MiB", "GiB", "TiB"], 0
    while b >= 1024 and u < len(units) - 1:
        b, u = b / 1024, u + 1
    return f"{b:.0f} {units[u]}" if u == 0 else f"{b:.1f} {units[u]}"


class MemoryGuard(unittest.TestCase):
    """A solve whose estimate passes the memory limit is refused before it runs, with the
    estimate (include/convmat/solve/solver_memory.hpp, the estimate of `convmat deconv`): QR and
    Cholesky copy A (16 bytes per nonzero) and hold a factor taken as 8 x the nonzeros of the Gram
    matrix they factor -- QR twice (R and the Householder vectors); LSQR/LSMR a few vectors.
    The reference Gram matrix here is formed by SciPy."""

    LIMIT = 10 << 20

    def setUp(self):
        # 40x40 input, 7x7 Gaussian (positive: no product cancels): W is 1156 x 1600, wide, so
        # both methods factor W W^T.
        r = np.arange(7) - 3
        self.k = np.exp(-(r[:, None] ** 2 + r[None] ** 2) / 4.5).reshape(1, 1, 7, 7)
        self.x = h.rng(77).uniform(0, 1, (1, 1, 40, 40))
        self.y = F.conv2d(torch.from_numpy(self.x), torch.from_numpy(self.k)).numpy()
        self.W = convmat.conv_matrix(self.k, 40)
        gram = int(((self.W @ self.W.T) != 0).sum())
        copy = 16 * self.W.nnz
        self.solver = {"qr": copy + 2 * 16 * 8 * gram, "cholesky": copy + 16 * 8 * gram}
        convmat.set_memory_limit(self.LIMIT)

    def tearDown(self):
        convmat.set_memory_limit(None)

    def refusal(self, call):
        with self.assertRaises(convmat.MemoryLimitExceeded) as raised:
            call()
        self.assertIsInstance(raised.exception, MemoryError)
        return str(raised.exception)

    def test_qr_and_cholesky_are_refused_with_the_estimate(self):
        rows, cols, nnz = self.W.shape[0], self.W.shape[1], self.W.nnz
        w_bytes = nnz * (8 + 4) + (rows + 1) * 8     # W: float64, 32-bit indices, 64-bit pointers
        a_bytes = nnz * (8 + 4) + (rows + 1) * 4     # scipy's A copied to Eigen: 32-bit pointers
        for method in ("qr", "cholesky"):
            for subject, matrix, call in (
                    ("layer", f"W {human_bytes(w_bytes)}",
                     lambda: convmat.deconvolve(self.y, self.k, 40, op="conv2d", method=method)),
                    ("matrix", f"A {human_bytes(a_bytes)}",
                     lambda: convmat.lstsq(self.W, self.y.ravel(), method=method))):
                with self.subTest(method=method, subject=subject):
                    message = self.refusal(call)
                    self.assertTrue(message.startswith(f"method='{method}' on this {subject} "
                                                       "needs about"), message)
                    self.assertIn(f"({matrix}, the solver {human_bytes(self.solver[method])}, its "
                                  "factor estimated as 8 x nnz of the Gram matrix)", message)
                    self.assertIn(f"more than the limit of {human_bytes(self.LIMIT)} "
                                  f"(convmat.set_memory_limit({self.LIMIT})); method='lsmr' needs "
                                  "only a few vectors; raise it with "
                                  "convmat.set_memory_limit(bytes)", message)
        # Damped QR factors [A; damp I], tall: the Gram matrix W^T W, larger here, refused too.
        self.assertIn("method='qr'", self.refusal(
            lambda: convmat.lstsq(self.W, self.y.ravel(), method="qr", damp=0.1)))

    def test_lsmr_runs_under_the_same_limit(self):
        x, info = convmat.deconvolve(self.y, self.k, 40, op="conv2d", method="lsmr")
        self.assertEqual(info["status"], "success")
        self.assertLess(info["relative_residual"], 1e-3)
        x, info = convmat.lstsq(self.W, self.y.ravel(), method="lsmr")
        self.assertEqual(info["status"], "success")
        # ... and QR once the limit allows its estimate.
        convmat.set_memory_limit(self.LIMIT + 2 * self.solver["qr"])
        x, info = convmat.deconvolve(self.y, self.k, 40, op="conv2d", method="qr")
        self.assertEqual(info["rank"], self.W.shape[0])

    def test_an_operator_needs_its_vectors(self):
        # LSQR on an operator of 10^5 columns: 8 vectors and a history of 2 * 10^5 + 1 values,
        # 8.0 MB, fits under 10 MiB; with three right-hand sides it does not.
        n = 100_000
        op = sla.LinearOperator((4, n), matvec=lambda v: v[:4],
                                rmatvec=lambda v: np.r_[v, np.zeros(n - 4)])
        message = self.refusal(lambda: convmat.lstsq(op, np.ones((4, 3)), method="lsqr"))
        self.assertTrue(message.startswith("method='lsqr' on this operator needs about"), message)
        self.assertIn(f"(the solver {human_bytes(3 * 8 * (8 * n + 2 * n + 1))})", message)
        self.assertNotIn("lsmr", message)
        x, info = convmat.lstsq(op, np.ones(4), method="lsqr")
        self.assertEqual(info["status"], "success")


class Errors(unittest.TestCase):

    def test_messages(self):
        A = scipy.sparse.eye(4, format="csr")
        op = sla.aslinearoperator(A)
        b = np.ones(4)
        y, w = np.zeros((1, 1, 3, 3)), np.ones((1, 1, 2, 2))
        cases = [
            (lambda: convmat.lstsq(A, b, method="svd"), ValueError,
             "lstsq: method must be one of 'qr', 'cholesky', 'lsqr', 'lsmr', got 'svd'"),
            (lambda: convmat.lstsq(op, b), TypeError,
             "lstsq: method 'qr' factorizes the matrix and needs its entries"),
            (lambda: convmat.lstsq(op, b, method="cholesky"), TypeError, "'lsqr' or 'lsmr'"),
            (lambda: convmat.lstsq("A", b), TypeError, "A must be a scipy.sparse matrix"),
            (lambda: convmat.lstsq(scipy.sparse.csr_matrix((0, 0)), np.zeros(0)), ValueError,
             "lstsq: A must have at least one row and column and b at least one column, got A "
             "of shape (0, 0) and b of shape (0,)"),
            (lambda: convmat.lstsq(A, np.ones(5)), ValueError,
             "b must have A.shape[0] = 4 rows, got shape 1x5"),
            (lambda: convmat.lstsq(A, np.ones((4, 2, 2))), ValueError, "b must be a 1-d or 2-d"),
            (lambda: convmat.lstsq(A, b, damp=-1), ValueError, "damp"),
            (lambda: convmat.lstsq(A, b, atol=float("nan")), ValueError, "atol"),
            (lambda: convmat.lstsq(A, b.astype(np.float32)), TypeError,
             "lstsq: b has dtype float32 but A has dtype float64"),
            (lambda: convmat.lstsq(A, b, iter_lim=3, maxiter=3), TypeError,
             "give iter_lim (scipy's lsqr) or maxiter (scipy's lsmr), not both"),
            (lambda: convmat.lstsq(A, b, cholesky_form="normal"), ValueError, "normal"),
            (lambda: convmat.lstsq(A, np.array([1.0, np.nan, 0, 0])), ValueError, "finite"),
            (lambda: convmat.lstsq(Operator(lambda v: v[:3]), b, method="lsqr"),
             ValueError, "the operator's matvec returned 3 entries, expected 4"),
            (lambda: convmat.deconvolve(y, w, 3), ValueError,
             "deconvolve: output has shape (1, 1, 3, 3), but op='conv' on an input of shape "
             "(1, 1, 3, 3) gives (1, 1, 2, 2)"),
            (lambda: convmat.deconvolve(y, w, 4, bias=np.ones(2)), ValueError,
             "bias must have shape (1,)"),
            (lambda: convmat.deconvolve(y, w, 4, output_padding=1), TypeError,
             "op='conv' takes the keywords"),
        ]
        h.assert_errors(self, cases)

    def test_an_exception_in_the_operator_propagates(self):
        def broken(v):
            raise RuntimeError("matvec failed on purpose")
        with self.assertRaisesRegex(RuntimeError, "matvec failed on purpose"):
            convmat.lstsq(Operator(broken), np.ones(4), method="lsmr")


if __name__ == "__main__":
    unittest.main()
