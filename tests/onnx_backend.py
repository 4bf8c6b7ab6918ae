"""ONNX's backend test cases (libonnx-testdata, read with python3-onnx) for the test suites of
the quantized ops: tests/python/test_quantized.py and tests/cli/cli_tests.py."""

import glob
import os

import onnx
from onnx import numpy_helper

ONNX_NODE_DATA = "/usr/share/libonnx-testdata/data/node"


def onnx_case(name):
    """(node, inputs by name, attributes, expected outputs) of one ONNX backend test case."""
    model = onnx.load(os.path.join(ONNX_NODE_DATA, name, "model.onnx"))
    node = model.graph.node[0]
    data = os.path.join(ONNX_NODE_DATA, name, "test_data_set_0")

    def read(kind):
        arrays = []
        for path in sorted(glob.glob(os.path.join(data, f"{kind}_*.pb"))):
            tensor = onnx.TensorProto()
            with open(path, "rb") as f:
                tensor.ParseFromString(f.read())
            arrays.append(numpy_helper.to_array(tensor))
        return arrays
    inputs = dict(zip(node.input, read("input")))
    attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    return node, inputs, attributes, read("output")
