"""The autograd identities, with torch.autograd as the reference (integer data, float64: exact).

For y = conv(x, w) (W the layer's matrix) and an output gradient g:
  - dL/dx = Wᵀ g = conv_transpose(g, w) with the same stride, padding, dilation, groups and the
    output_padding that restores x's size (zeros padding; for the other padding modes, and for an
    asymmetric "same" padding, only Wᵀ g);
  - dL/dw = A(x)ᵀ g, where column j of A(x) is the layer applied to x with the unit weight e_j
    (y is linear in w); built here from convmat's own forward, one unit weight at a time.
For x' = conv_transpose(y, w) (matrix Wᵀ) and a gradient g of x':
  - dL/dy = W g = conv(g, w) with the same hyperparameters (its first n rows when
    output_padding >= stride), and dL/dw as above.
"""

import unittest

import numpy as np
import torch

import convmat
import helpers as h

CONV, CONV_TRANSPOSE = h.CONV, h.CONV_TRANSPOSE
CASES = 100


def torch_gradients(forward, x, w, g):
    """(dL/dx, dL/dw) of L = <forward(x, w), g> by torch.autograd."""
    xt = torch.from_numpy(x).requires_grad_()
    wt = torch.from_numpy(w).requires_grad_()
    forward(xt, wt).backward(torch.from_numpy(g))
    return xt.grad.numpy(), wt.grad.numpy()


def weight_gradient(layer, x, w, g):
    """A(x)ᵀ g: entry j is <layer(x, e_j), g>, by convmat."""
    grad = np.zeros_like(w)
    for j in range(w.size):
        unit = np.zeros_like(w)
        unit.flat[j] = 1
        grad.flat[j] = np.sum(layer(x, unit) * g)
    return grad


def small(case):
    """Keep the weight small enough for one forward per weight entry."""
    return case["c_in"] * case["c_out"] * int(np.prod(case["kernel"])) <= 96


def draw(rng, transposed):
    """A random small layer without bias on a non-empty batch, integer data, an integer output
    gradient g, and torch.autograd's (dL/dx, dL/dw). x is batched."""
    random_case = h.random_conv_transpose if transposed else h.random_conv
    case = random_case(rng)
    while not small(case) or case["batch"] == 0:
        case = random_case(rng)
    case["bias"] = False
    x, w, _ = h.conv_tensors(rng, case, np.float64, True, transposed)
    x = h.batched(x, case)

    def forward(xt, wt):
        return h.torch_forward(case, xt, wt, None, transposed)
    g = h.data(rng, forward(torch.from_numpy(x), torch.from_numpy(w)).shape, np.float64, True)
    dx, dw = torch_gradients(forward, x, w, g)
    return case, x, w, g, dx, dw


def per_sample(matrix, g, shape):
    """matrix @ every sample of the batch g, reshaped to `shape`."""
    return (matrix @ g.reshape(g.shape[0], -1).T).T.reshape(shape)


def check_weight_gradient(case, x, w, g, dw, transposed, context):
    def layer(x, unit):
        return h.convmat_forward(case, x, unit, None, transposed)
    np.testing.assert_array_equal(weight_gradient(layer, x, w, g), dw,
                                  err_msg="A(x)ᵀ g: " + context)


class ConvolutionGradients(unittest.TestCase):

    def test_input_and_weight_gradients(self):
        rng = h.rng(61)
        checked_transpose = 0
        for i in range(CASES):
            case, x, w, g, dx, dw = draw(rng, transposed=False)
            rank, context = case["rank"], f"case {i}: {case}"

            W = convmat.conv_matrix(w, case["size"], case["stride"], case["padding"],
                                    case["dilation"], case["groups"], case["padding_mode"])
            np.testing.assert_array_equal(per_sample(W.T, g, x.shape), dx,
                                          err_msg="Wᵀ g: " + context)

            if case["padding_mode"] == "zeros" and case["padding"] != "same":
                s = h.spatial(case["stride"], rank)
                d = h.spatial(case["dilation"], rank)
                p = [0] * rank if case["padding"] == "valid" else h.spatial(case["padding"], rank)
                natural = [(o - 1) * si - 2 * pi + di * (k - 1) + 1 for o, si, pi, di, k in
                           zip(g.shape[2:], s, p, d, case["kernel"])]
                a = [n - m for n, m in zip(case["size"], natural)]
                transposed = CONV_TRANSPOSE[rank](g, w, None, s, p, a, case["groups"], d)
                np.testing.assert_array_equal(transposed, dx, err_msg="conv_transpose: " + context)
                checked_transpose += 1

            check_weight_gradient(case, x, w, g, dw, False, context)
        self.assertGreater(checked_transpose, CASES // 3)


class TransposedConvolutionGradients(unittest.TestCase):

    def test_input_and_weight_gradients(self):
        rng = h.rng(62)
        for i in range(CASES):
            case, x, w, g, dx, dw = draw(rng, transposed=True)
            rank, context = case["rank"], f"case {i}: {case}"
            s, p, a = case["stride"], case["padding"], case["output_padding"]
            groups, d = case["groups"], case["dilation"]

            M = convmat.conv_transpose_matrix(w, case["size"], s, p, a, groups, d)
            np.testing.assert_array_equal(per_sample(M.T, g, x.shape), dx,
                                          err_msg="W g: " + context)

            conv = CONV[rank](g, w, None, s, p, d, groups)
            first = (slice(None), slice(None)) + tuple(slice(0, n) for n in case["size"])
            np.testing.assert_array_equal(conv[first], dx, err_msg="conv: " + context)

            check_weight_gradient(case, x, w, g, dw, True, context)


if __name__ == "__main__":
    unittest.main()
