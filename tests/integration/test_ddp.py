"""Multi-GPU training (issue #34): DistributedDataParallel over two CPU processes (gloo), as Ultralytics wraps models.

Ultralytics (``engine/trainer.py``, 8.4) wraps the model in ``DistributedDataParallel(model, device_ids=[i],
find_unused_parameters=not compile, static_graph=compile, forward_sync_buffers=False)`` (``broadcast_buffers=False``
before torch 2.13), never converts BatchNorm to SyncBatchNorm, and broadcasts only the EMA's buffers from rank 0
before validating. One spawn of two processes, each building every model in turn (different initial weights and
different data per rank), checks for stock yolov8n and one config per family:

* Ultralytics' own arguments, one step: the loss is finite on both ranks, every trainable parameter gets a gradient,
  the ranks end with identical parameters; buffers were synchronised at wrapping, and afterwards differ between ranks
  only in BatchNorm running statistics (each rank's own batches, as Ultralytics leaves them).
* ``find_unused_parameters=False`` (DDP raises when a parameter gets no gradient) with DDP's default buffer
  broadcasting, two steps, the second with one image per rank (Ultralytics' last batch can hold one): losses finite,
  gradients everywhere, identical parameters, and every forward starts from rank 0's buffers on both ranks.
* Controls that show the checks can fail: before wrapping, the ranks' parameters differ; a parameter left out of the
  graph is reported without a gradient, and strict DDP then refuses the next step.
* SyncBatchNorm in a real two-process group: our ``SingleValueSyncBatchNorm2d`` synchronises like ``SyncBatchNorm``
  (it never takes its single-process fallback there), so CPU tensors meet the same refusal as with torch's own.
"""

from __future__ import annotations

import copy
import math
import pickle
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
import torch
import torch.nn as nn

CONFIGS = (
    "yolov8n.yaml",
    "yolov8n-bot3.yaml",
    "yolov8n-cot.yaml",
    "yolov8n-smt.yaml",
    "yolov8n-cmt.yaml",
    "yolo26n-cot.yaml",
)
WORLD = 2
IMGSZ = 64
NC = 2


def _batch(rank: int, step: int, images: int) -> dict:
    """A detection batch in Ultralytics' training layout, different for every (rank, step)."""
    g = torch.Generator().manual_seed(1000 * rank + step)
    boxes_per_image = [1 + (i + rank) % 2 for i in range(images)]
    n = sum(boxes_per_image)
    centres = 0.25 + 0.5 * torch.rand(n, 2, generator=g)
    sizes = 0.1 + 0.3 * torch.rand(n, 2, generator=g)
    return {
        "img": torch.rand(images, 3, IMGSZ, IMGSZ, generator=g),
        "cls": torch.randint(0, NC, (n, 1), generator=g).float(),
        "bboxes": torch.cat((centres, sizes), 1),  # normalised xywh
        "batch_idx": torch.tensor([float(i) for i, k in enumerate(boxes_per_image) for _ in range(k)]),
    }


def _mismatches(named: dict[str, torch.Tensor]) -> list[str]:
    """Names whose tensor on this rank differs from rank 0's (always empty on rank 0). Collective: call on all ranks."""
    import torch.distributed as dist

    names = list(named)
    if not names:
        return []
    flat = torch.cat([named[k].detach().double().flatten() for k in names])
    reference = flat.clone()
    dist.broadcast(reference, src=0)
    out, start = [], 0
    for k in names:
        stop = start + named[k].numel()
        if not torch.equal(flat[start:stop], reference[start:stop]):
            out.append(k)
        start = stop
    return out


def _ultralytics_ddp_kwargs() -> dict:
    """The keyword arguments Ultralytics' trainer passes (compile off), without device_ids (CPU modules take None)."""
    import inspect

    from torch.nn.parallel import DistributedDataParallel

    kwargs = {"static_graph": False, "find_unused_parameters": True}
    sync_flag = (
        "forward_sync_buffers"
        if "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters
        else "broadcast_buffers"
    )
    kwargs[sync_flag] = False
    return kwargs


