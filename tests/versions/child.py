"""The fresh interpreter behind each check of the version group (``tests/versions/test_matrix.py``).

Run as ``python tests/versions/child.py COMMAND OUT_JSON ARGS...`` with the Ultralytics release under test on
PYTHONPATH. It never imports yolo_hybrid: our blocks must arrive through the start-up hook (the ``.pth`` in .venv),
exactly as in a user's ``yolo`` command. Results go to OUT_JSON, rewritten after every item, so a crash or a timeout
still leaves what was done; the exit code is 0 when every item passed.

Commands:
    build CFG... --image IMAGE
                           build each bare scaled name, forward in train mode (batch 2, 64x96), then in eval mode at
                           64x64 and 64x96, and predict a non-square image; then the same for the stock model of each
                           task where one of ours failed to predict (to tell our failures from the release's own)
    reload WEIGHTS IMAGE   load a trained checkpoint and predict
    export CFG...          dynamic ONNX export through Ultralytics, onnxruntime against the fused PyTorch model at 64x96
    stock-load DIR         save a stock yolov8n checkpoint and load it again (torch's weights-only default)
    stock-export           export stock yolov8n to dynamic ONNX with onnxscript made unimportable
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import traceback

HOOK_IMPORTED = "yolo_hybrid" in sys.modules  # before anything else: only the start-up hook can have imported it
IMGSZ = 64
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tests.helpers import tensors  # noqa: E402  (standard library only: imports nothing of ours)

TOLERANCE = 1e-3  # as yolo_hybrid.integration.deploy.TOLERANCE (not imported: this process must not import us)


def error_text(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}".strip()


def first_tensor(out):
    while isinstance(out, (list, tuple)):
        out = out[0]
    return out


def our_blocks(model) -> list[str]:
    """Classes of ours in a built or loaded model (by module path: proof that the hook registered them)."""
    return sorted({type(m).__name__ for m in model.modules() if type(m).__module__.startswith("yolo_hybrid.")})


class Report:
    def __init__(self, path: str):
        import torch
        import ultralytics

        self.path = path
        self.data = {
            "ultralytics": ultralytics.__version__,
            "ultralytics_file": ultralytics.__file__,
            "torch": torch.__version__,
            "hook_imported": HOOK_IMPORTED,
            "items": {},
        }
        expected = os.environ.get("YOLO_HYBRID_EXPECT_ULTRALYTICS")
        self.version_ok = expected is None or expected == ultralytics.__version__
        if not self.version_ok:
            self.data["error"] = (
                f"imported ultralytics {ultralytics.__version__} ({ultralytics.__file__}), expected {expected}"
            )
        self.write()

    def item(self, name: str, **fields) -> None:
        self.data["items"].setdefault(name, {}).update(fields)
        self.write()

    def write(self) -> None:
        with open(self.path, "w") as f:
            json.dump(self.data, f, indent=1)

    def ok(self) -> bool:
        return self.version_ok and all(
            all(v.get("ok", True) for v in item.values() if isinstance(v, dict)) for item in self.data["items"].values()
        )


def run(report: Report, name: str, step: str, fn) -> bool:
    """Run ``fn(info)`` as one step of one item, recording ``{ok, error}`` plus what it put into ``info``."""
    info: dict = {}
    try:
        fn(info)
        report.item(name, **{step: {"ok": True, **info}})
        return True
    except Exception as error:
        traceback.print_exc()
        report.item(name, **{step: {"ok": False, "error": error_text(error), **info}})
        return False


def onnxruntime_error(error: Exception) -> str:
    """onnxruntime's status message without its source location: the failing node and the reason."""
    text = str(error)
    op = re.search(r"running (\w+) node", text)
    reason = re.split(r"was false\. |Status Message: ", text)[-1].strip()
    return f"onnxruntime {op.group(1) if op else 'run'}: {reason}"


STOCK = {
    "detect": "yolov8n.yaml",
    "segment": "yolov8n-seg.yaml",
    "pose": "yolov8n-pose.yaml",
    "obb": "yolov8n-obb.yaml",
    "classify": "yolov8n-cls.yaml",
}  # the stock model of each task


