"""Training speed: `rhymer train`'s own loop next to a bare nn.LSTM loop of the same size.

For each preset, rounds alternate between the two loops on the same device, threads and
precision (so a noisy machine slows both alike), and the medians are compared. The bare loop is
what anyone would write first: embedding, nn.LSTM, linear head, cross-entropy, Adam; no state
carried, no clipping, no schedule, no progress display. Rhymer's loop is `Trainer.run` itself,
driving the real progress display; its evaluations are left out of the timing (they are not
per step). Target: rhymer >= 0.9x the bare loop.

    python -m benchmarks.train_speed            # every preset, 3 rounds of 20 s per loop
    python -m benchmarks.train_speed --quick    # two presets, one short round: a smoke run
"""

from __future__ import annotations

import argparse
import io
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


def bare_loop(
    sizes: dict[str, Any],
    vocab_size: int,
    data: torch.Tensor,
    batch: int,
    device: torch.device,
    seconds: float,
    amp: torch.dtype | None = None,
    min_steps: int = 3,
) -> float:
    """Chars/s of a plain embedding + nn.LSTM + linear training loop over `data`."""
    seq = sizes["seq_len"]
    torch.manual_seed(0)
    embed = nn.Embedding(vocab_size, sizes.get("n_embd", 64)).to(device)
    lstm = nn.LSTM(
        sizes.get("n_embd", 64),
        sizes["n_hidden"],
        sizes["n_layers"],
        batch_first=True,
        dropout=sizes["dropout"] if sizes["n_layers"] > 1 else 0.0,
    ).to(device)
    head = nn.Linear(sizes["n_hidden"], vocab_size).to(device)
    params = [*embed.parameters(), *lstm.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, lr=2e-3)
    usable = (len(data) - 1) // batch
    x_all = data[: batch * usable].view(batch, usable).to(device)
    y_all = data[1 : 1 + batch * usable].view(batch, usable).to(device)
    positions = max(1, usable // seq)

    def step(i: int) -> None:
        t = (i % positions) * seq
        x, y = x_all[:, t : t + seq], y_all[:, t : t + seq]
        with torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None):
            out, _ = lstm(embed(x))
            logits = head(out)
        loss = nn.functional.cross_entropy(logits.float().reshape(-1, vocab_size), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for i in range(WARMUP_STEPS):
        step(i)
    _sync(device)
    start, n = time.perf_counter(), 0
    while n < min_steps or time.perf_counter() - start < seconds:
        step(WARMUP_STEPS + n)
        n += 1
        if device.type == "cuda" and n % 16 == 0:
            _sync(device)
    _sync(device)
    return n * batch * seq / (time.perf_counter() - start)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def rhymer_round(trainer: Trainer, seconds: float, min_steps: int = 3) -> float:
    """Chars/s of one `Trainer.run` of `seconds` (and at least `min_steps` timed steps),
    steps next to an evaluation left out."""
    marks: list[tuple[float, str]] = []
    display = TrainDisplay(Console(file=io.StringIO(), width=120))
    start = time.perf_counter()

    def on_step(info: dict) -> None:
        display.on_step(info)
        marks.append((time.perf_counter(), "step"))
        steps = sum(kind == "step" for _, kind in marks)
        if steps >= WARMUP_STEPS + min_steps + 1 and time.perf_counter() - start >= seconds:
            trainer.request_stop()

    def on_eval(report: Any) -> None:
        display.on_eval(report)
        marks.append((time.perf_counter(), "eval"))

    trainer.stop_requested = False
    trainer.settings.minutes = None  # the callback above decides when to stop
    trainer.settings.epochs = 10**6
    with display:
        trainer.run(on_step, on_eval)
    steps = [i for i, (_, kind) in enumerate(marks) if kind == "step"]
    total, n = 0.0, 0
    for a, b in zip(steps[WARMUP_STEPS:], steps[WARMUP_STEPS + 1 :], strict=False):
        if b == a + 1:  # no evaluation in between
            total += marks[b][0] - marks[a][0]
            n += 1
    per_step = trainer.batch * trainer.dist.world_size * trainer.settings.seq_len
    return n * per_step / total if total > 0 else float("nan")


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
                **sizes,
                batch_size=batch,
                device=device.type,
                precision=precision,
                minutes=seconds / 60,
                eval_minutes=1e9,
            )
            trainer = Trainer(corpus, Path(tmp) / name, settings)
            # A short held-out part keeps the end-of-run evaluation out of the way.
            trainer.held_data = trainer.held_data[: sizes["seq_len"] * 8 + 1]
            vocab = trainer.model.cfg.vocab_size
            ours, bare, bare_fp32 = [], [], []
            for r in range(rounds):
                bar(0, f"{name}: round {r + 1}/{rounds}")
                bare.append(
                    bare_loop(
                        sizes,
                        vocab,
                        trainer.train_data,
                        trainer.batch,
                        device,
                        seconds,
                        trainer.amp,
                    )
                )
                ours.append(rhymer_round(trainer, seconds))
                if trainer.amp is not None:
                    bare_fp32.append(
                        bare_loop(sizes, vocab, trainer.train_data, trainer.batch, device, seconds)
                    )
            row = {
                "preset": name,
                "size": f"{sizes['n_layers']}x{sizes['n_hidden']}",
                "batch": trainer.batch,
                "seq_len": sizes["seq_len"],
                "precision": {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[
                    trainer.amp
                ],
                "rhymer_cps": median(ours),
                "bare_cps": median(bare),
                "ratio": median(ours) / median(bare),
                "rounds": rounds,
                "seconds_per_round": seconds,
            }
            if bare_fp32:
                row["bare_fp32_cps"] = median(bare_fp32)
            results.append(row)
            bar(1)
    return {"env": env, "device": str(device), "results": results}


def rows_for(out: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    cols = ["preset", "LSTM", "batch x seq", "precision", "rhymer chars/s", "bare chars/s", "ratio"]
    rows = []
    for r in out["results"]:
        bare = f"{r['bare_cps']:,.0f}"
        if "bare_fp32_cps" in r:
            bare += f" (fp32 {r['bare_fp32_cps']:,.0f})"
        rows.append(
            [
                r["preset"],
                r["size"],
                f"{r['batch']} x {r['seq_len']}",
                r["precision"],
                f"{r['rhymer_cps']:,.0f}",
                bare,
                f"{r['ratio']:.2f}" + (" ok" if r["ratio"] >= 0.9 else " LOW"),
            ]
        )
    return cols, rows


def report(out: dict[str, Any], as_markdown: bool = False) -> None:
    cols, rows = rows_for(out)
    caption = f"{out['device']}; {env_line(out['env'])}; target ratio >= 0.9"
    publish("Training loop: rhymer vs bare nn.LSTM", cols, rows, caption, as_markdown)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    p.add_argument("--presets", default="tiny,small,medium,large,huge")
    p.add_argument("--seconds", type=float, default=20.0, help="seconds per loop per round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--device", default="auto")
    p.add_argument("--batch", type=int, default=None)
    p.add_argument("--precision", default="auto")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    p.add_argument("--quick", action="store_true", help="tiny and medium, one 3 s round")
    p.add_argument("--markdown", action="store_true", help="also print a markdown table")
    p.add_argument("--json", type=Path, default=None, help="write the results here")
    a = p.parse_args(argv)
    set_threads(a.threads)
    if a.quick:
        a.presets, a.seconds, a.rounds = "tiny,medium", 3.0, 1
    out = run(a.corpus, a.presets.split(","), a.seconds, a.rounds, a.device, a.batch, a.precision)
    report(out, a.markdown)
    write_json(a.json, out)


if __name__ == "__main__":
    main()
