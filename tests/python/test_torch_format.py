"""format="torch": the matrix functions return W as a torch.sparse_csr_tensor sharing scipy's arrays.

The scipy matrix of the same call is the reference (itself checked against PyTorch's layers in
test_matrices.py and test_upsampling.py); the layer through torch.sparse.mm against
torch.nn.functional on integer-valued data, exactly.
"""

import unittest

import numpy as np
import torch
import torch.nn.functional as F

import convmat
import convmat.matrices


class TorchFormat(unittest.TestCase):

    def assert_same_csr(self, t, s):
        self.assertEqual(t.layout, torch.sparse_csr)
        self.assertEqual(tuple(t.shape), s.shape)
        self.assertEqual(t.dtype, torch.from_numpy(s.data).dtype)
        np.testing.assert_array_equal(t.crow_indices().numpy(), s.indptr)
        np.testing.assert_array_equal(t.col_indices().numpy(), s.indices)
        np.testing.assert_array_equal(t.values().numpy(), s.data)

    def test_conv_matrix(self):
        rng = np.random.default_rng(14)
        for dtype in (np.float32, np.float64):
            k = rng.integers(-3, 4, (4, 2, 3, 2)).astype(dtype)
            keywords = dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)
            W = convmat.conv_matrix(k, (7, 6), format="torch", **keywords)
            self.assert_same_csr(W, convmat.conv_matrix(k, (7, 6), **keywords))
            x = rng.integers(-3, 4, (3, 4, 7, 6)).astype(dtype)
            y = torch.sparse.mm(W, torch.from_numpy(x.reshape(3, -1).T)).T
            expected = F.conv2d(torch.from_numpy(x), torch.from_numpy(k), **keywords)
            self.assertTrue(torch.equal(y.reshape(expected.shape), expected))

    def test_conv_transpose_matrix(self):
        k = np.arange(-6.0, 6.0).reshape(2, 3, 2)
        keywords = dict(stride=2, padding=1, output_padding=1)
        W = convmat.conv_transpose_matrix(k, 5, format="torch", **keywords)
        self.assert_same_csr(W, convmat.conv_transpose_matrix(k, 5, **keywords))
        y = np.arange(10.0).reshape(1, 2, 5)
        expected = F.conv_transpose1d(torch.from_numpy(y), torch.from_numpy(k), **keywords)
        z = torch.sparse.mm(W, torch.from_numpy(y.reshape(-1, 1)))
        self.assertTrue(torch.equal(z.reshape(expected.shape), expected))

    def test_upsampling_matrix(self):
        U = convmat.upsampling_matrix((3, 4), scale_factor=2, mode="bilinear", format="torch")
        self.assert_same_csr(U, convmat.upsampling_matrix((3, 4), scale_factor=2,
                                                          mode="bilinear"))

    def test_arrays_are_not_copied(self):
        S = convmat.conv_matrix(np.ones((1, 1, 2, 2)), (3, 3))
        W = convmat.matrices.as_format("conv_matrix", S, "torch")
        S.data[0] = 5.0  # the tensor sees a change of scipy's values: one array
        self.assertEqual(W.to_dense()[0, 0].item(), 5.0)
        self.assertEqual(W.crow_indices().data_ptr(), S.indptr.ctypes.data)
        self.assertEqual(W.col_indices().data_ptr(), S.indices.ctypes.data)

    def test_unknown_format(self):
        for function, arguments in ((convmat.conv_matrix, (np.ones((1, 1, 2)), 4)),
                                    (convmat.conv_transpose_matrix, (np.ones((1, 1, 2)), 4)),
                                    (convmat.upsampling_matrix, (4,))):
            with self.subTest(function.__name__):
                with self.assertRaisesRegex(ValueError, rf"^{function.__name__}: format must be "
                                            r"one of 'scipy', 'torch', got 'dense'$"):
                    function(*arguments, format="dense")


if __name__ == "__main__":
    unittest.main()