def build(report: Report, configs: list[str], image: str) -> None:
    """Our configs, then the stock model of each task where ours failed to predict."""
    import torch
    from ultralytics import YOLO

    failed_tasks = []
    for cfg in configs:
        model = None

        def build_and_train_forward(info):
            nonlocal model
            model = YOLO(cfg)
            info.update(task=model.task, blocks=our_blocks(model.model))
            assert info["blocks"] or cfg in STOCK.values(), f"{cfg}: no yolo_hybrid block in the built model"
            net = model.model.train()
            outs = list(tensors(net(torch.rand(2, 3, IMGSZ, IMGSZ * 3 // 2))))
            assert outs and all(t.shape[0] == 2 and torch.isfinite(t).all() for t in outs), "train-mode output"

        if not run(report, cfg, "build", build_and_train_forward):
            continue

        def eval_forward(info):
            net = model.model.eval()
            with torch.no_grad():
                for h, w in ((IMGSZ, IMGSZ), (IMGSZ, IMGSZ * 3 // 2)):
                    y = first_tensor(net(torch.rand(1, 3, h, w)))
                    assert torch.isfinite(y).all(), f"non-finite eval output at {h}x{w}"
                    if model.task == "classify":  # probabilities or logits, as the release's own Classify
                        assert y.shape == (1, net.yaml["nc"]), f"eval output {tuple(y.shape)} at {h}x{w}"
                    else:
                        anchors = sum(math.ceil(h / s) * math.ceil(w / s) for s in (8, 16, 32))
                        assert y.shape[0] == 1 and y.shape[-1] == anchors, f"eval output {tuple(y.shape)} at {h}x{w}"

        def predict(info):
            nc = model.model.yaml["nc"]
            (result,) = model.predict(image, imgsz=IMGSZ, device="cpu", verbose=False)  # letterboxed, not square
            if model.task == "classify":  # one probability per class: the head's output suits the predictor
                probs = result.probs.data
                assert probs.shape == (nc,) and abs(float(probs.sum()) - 1) < 1e-3, (
                    f"predict: probs of shape {tuple(probs.shape)} summing to {float(probs.sum()):.3g}"
                )
            else:
                assert result.boxes is not None or getattr(result, "obb", None) is not None, "no boxes"

        if run(report, cfg, "eval", eval_forward) and not run(report, cfg, "predict", predict):
            failed_tasks.append(model.task)
    stock = [STOCK[task] for task in STOCK if task in failed_tasks and STOCK[task] not in configs]
    if stock:
        build(report, stock, image)


def reload(report: Report, weights: str, image: str) -> None:
    from ultralytics import YOLO

    def load_and_predict(info):
        model = YOLO(weights)
        info.update(blocks=our_blocks(model.model), task=model.task)
        assert info["blocks"], "no yolo_hybrid block in the loaded model"
        model.predict(image, imgsz=IMGSZ, device="cpu", verbose=False)

    run(report, weights, "reload", load_and_predict)


def export(report: Report, configs: list[str]) -> None:
    import numpy as np
    import onnx
    import onnxruntime as ort
    import torch
    from ultralytics import YOLO

    for cfg in configs:

        def export_and_compare(info):
            model = YOLO(cfg)
            try:
                path = str(model.export(format="onnx", dynamic=True, imgsz=IMGSZ, device="cpu"))
            finally:
                info["dynamo_exporter"] = "onnxscript" in sys.modules  # the TorchScript exporter never imports it
            info["opset"] = max(o.version for o in onnx.load(path).opset_import if o.domain in ("", "ai.onnx"))
            session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            info["input"] = dims = session.get_inputs()[0].shape
            assert not isinstance(dims[0], int) and not isinstance(dims[2], int) and not isinstance(dims[3], int), (
                f"static input {dims}"
            )
            net = model.model.fuse(verbose=False).eval()
            x = torch.rand(2, 3, IMGSZ, IMGSZ * 3 // 2)  # another batch size and a non-square size than the export's
            with torch.no_grad():
                expected = first_tensor(net(x)).numpy()
            try:
                got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
            except Exception as error:
                raise AssertionError(f"at batch 2, 64x96: {onnxruntime_error(error)}") from None
            assert got.shape == expected.shape, f"onnxruntime {got.shape} vs PyTorch {expected.shape}"
            info["max_abs_diff"] = diff = float(np.abs(got - expected).max())
            assert diff <= TOLERANCE, f"max |onnxruntime - PyTorch| = {diff:.1e} > {TOLERANCE:g}"

        run(report, cfg, "export", export_and_compare)


def stock_load(report: Report, workdir: str) -> None:
    import torch
    from ultralytics import YOLO

    def save_and_load(info):
        path = os.path.join(workdir, "yolov8n-stock.pt")
        torch.save({"model": YOLO("yolov8n.yaml").model, "train_args": {}}, path)
        YOLO(path)

    run(report, "yolov8n.yaml", "stock-load", save_and_load)


def stock_export(report: Report) -> None:
    sys.modules["onnxscript"] = None  # import onnxscript now raises ImportError
    from ultralytics import YOLO

    run(
        report,
        "yolov8n.yaml",
        "stock-export",
        lambda info: info.update(path=str(YOLO("yolov8n.yaml").export(format="onnx", dynamic=True, imgsz=IMGSZ))),
    )


def main(argv: list[str]) -> int:
    command, out, args = argv[0], argv[1], argv[2:]
    report = Report(out)
    if not report.version_ok:
        print(report.data["error"], file=sys.stderr)
        return 3
    if command == "build":
        build(report, args[: args.index("--image")], args[args.index("--image") + 1])
    elif command == "reload":
        reload(report, *args)
    elif command == "export":
        export(report, args)
    elif command == "stock-load":
        stock_load(report, *args)
    elif command == "stock-export":
        stock_export(report)
    else:
        raise SystemExit(f"unknown command {command!r}")
    return 0 if report.ok() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