def _prepare_like_ultralytics(model: nn.Module) -> None:
    """The trainer's freeze loop with ``freeze=None``: '.dfl' frozen, every other floating parameter trainable."""
    for name, p in model.named_parameters():
        if ".dfl" in name:
            p.requires_grad = False
        elif p.dtype.is_floating_point:
            p.requires_grad = True


def _train(
    ddp: nn.Module, model: nn.Module, rank: int, sizes: list[int], seen: dict, snapshots: list | None = None
) -> dict:
    """Optimizer steps through ``ddp`` with Ultralytics' loss scaling and gradient clipping.

    ``seen`` collects, as the steps go (so a refused step leaves the earlier ones readable), the losses and the
    trainable parameters left without a gradient by some step.
    """
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01, momentum=0.9)
    seen.update(losses=[], no_grad=[])
    hook = None
    if snapshots is not None:  # buffers as the inner forward sees them: after DDP's pre-forward broadcast, if any
        hook = model.register_forward_pre_hook(
            lambda m, args: snapshots.append({k: b.detach().clone() for k, b in m.named_buffers()})
        )
    try:
        for step, images in enumerate(sizes):
            loss, _ = ddp(_batch(rank, step, images))
            loss = loss.sum() * WORLD  # as the trainer: DDP averages gradients over ranks
            loss.backward()
            seen["losses"].append(loss.item())
            missing = {k for k, p in model.named_parameters() if p.requires_grad and p.grad is None}
            seen["no_grad"] = sorted(missing.union(seen["no_grad"]))
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=10.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)  # a parameter skipped next step then shows up as None again
    finally:
        if hook is not None:
            hook.remove()
    return seen


def _is_bn_statistic(model: nn.Module, name: str) -> bool:
    owner, _, attr = name.rpartition(".")
    return isinstance(model.get_submodule(owner), nn.modules.batchnorm._BatchNorm) and attr in (
        "running_mean",
        "running_var",
    )


def _check_model(cfg: str, rank: int) -> dict:
    from torch.nn.parallel import DistributedDataParallel as DDP
    from ultralytics.cfg import get_cfg
    from ultralytics.nn.tasks import DetectionModel

    torch.manual_seed(rank)  # different initial weights per rank: DDP must start both from rank 0's
    base = DetectionModel(cfg, nc=NC, verbose=False)
    base.args = get_cfg()  # the loss reads its gains from model.args, as the trainer sets them
    _prepare_like_ultralytics(base)
    with torch.no_grad():  # per-rank BatchNorm statistics too (fresh ones are equal everywhere): wrapping must align
        for m in base.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.9, 1.1)
    report = {
        "before_wrap": _mismatches(dict(base.named_parameters())),
        "before_wrap_buffers": _mismatches(dict(base.named_buffers())),
    }

    # Ultralytics' arguments: unused parameters tolerated, buffers not broadcast before each forward.
    model = copy.deepcopy(base).train()
    kwargs = _ultralytics_ddp_kwargs()
    ddp = DDP(model, **kwargs)
    report["ultralytics_kwargs"] = kwargs
    report["ultralytics_wrapped"] = _mismatches(dict(model.named_parameters()))
    report["ultralytics_wrapped_buffers"] = _mismatches(dict(model.named_buffers()))
    trained = _train(ddp, model, rank, [2], {})
    buffers = _mismatches(dict(model.named_buffers()))
    report["ultralytics"] = {
        **trained,
        "params": _mismatches(dict(model.named_parameters())),
        "buffers": buffers,
        "buffers_not_bn": [k for k in buffers if not _is_bn_statistic(model, k)],
    }
    del ddp, model

    # Strict: DDP raises at the next forward if a parameter got no gradient; buffers broadcast before every forward.
    model = copy.deepcopy(base).train()
    ddp = DDP(model, find_unused_parameters=False)
    initial = {k: p.detach().clone() for k, p in model.named_parameters()}  # rank 0's, after wrapping
    snapshots: list = []
    trained = _train(ddp, model, rank, [2, 1], {}, snapshots)
    report["strict"] = {
        **trained,
        "params": _mismatches(dict(model.named_parameters())),
        "forward_buffers": [_mismatches(s) for s in snapshots],
        "changed": sum(not torch.equal(initial[k], p) for k, p in model.named_parameters() if p.requires_grad),
        "trainable": sum(p.requires_grad for p in model.parameters()),
    }
    return report


