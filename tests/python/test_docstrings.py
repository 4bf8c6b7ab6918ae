"""Every public function has a docstring, and the examples in the docstrings run as shown."""

import doctest
import unittest

import numpy

import convmat
import convmat.functional
import convmat.matrices
import convmat.onnx
import convmat.analysis
import convmat.identities
import convmat.upsampling
import convmat.oracle
import convmat.solvers
import convmat.xla


class Docstrings(unittest.TestCase):

    def test_every_public_function_is_documented(self):
        for name in convmat.__all__:
            with self.subTest(name):
                doc = getattr(convmat, name).__doc__
                self.assertTrue(doc and len(doc.split()) > 20, name)

    def test_examples_run_as_shown(self):
        attempted = 0
        for module in (convmat, convmat.functional, convmat.matrices, convmat.onnx,
                       convmat.tensorflow, convmat.xla,
                       convmat.analysis, convmat.identities, convmat.upsampling,
                       convmat.oracle, convmat.solvers, convmat.memory):
            with self.subTest(module.__name__):
                result = doctest.testmod(module, globs={"numpy": numpy, "convmat": convmat},
                                         optionflags=doctest.NORMALIZE_WHITESPACE,
                                         verbose=False)
                self.assertEqual(result.failed, 0, module.__name__)
                attempted += result.attempted
        # the package, conv*d, conv_transpose*d, matrices, analysis, upsampling, oracle
        self.assertGreaterEqual(attempted, 20)

if __name__ == "__main__":
    unittest.main()
