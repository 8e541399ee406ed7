"""Two hand-built ONNX graphs the repo commits: a bare MatMul (the benchmark's measure of the
machine's matrix-multiply rate) and a model with the wrong input names (a loader error test)."""
from __future__ import annotations

import onnx
from onnx import TensorProto, helper

from .common import REPO_ROOT

MATMUL = REPO_ROOT / "bench/fixtures/matmul.onnx"
WRONG_INPUTS = REPO_ROOT / "test/fixtures/models/wrong-inputs.onnx"


def _save(graph, path, producer: str) -> None:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name=producer)
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, path)
    print("wrote", path)


def write_small_graphs() -> None:
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, ["m", "k"])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, ["k", "n"])
    c = helper.make_tensor_value_info("c", TensorProto.FLOAT, ["m", "n"])
    _save(helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["c"])], "matmul", [a, b], [c]),
          MATMUL, "sentiment-worker bench")
    tokens = helper.make_tensor_value_info("tokens", TensorProto.INT64, ["batch", "seq"])
    logits = helper.make_tensor_value_info("logits", TensorProto.INT64, ["batch", "seq"])
    _save(helper.make_graph([helper.make_node("Identity", ["tokens"], ["logits"])], "wrong_inputs", [tokens], [logits]),
          WRONG_INPUTS, "sentiment-worker test")
