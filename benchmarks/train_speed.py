"""Training speed: `rhymer train`'s own loop next to a bare nn.LSTM loop of the same size.

For each preset, rounds alternate between the two loops on the same device, threads and
precision (so a noisy machine slows both alike), and the medians are compared. The bare loop is
what anyone would write first: embedding, nn.LSTM, linear head, cross-entropy, Adam; no state
carried, no clipping, no schedule, no progress display. Rhymer's loop is `Trainer.run` itself,
driving the real progress display; its evaluations are left out of the timing (they are not
per step). Target: rhymer >= 0.9x the bare loop.

Every round times the same fixed number of steps in both loops, after warm-up steps: as many
as fit in about `--seconds` (measured on the bare loop first), and never fewer than
MIN_STEPS, so a 3x512 model whose step takes seconds still gets a real number. One
`Trainer.run` per preset covers all rounds, the bare loop's blocks running from inside its
progress callback (see `race`). Each timed block also records the share of the cores the
process got (CPU time / wall time): well below the thread count means other jobs took the
cores, and the numbers are not to be trusted. With bf16 autocast the bare loop is also timed
in fp32, for scale.

    python -m benchmarks.train_speed            # every preset, 3 rounds of ~3 s per loop (~4 min)
    python -m benchmarks.train_speed --quick    # two presets, one short round: a smoke run
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from torch import nn

from benchmarks._common import (
    DEFAULT_CORPUS,
    env_line,
    environment,
    median,
    progress,
    publish,
    set_threads,
    write_json,
)
from rhymer.progress import TrainDisplay
from rhymer.train import (
    GPU_PRESETS,
    PRESETS,
    Trainer,
    TrainSettings,
    default_batch,
    pick_device,
)

WARMUP_STEPS = 2
MIN_STEPS = 4  # timed steps per loop per round, however slow a step is
MAX_STEPS = 200


class BareLoop:
    """A plain embedding + nn.LSTM + linear training loop over `data`, kept between rounds."""

    def __init__(
        self,
        sizes: dict[str, Any],
        vocab_size: int,
        data: torch.Tensor,
        batch: int,
        device: torch.device,
        amp: torch.dtype | None = None,
    ) -> None:
        self.seq, self.batch, self.device, self.amp = sizes["seq_len"], batch, device, amp
        self.vocab_size = vocab_size
        torch.manual_seed(0)
        n_embd = sizes.get("n_embd", 64)
        self.embed = nn.Embedding(vocab_size, n_embd).to(device)
        self.lstm = nn.LSTM(
            n_embd,
            sizes["n_hidden"],
            sizes["n_layers"],
            batch_first=True,
            dropout=sizes["dropout"] if sizes["n_layers"] > 1 else 0.0,
        ).to(device)
        self.head = nn.Linear(sizes["n_hidden"], vocab_size).to(device)
        params = [*self.embed.parameters(), *self.lstm.parameters(), *self.head.parameters()]
        self.opt = torch.optim.Adam(params, lr=2e-3)
        usable = (len(data) - 1) // batch
        self.x_all = data[: batch * usable].view(batch, usable).to(device)
        self.y_all = data[1 : 1 + batch * usable].view(batch, usable).to(device)
        self.positions = max(1, usable // self.seq)
        self.i = 0
        self.warm = False

    def step(self) -> None:
        t = (self.i % self.positions) * self.seq
        self.i += 1
        x, y = self.x_all[:, t : t + self.seq], self.y_all[:, t : t + self.seq]
        amp = self.amp
        with torch.autocast(self.device.type, dtype=amp or torch.float32, enabled=amp is not None):
            out, _ = self.lstm(self.embed(x))
            logits = self.head(out)
        loss = nn.functional.cross_entropy(
            logits.float().reshape(-1, self.vocab_size), y.reshape(-1)
        )
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()

    def time_steps(self, n: int) -> tuple[float, float]:
        """(Seconds, CPU share) for `n` steps (after WARMUP_STEPS untimed ones, the first time)."""
        if not self.warm:
            for _ in range(WARMUP_STEPS):
                self.step()
            self.warm = True
        _sync(self.device)
        start, cpu = time.perf_counter(), time.process_time()
        for k in range(n):
            self.step()
            if self.device.type == "cuda" and k % 16 == 15:
                _sync(self.device)
        _sync(self.device)
        wall = time.perf_counter() - start
        return wall, (time.process_time() - cpu) / wall

    @property
    def chars_per_step(self) -> int:
        return self.batch * self.seq


def bare_loop(
    sizes: dict[str, Any],
    vocab_size: int,
    data: torch.Tensor,
    batch: int,
    device: torch.device,
    seconds: float,
    amp: torch.dtype | None = None,
    min_steps: int = MIN_STEPS,
) -> float:
    """Chars/s of a fresh BareLoop run for about `seconds` (at least `min_steps` steps)."""
    loop = BareLoop(sizes, vocab_size, data, batch, device, amp)
    n = steps_for(loop, seconds, min_steps)
    wall, _ = loop.time_steps(n)
    return n * loop.chars_per_step / wall


def steps_for(loop: BareLoop, seconds: float, min_steps: int = MIN_STEPS) -> int:
    """How many steps of `loop` take about `seconds`, from its fastest of three steps (one
    step slowed by another job would otherwise shrink every round)."""
    wall = min(loop.time_steps(1)[0] for _ in range(3))
    return max(min_steps, min(MAX_STEPS, round(seconds / max(wall, 1e-6))))


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def race(
    trainer: Trainer, steps: int, rounds: int, others: list[BareLoop]
) -> tuple[list[float], list[list[float]], list[float]]:
    """Chars/s of `rounds` blocks of `steps` steps of `Trainer.run` and of each loop in
    `others`, interleaved, and the CPU share of every block.

    One `Trainer.run` (with the real progress display) covers every round, so its start and
    its end-of-run evaluation and saving happen once; the other loops' blocks run from inside
    its progress callback, between its own timed blocks. A rhymer block is timed from the end
    of one step's callback to another step's callback: `steps` whole steps with their loop
    overhead and progress display.
    """
    display = TrainDisplay(Console(file=io.StringIO(), width=120))
    per_step = trainer.batch * trainer.dist.world_size * trainer.settings.seq_len
    ours: list[float] = []
    theirs: list[list[float]] = [[] for _ in others]
    shares: list[float] = []
    block = {"start": 0.0, "cpu": 0.0, "done": -WARMUP_STEPS, "evals": 0}

    def run_others() -> None:
        for loop, out in zip(others, theirs, strict=True):
            wall, share = loop.time_steps(steps)
            out.append(steps * loop.chars_per_step / wall)
            shares.append(share)
        block.update(start=time.perf_counter(), cpu=time.process_time(), done=0, evals=0)

    def on_step(info: dict) -> None:
        display.on_step(info)
        block["done"] += 1
        if block["done"] == 0:  # warm-up over
            run_others()
        elif block["done"] == steps:
            wall = time.perf_counter() - block["start"]
            if block["evals"]:
                raise RuntimeError("an evaluation fell inside a timed block")
            ours.append(steps * per_step / wall)
            shares.append((time.process_time() - block["cpu"]) / wall)
            if len(ours) == rounds:
                trainer.request_stop()
            else:
                run_others()

    def on_eval(report: Any) -> None:
        display.on_eval(report)
        block["evals"] += 1

    trainer.stop_requested = False
    trainer.settings.minutes = None  # the callback above decides when to stop
    trainer.settings.epochs = 10**6
    trainer.settings.eval_minutes = 1e9
    with display:
        trainer.run(on_step, on_eval)
    if len(ours) < rounds:
        raise RuntimeError("rhymer's run ended before every round was timed")
    return ours, theirs, shares


def run(
    corpus: Path,
    presets: list[str],
    seconds: float,
    rounds: int,
    device_name: str = "auto",
    batch: int | None = None,
    precision: str = "auto",
) -> dict[str, Any]:
    """Measure every preset; returns the environment and one row of numbers per preset."""
    device = pick_device(device_name)
    table = {name: sizes for _, name, sizes in (GPU_PRESETS if device.type == "cuda" else PRESETS)}
    batch = batch or default_batch(device.type)
    env = environment(device.type)
    results = []
    with tempfile.TemporaryDirectory() as tmp, progress("training speed", len(presets)) as bar:
        for name in presets:
            sizes = dict(table[name])
            settings = TrainSettings(
                **sizes, batch_size=batch, device=device.type, precision=precision
            )
            trainer = Trainer(corpus, Path(tmp) / name, settings)
            # A short held-out part keeps the end-of-run evaluation out of the way.
            trainer.held_data = trainer.held_data[: sizes["seq_len"] * 8 + 1]
            vocab = trainer.model.cfg.vocab_size
            bare = BareLoop(sizes, vocab, trainer.train_data, trainer.batch, device, trainer.amp)
            bare_fp32 = None
            if trainer.amp is not None:
                bare_fp32 = BareLoop(sizes, vocab, trainer.train_data, trainer.batch, device)
            steps = steps_for(bare, seconds)
            bar(0, f"{name}: {rounds} rounds of {steps} steps per loop")
            load_before = _load()
            others = [bare] if bare_fp32 is None else [bare, bare_fp32]
            ours, theirs, shares = race(trainer, steps, rounds, others)
            row = {
                "preset": name,
                "size": f"{sizes['n_layers']}x{sizes['n_hidden']}",
                "batch": trainer.batch,
                "seq_len": sizes["seq_len"],
                "precision": {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[
                    trainer.amp
                ],
                "rhymer_cps": median(ours),
                "bare_cps": median(theirs[0]),
                "ratio": median(ours) / median(theirs[0]),
                # each loop's fastest round: the one other jobs disturbed least
                "ratio_best": max(ours) / max(theirs[0]),
                "rounds": rounds,
                "steps_per_round": steps,
                "rhymer_cps_rounds": ours,
                "bare_cps_rounds": theirs[0],
                "cpu_share_min": min(shares),
                "load_avg_1m": [load_before, _load()],
            }
            if bare_fp32 is not None:
                row["bare_fp32_cps"] = median(theirs[1])
            results.append(row)
            bar(1)
    return {"env": env, "device": str(device), "results": results}


def _load() -> float | None:
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


def rows_for(out: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    cols = [
        "preset",
        "LSTM",
        "batch x seq",
        "precision",
        "steps x rounds",
        "rhymer chars/s",
        "bare chars/s",
        "ratio (best)",
        "min CPU share / load",
    ]
    rows = []
    for r in out["results"]:
        bare = f"{r['bare_cps']:,.0f}"
        if "bare_fp32_cps" in r:
            bare += f" (fp32 {r['bare_fp32_cps']:,.0f})"
        load = "-".join(f"{v:g}" for v in r["load_avg_1m"] if v is not None)
        rows.append(
            [
                r["preset"],
                r["size"],
                f"{r['batch']} x {r['seq_len']}",
                r["precision"],
                f"{r['steps_per_round']} x {r['rounds']}",
                f"{r['rhymer_cps']:,.0f}",
                bare,
                f"{r['ratio']:.2f}"
                + (" ok" if r["ratio"] >= 0.9 else " LOW")
                + f" ({r['ratio_best']:.2f})",
                f"{r['cpu_share_min']:.2f} / {load}",
            ]
        )
    return cols, rows


def report(out: dict[str, Any], as_markdown: bool = False) -> None:
    cols, rows = rows_for(out)
    caption = (
        f"{out['device']}; {env_line(out['env'])}; ratio of medians over rounds (of each "
        "loop's fastest round); CPU share is CPU time / wall time of the worst block; "
        "target ratio >= 0.9"
    )
    publish("Training loop: rhymer vs bare nn.LSTM", cols, rows, caption, as_markdown)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    p.add_argument("--presets", default="tiny,small,medium,large,huge")
    p.add_argument(
        "--seconds", type=float, default=3.0, help="about this many seconds per loop per round"
    )
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--device", default="auto")
    p.add_argument("--batch", type=int, default=None)
    p.add_argument("--precision", default="auto")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    p.add_argument("--quick", action="store_true", help="tiny and medium, one 2 s round")
    p.add_argument("--markdown", action="store_true", help="also print a markdown table")
    p.add_argument("--json", type=Path, default=None, help="write the results here")
    a = p.parse_args(argv)
    set_threads(a.threads)
    if a.quick:
        a.presets, a.seconds, a.rounds = "tiny,medium", 2.0, 1
    out = run(a.corpus, a.presets.split(","), a.seconds, a.rounds, a.device, a.batch, a.precision)
    report(out, a.markdown)
    write_json(a.json, out)


if __name__ == "__main__":
    main()
