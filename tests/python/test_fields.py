"""The results' fields are listed once, in C++ (for_each_field next to each result struct,
include/convmat/core/fields.hpp): the Python dataclasses and dicts must show exactly those
fields, except where the Python API documents another form (a shape tuple for rows and cols,
slices for the interior, SciPy's name istop)."""

import dataclasses
import unittest

import numpy as np
import scipy.sparse

import convmat
from convmat import _convmat as core
from convmat.analysis import (Checkerboard, CircularSpectrum, PartialSingularValues,
                              SingularValues, TransposeVersusInverse)
from convmat.oracle import Blame, BlameTerm, CheckResult, Diagnosis, Hypothesis, Tolerance


def names(cls):
    return [f.name for f in dataclasses.fields(cls)]


def replaced(fields, removed=(), added=()):
    """The C++ list with the fields the Python form replaces."""
    return sorted([f for f in fields if f not in removed] + list(added))


class Fields(unittest.TestCase):

    def test_dataclasses_show_the_cxx_fields(self):
        f = core.fields
        cases = [
            (SingularValues, replaced(f["SingularValues"], ("rows", "cols"), ("shape",))),
            (PartialSingularValues, sorted(f["PartialSingularValues"])),
            (TransposeVersusInverse,
             replaced(f["TransposeVersusInverse"], ("rows", "cols"), ("shape",))),
            (CircularSpectrum, sorted(f["CircularSpectrum"])),
            (Checkerboard, replaced(f["Checkerboard"],
                                    ("size", "channels", "interior_begin", "interior_end"),
                                    ("interior",))),
            (BlameTerm, sorted(f["BlameTerm"])),
            (Blame, sorted(f["Blame"])),
            (CheckResult, replaced(f["CheckReport"], (), ("op", "layer", "tolerance"))),
            (Tolerance, sorted(f["ToleranceReport"])),
            (Hypothesis, sorted(f["Hypothesis"])),
            (Diagnosis, sorted(f["Diagnosis"])),
        ]
        for cls, expected in cases:
            with self.subTest(cls.__name__):
                self.assertEqual(sorted(names(cls)), expected)

    def test_dicts_show_the_cxx_fields(self):
        A = scipy.sparse.csr_matrix(np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]]))
        _, info = convmat.lstsq(A, np.array([1.0, 2.0, 3.0]))
        self.assertEqual(list(info), ["istop" if k == "stop_code" else k
                                      for k in core.fields["LsqInfo"]])
        x = np.arange(8.0).reshape(2, 1, 2, 2)
        w = np.ones((1, 1, 2, 2))
        y = convmat.conv2d(x, w)
        _, info = convmat.estimate_kernel(x, y, w.shape, op="conv2d")
        self.assertEqual(["weight"] + list(info), core.fields["KernelEstimate"])
        for op in core.layer_ops():  # the op table that convmat._layers reads
            self.assertEqual(list(op), core.fields["LayerOp"])
            for keyword in op["keywords"]:
                self.assertEqual(list(keyword), core.fields["LayerKeyword"])

    def test_field_values_arrive_in_their_python_forms(self):
        c = convmat.checkerboard((1, 1, 3, 3), 8, stride=2)
        self.assertEqual(c.tap_count.shape, (17, 17))
        self.assertIsNone(c.weight_sum)  # no weights given: the empty list is None
        self.assertEqual(c.period_pattern.shape, (2, 2))
        self.assertTrue(all(type(v) is float for v in
                            convmat.checkerboard(np.ones((1, 2, 3, 3)), 8,
                                                 stride=2).weight_amplitude))
        s = convmat.singular_values(np.eye(3))
        self.assertEqual((s.shape, s.status, s.rank), ((3, 3), "converged", 3))
        r = convmat.check(np.zeros((1, 1, 2, 2)), np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)),
                          op="conv2d")
        self.assertIsInstance(r.worst[0].index, tuple)
        self.assertIsNone(r.worst[0].bias)
        self.assertIsInstance(r.worst[0].terms[0], BlameTerm)


if __name__ == "__main__":
    unittest.main()
