"""Data-parallel training under torchrun: one process per GPU (or per CPU core group).

`torchrun --nproc_per_node N -m rhymer train CORPUS ...` starts N copies of the trainer. Each
reads RANK, WORLD_SIZE and LOCAL_RANK from the environment, joins one process group (nccl on
CUDA, gloo on the CPU), trains on its own share of the corpus's tracks, and DistributedDataParallel
averages the gradients. Rank 0 decides when to evaluate and stop (so every rank makes the same
collective calls in the same order) and is the only one that writes files or reports progress.

Without those variables (or with WORLD_SIZE=1) everything here is a no-op.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist

from rhymer.errors import RhymerError

_TIMEOUT = timedelta(minutes=30)  # a rank evaluating or saving must not be taken for dead


@dataclass
class DistContext:
    """Where this process stands in a data-parallel run (rank 0 of 1 when not distributed)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None
    owns_group: bool = False  # True if this process created the process group (and ends it)
    control: Any = field(default=None, repr=False)  # gloo group for small CPU-side messages

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise RhymerError(f"{name}={raw!r} is not a whole number (set by torchrun?).") from None


def env_ranks() -> tuple[int, int, int]:
    """(rank, world size, local rank) as torchrun sets them; (0, 1, 0) outside torchrun."""
    world = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    local = _env_int("LOCAL_RANK", rank)
    if world < 1 or not 0 <= rank < world:
        raise RhymerError(f"Bad torchrun environment: RANK={rank}, WORLD_SIZE={world}.")
    return rank, world, local


def is_main_process() -> bool:
    """True unless this is a torchrun worker other than rank 0 (usable before any set-up)."""
    return env_ranks()[0] == 0


def backend_for(device_type: str) -> str:
    """nccl for CUDA, gloo for everything else."""
    return "nccl" if device_type == "cuda" else "gloo"


def setup(device_type: str) -> DistContext:
    """Join the process group torchrun describes, if any; a single-process context if not."""
    rank, world, local = env_ranks()
    if world == 1:
        return DistContext()
    if not dist.is_available():
        raise RhymerError("This torch build has no torch.distributed; train in one process.")
    backend = backend_for(device_type)
    if backend == "nccl":
        if not dist.is_nccl_available():
            raise RhymerError("This torch build has no NCCL; run torchrun with --device cpu.")
        if local >= torch.cuda.device_count():
            raise RhymerError(
                f"LOCAL_RANK {local} but only {torch.cuda.device_count()} CUDA GPU(s) here; "
                "use --nproc_per_node at most the number of GPUs."
            )
        torch.cuda.set_device(local)
    owns = not dist.is_initialized()
    if owns:
        dist.init_process_group(backend=backend, timeout=_TIMEOUT)
    elif dist.get_world_size() != world:
        raise RhymerError("A process group of another size is already set up.")
    backend = str(dist.get_backend())
    control = None if backend == "gloo" else dist.new_group(backend="gloo", timeout=_TIMEOUT)
    return DistContext(rank, world, local, backend, owns, control)


def local_device(device: torch.device, ctx: DistContext) -> torch.device:
    """The device this rank trains on: its own GPU (cuda:LOCAL_RANK) in a CUDA run."""
    if device.type == "cuda" and ctx.enabled:
        return torch.device("cuda", ctx.local_rank)
    return device


def agree(ctx: DistContext, flags: list[bool]) -> list[bool]:
    """Rank 0's flags, on every rank (CPU-side, so a GPU run is not synchronised by it)."""
    if not ctx.enabled:
        return flags
    t = torch.tensor([int(f) for f in flags], dtype=torch.int32)
    dist.broadcast(t, src=0, group=ctx.control)
    return [bool(v) for v in t.tolist()]


def all_sum(ctx: DistContext, values: list[float]) -> list[float]:
    """Element-wise sums of `values` over all ranks (float64, on the CPU)."""
    if not ctx.enabled:
        return values
    t = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(t, op=dist.ReduceOp.SUM, group=ctx.control)
    return t.tolist()


def wrap(model: torch.nn.Module, ctx: DistContext, device: torch.device) -> torch.nn.Module:
    """The model as DistributedDataParallel in a distributed run, else the model itself."""
    if not ctx.enabled:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


def teardown(ctx: DistContext) -> None:
    """End the process group if this process started it, once every rank has got here.

    Without the barrier a rank could tear gloo down while its peer was still finishing, and
    one CI run saw a worker abort ("terminate called without an active exception").
    """
    if ctx.owns_group and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
        ctx.owns_group = False