def _negative_control(rank: int) -> dict:
    """yolov8n with one parameter outside the graph: the gradient check names it and strict DDP refuses step two."""
    from torch.nn.parallel import DistributedDataParallel as DDP
    from ultralytics.cfg import get_cfg
    from ultralytics.nn.tasks import DetectionModel

    torch.manual_seed(0)
    model = DetectionModel("yolov8n.yaml", nc=NC, verbose=False)
    model.args = get_cfg()
    model.left_out = nn.Parameter(torch.zeros(3))
    ddp = DDP(model.train(), find_unused_parameters=False)
    seen: dict = {}
    try:
        _train(ddp, model, rank, [2, 2], seen)
    except RuntimeError as e:
        seen["error"] = str(e)
    else:
        seen["error"] = None
    # DDP names unused parameters by index among those it reduces (the trainable ones, in registration order)
    seen["left_out_index"] = [k for k, p in model.named_parameters() if p.requires_grad].index("left_out")
    return seen


def _sync_batchnorm_in_group(rank: int) -> dict:
    """One value per channel on each rank of a two-process group, through SyncBatchNorm and ours."""
    import torch.distributed as dist

    from yolo_hybrid.nn.norm import SingleValueSyncBatchNorm2d

    x = torch.full((1, 4, 1, 1), float(rank + 1))  # ranks hold 1 and 2: global mean 1.5, biased variance 0.25
    out = {}
    for norm in (nn.SyncBatchNorm(4), SingleValueSyncBatchNorm2d(4)):
        name = type(norm).__name__
        try:
            y = norm.train()(x)
        except ValueError as e:
            out[name] = {"error": str(e)}
        else:  # a torch that synchronises CPU tensors: the two ranks' values are one batch of two
            expected = (x - 1.5) / math.sqrt(0.25 + norm.eps)
            out[name] = {"error": None, "close": bool(torch.allclose(y, expected, atol=1e-5))}
    dist.barrier()
    return out


def _worker(rank: int, init_file: str, out_dir: str, configs: tuple) -> None:
    import torch.distributed as dist

    torch.set_num_threads(1)  # two ranks on a shared machine
    import yolo_hybrid  # noqa: F401  (what the start-up hook does; explicit under python -S)

    dist.init_process_group(
        "gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD, timeout=timedelta(seconds=300)
    )
    try:
        results = {"models": {}, "seconds": {}}
        start = time.perf_counter()
        import ultralytics.nn.tasks  # noqa: F401

        results["seconds"]["imports"] = round(time.perf_counter() - start, 2)
        for cfg in configs:
            start, cpu = time.perf_counter(), time.process_time()
            results["models"][cfg] = _check_model(cfg, rank)
            results["seconds"][cfg] = (round(time.perf_counter() - start, 2), round(time.process_time() - cpu, 2))
        start = time.perf_counter()
        results["sync_bn"] = _sync_batchnorm_in_group(rank)
        results["control"] = _negative_control(rank)  # last: a refused DDP step may leave collectives behind it
        results["seconds"]["controls"] = round(time.perf_counter() - start, 2)
        Path(out_dir, f"rank{rank}.pkl").write_bytes(pickle.dumps(results))
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def ranks(tmp_path_factory) -> list[dict]:
    """Both ranks' reports from one spawn (process start-up and imports dominate the cost)."""
    import torch.distributed as dist
    import torch.multiprocessing as mp

    if not (dist.is_available() and dist.is_gloo_available()):
        pytest.skip("this torch build has no gloo backend for a CPU process group")
    workdir = tmp_path_factory.mktemp("ddp")
    start = time.perf_counter()
    mp.spawn(_worker, args=(str(workdir / "rendezvous"), str(workdir), CONFIGS), nprocs=WORLD, join=True)
    reports = [pickle.loads((workdir / f"rank{r}.pkl").read_bytes()) for r in range(WORLD)]
    print(f"DDP spawn: {time.perf_counter() - start:.1f} s, per model on rank 0: {reports[0]['seconds']}")
    return reports


