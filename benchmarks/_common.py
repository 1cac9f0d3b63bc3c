"""What every benchmark shares: the machine it ran on, timing helpers, tables."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT / "corpora" / "pd_rhyming_couplets.txt"
DEFAULT_MODEL = ROOT / "models" / "default"

console = Console()


def cpu_name() -> str:
    """The CPU's model name, as /proc/cpuinfo (or the platform) gives it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(device: str = "cpu") -> dict[str, Any]:
    """Device, torch version, threads and load: recorded beside every number."""
    import torch

    env: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "load_avg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name(0)
        env["cuda"] = torch.version.cuda
        env["cudnn"] = torch.backends.cudnn.version()
    return env


def env_line(env: dict[str, Any]) -> str:
    """The environment as one line for a table caption."""
    parts = [f"{env['cpu']} ({env['cores']} cores)", f"torch {env['torch']}"]
    if "gpu" in env:
        parts.append(f"{env['gpu']} (CUDA {env['cuda']}, cuDNN {env['cudnn']})")
    parts.append(f"{env['threads']} torch threads")
    if env.get("load_avg_1m") is not None:
        parts.append(f"load {env['load_avg_1m']}")
    parts.append(env["when"])
    return "; ".join(parts)


def _cpu_ticks() -> tuple[int, int] | None:
    """(all ticks, stolen ticks) of all CPUs from /proc/stat, or None off Linux."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    return sum(fields[:8]), fields[7] if len(fields) > 7 else 0


@contextmanager
def steal_share() -> Iterator[dict[str, float | None]]:
    """The share of CPU time a hypervisor took from this VM while the block ran.

    On a shared VM, stolen time makes a latency run slower without any load showing inside
    the machine; a benchmark prints it beside its numbers. None where /proc/stat is missing.
    """
    out: dict[str, float | None] = {"steal": None}
    before = _cpu_ticks()
    try:
        yield out
    finally:
        after = _cpu_ticks()
        if before and after and after[0] > before[0]:
            out["steal"] = (after[1] - before[1]) / (after[0] - before[0])


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation."""
    data = sorted(values)
    if not data:
        return float("nan")
    pos = (len(data) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


@contextmanager
def progress(description: str, total: float) -> Iterator[Any]:
    """A rich progress bar; yields a function that advances it (by 1 or by an amount)."""
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    with bar:
        task = bar.add_task(description, total=total)

        def advance(amount: float = 1.0, description: str | None = None) -> None:
            bar.update(task, advance=amount, description=description or bar.tasks[0].description)

        yield advance


def show(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], caption: str) -> None:
    """Print a rich table."""
    table = Table(*columns, title=title, caption=caption, caption_justify="left")
    for row in rows:
        table.add_row(*[str(c) for c in row])
    console.print(table)


def publish(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    caption: str,
    as_markdown: bool,
) -> None:
    """Print a rich table and, if asked, the same table in markdown with its caption."""
    show(title, columns, rows, caption)
    if as_markdown:
        print(markdown(columns, rows))
        print(f"\n{caption}\n")


def markdown(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_json(path: Path | None, data: Any) -> None:
    """Write results as JSON if a path was given."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        console.print(f"results written to {path}")


def set_threads(threads: int | None) -> None:
    """Pin torch's intra-op threads (None leaves torch's default: one per core)."""
    import torch

    if threads:
        torch.set_num_threads(threads)
