"""Global attention over blocks of query rows in CPU ONNX exports, so that each block's logits stay in cache.

ONNX has no fused attention that every converter maps, so an exported attention layer is MatMul -> (Add bias) ->
Softmax -> MatMul over the whole (B, heads, N, N_k) logits. At 640 px these are 20 MB (CMT at P3) to 82 MB (SMT's
MSA at P4), and each of the four ops streams them through memory. Cut into blocks of query rows whose logits are
at most ``BLOCK_BYTES``, a block's logits stay in cache from one op to the next: in ONNX Runtime on one CPU thread,
whole models at scale n took 4-9 % less time (``benchmarks/query_blocks.py``). Every row is computed by the same ops,
fewer rows at a time.

Blocks are cut only in an ONNX export traced on the CPU at a static size: inside Ultralytics' ONNX export without
``dynamic=True`` (the integration registers a probe that tells, ``add_static_export_probe``), or inside
``static_onnx_export()`` around a plain ``torch.onnx.export``. An export traced on a GPU feeds TensorRT, which fuses
the whole-map pattern itself; eager CPU inference already runs a fused kernel; the other captures (TorchScript,
OpenVINO, NCNN, torch.export) keep the whole map, as measured nowhere yet. Dynamic exports keep it too: blocks whose
boundaries followed the traced height computed the right values at every size, but the exporter's symbolic shape
inference gave CMT's blocked graph wrong fixed sizes (ONNX Runtime then refused a 640 px dynamic yolov8n-cmt export
at its second layer). Static sizes let the boundaries be plain ints, so no block is ever empty.

``YOLO_HYBRID_ATTENTION_BLOCK_BYTES`` sets the block size at export time (0: every layer in one whole-map block, e.g.
for a CPU-exported ONNX file that will run where a runtime fuses attention itself).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import warnings
from collections.abc import Callable, Iterator

import torch

from yolo_hybrid.errors import ConfigError

__all__ = [
    "BLOCK_BYTES",
    "BLOCK_BYTES_ENV",
    "add_static_export_probe",
    "block_bytes",
    "is_static_export",
    "query_row_blocks",
    "static_onnx_export",
]

BLOCK_BYTES = 2 << 20  # 1-4 MiB measured alike on yolov8n-cmt and -smt; 2.5 MB blocks of SMT's P4 logits were slower
BLOCK_BYTES_ENV = "YOLO_HYBRID_ATTENTION_BLOCK_BYTES"
_static = contextvars.ContextVar("yolo_hybrid_static_onnx_export", default=False)
_probes: list[Callable[[], bool]] = []


@contextlib.contextmanager
def static_onnx_export() -> Iterator[None]:
    """Declare that the ``torch.onnx.export`` calls inside have static input sizes (no ``dynamic_axes``)."""
    token = _static.set(True)
    try:
        yield
    finally:
        _static.reset(token)


def add_static_export_probe(probe: Callable[[], bool]) -> None:
    """Add a check, asked while tracing, that answers True inside an exporter's static-size ONNX export."""
    if probe not in _probes:
        _probes.append(probe)


def is_static_export() -> bool:
    """True inside ``static_onnx_export()`` or where a registered probe says so."""
    return _static.get() or any(probe() for probe in _probes)


def block_bytes() -> int:
    """Logit bytes per block: ``BLOCK_BYTES``, or ``$YOLO_HYBRID_ATTENTION_BLOCK_BYTES`` where set (0: no blocks)."""
    value = os.environ.get(BLOCK_BYTES_ENV)
    if value is None:
        return BLOCK_BYTES
    if not value.strip().isdigit():
        raise ConfigError(
            f"{BLOCK_BYTES_ENV}={value!r} is not a whole number of bytes. Fix: unset it (default "
            f"{BLOCK_BYTES}), set e.g. {BLOCK_BYTES_ENV}={BLOCK_BYTES}, or 0 to export attention "
            "over the whole map in one block."
        )
    return int(value)


def query_row_blocks(x: torch.Tensor, heads: int, n_key) -> list[tuple] | None:
    """Query row ranges ``[(start, stop), ...]`` (ints) covering the H rows of ``x``, or None for one whole-map block.

    Args:
        x (torch.Tensor): The attention layer's input (B, C, H, W); queries are its pixels, row-major.
        heads (int): Attention heads.
        n_key: Keys per query (an int, or a traced size).

    Returns:
        (list[tuple] | None): None unless ``torch.onnx.export`` traces ``x`` on the CPU at a static size
            (``is_static_export``) and the logits exceed ``block_bytes()``; else one (start, stop) pair per block.

    Raises:
        ConfigError: ``$YOLO_HYBRID_ATTENTION_BLOCK_BYTES`` is not a whole number.
    """
    if not (torch.onnx.is_in_onnx_export() and x.device.type == "cpu" and is_static_export()):
        return None
    budget = block_bytes()
    if budget == 0:
        return None
    with warnings.catch_warnings():  # static sizes: the traced ones are the sizes of every run
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        batch, _, rows, width = (int(size) for size in x.shape)
        logits = batch * heads * rows * width * int(n_key) * x.element_size()
    count = min(-(-logits // budget), rows)
    if count <= 1:
        return None
    return [(rows * i // count, rows * (i + 1) // count) for i in range(count)]