@pytest.mark.slow
@pytest.mark.parametrize("cfg", CONFIGS)
def test_ddp_with_ultralytics_arguments(ranks, cfg):
    zero, one = (r["models"][cfg] for r in ranks)
    assert one["before_wrap"] and one["before_wrap_buffers"], f"{cfg}: equal ranks before wrapping: comparison blind"
    assert one["ultralytics_wrapped"] == [], f"{cfg}: DDP did not start rank 1 from rank 0's parameters"
    if "forward_sync_buffers" in one["ultralytics_kwargs"]:  # torch >= 2.13; broadcast_buffers=False skipped them
        assert one["ultralytics_wrapped_buffers"] == [], f"{cfg}: DDP did not start rank 1 from rank 0's buffers"
    for r, rep in enumerate((zero, one)):
        run = rep["ultralytics"]
        assert all(math.isfinite(v) for v in run["losses"]), f"{cfg} rank {r}: losses {run['losses']}"
        assert run["no_grad"] == [], f"{cfg} rank {r}: trainable parameters without a gradient: {run['no_grad']}"
    assert one["ultralytics"]["params"] == [], f"{cfg}: parameters differ between ranks: {one['ultralytics']['params']}"
    # Ultralytics does not broadcast buffers each step: each rank's BatchNorm statistics follow its own batches
    assert one["ultralytics"]["buffers"], f"{cfg}: identical BN statistics from different data: comparison blind"
    assert one["ultralytics"]["buffers_not_bn"] == [], f"{cfg}: buffers other than BN statistics diverged"


@pytest.mark.slow
@pytest.mark.parametrize("cfg", CONFIGS)
def test_ddp_without_unused_parameters(ranks, cfg):
    zero, one = (r["models"][cfg] for r in ranks)
    for r, rep in enumerate((zero, one)):
        run = rep["strict"]
        assert len(run["losses"]) == 2 and all(math.isfinite(v) for v in run["losses"]), (cfg, r, run["losses"])
        assert run["no_grad"] == [], f"{cfg} rank {r}: trainable parameters without a gradient: {run['no_grad']}"
    strict = one["strict"]
    assert strict["params"] == [], f"{cfg}: parameters differ between ranks after the steps: {strict['params']}"
    assert strict["forward_buffers"] == [[], []], f"{cfg}: a forward started from buffers other than rank 0's"
    assert strict["changed"] > strict["trainable"] // 2, f"{cfg}: {strict['changed']}/{strict['trainable']} changed"


@pytest.mark.slow
def test_a_parameter_outside_the_graph_fails_both_checks(ranks):
    for r, rep in enumerate(ranks):
        control = rep["control"]
        assert control["no_grad"] == ["left_out"], f"rank {r}: {control}"
        # DDP names it by index (names need TORCH_DISTRIBUTED_DEBUG, which slows every collective)
        refused = re.search(rf"did not receive grad for rank {r}: (.*)", control["error"] or "")
        assert refused and refused[1].strip() == str(control["left_out_index"]), f"rank {r}: {control}"


@pytest.mark.slow
def test_sync_batchnorm_synchronises_in_a_group_of_two(ranks):
    """Ours follows SyncBatchNorm across ranks (no single-process fallback), however torch treats CPU tensors."""
    for r, rep in enumerate(ranks):
        stock, ours = rep["sync_bn"]["SyncBatchNorm"], rep["sync_bn"]["SingleValueSyncBatchNorm2d"]
        assert ours == stock, f"rank {r}: SyncBatchNorm {stock}, ours {ours}"
        if stock["error"] is None:  # a torch that synchronises CPU tensors: the global statistics were used
            assert stock["close"], f"rank {r}: {stock}"
        else:  # torch 2.14 synchronises GPU/XPU/HPU tensors only
            assert "GPU" in stock["error"], f"rank {r}: {stock}"


def test_ultralytics_still_wraps_models_as_this_test_does():
    """The trainer's DDP call and BatchNorm handling that the tests above reproduce (re-read on an upgrade)."""
    import inspect

    from ultralytics.engine import trainer

    source = inspect.getsource(trainer.BaseTrainer)
    assert "find_unused_parameters=not bool(self.args.compile)" in source
    assert '"forward_sync_buffers" if TORCH_2_13 else "broadcast_buffers"] = False' in source
    assert "SyncBatchNorm" not in inspect.getsource(trainer)
