"""Quality per minute: held-out bits/char after the same minutes of training, two trainers.

Rhymer's trainer (truncated BPTT over contiguous tracks: every character is a target, the state
runs on from chunk to chunk) against the trainer of the Keras text-generation example, written
here as a small reference: 40-character windows taken every 3 characters, one target (the next
character) per window, shuffled batches of 128, RMSprop at lr 0.01 (Keras's rho 0.9, eps 1e-7),
each window starting from a zero state. Same corpus split (the reversed stream rhymer trains
on), same model class and size, same device and threads, same wall-clock minutes.

Both models are then scored two ways on the held-out text: rhymer's own held-out bits/char
(state carried along the stream), and the reference's protocol (each character predicted from
the 40 before it, zero state), on the same positions. Target: rhymer lower on both.

    python -m benchmarks.quality                 # 5 minutes each
    python -m benchmarks.quality --quick         # 0.2 minutes each: a smoke run
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from benchmarks._common import (
    DEFAULT_CORPUS,
    env_line,
    environment,
    progress,
    publish,
    set_threads,
    write_json,
)
from rhymer.model import CharLSTM
from rhymer.train import Trainer, TrainSettings, evaluate, precision_name, preset_for

WINDOW, STRIDE = 40, 3


def keras_style_train(
    model: CharLSTM,
    data: torch.Tensor,
    seconds: float,
    *,
    batch: int = 128,
    lr: float = 0.01,
    optimizer: str = "rmsprop",
    seed: int = 0,
    tick: Any = None,
) -> dict[str, Any]:
    """Train `model` for `seconds` the Keras-example way; returns steps and characters seen."""
    gen = torch.Generator().manual_seed(seed)
    starts = torch.arange(0, len(data) - WINDOW - 1, STRIDE)
    offsets = torch.arange(WINDOW)
    if optimizer == "rmsprop":
        opt: torch.optim.Optimizer = torch.optim.RMSprop(
            model.parameters(), lr=lr, alpha=0.9, eps=1e-7
        )
    else:
        opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    steps, epoch_pos, order = 0, len(starts), starts
    begin = last = time.perf_counter()
    while time.perf_counter() - begin < seconds:
        if epoch_pos + batch > len(order):
            order, epoch_pos = starts[torch.randperm(len(starts), generator=gen)], 0
        idx = order[epoch_pos : epoch_pos + batch]
        epoch_pos += batch
        x = data[idx[:, None] + offsets]
        y = data[idx + WINDOW]
        logits, _ = model(x)
        loss = nn.functional.cross_entropy(logits[:, -1], y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        steps += 1
        now = time.perf_counter()
        if tick is not None and now - last >= 1.0:
            tick(now - last)
            last = now
    return {"steps": steps, "windows": steps * batch, "chars_in": steps * batch * WINDOW}


@torch.no_grad()
def window_bpc(model: CharLSTM, data: torch.Tensor, positions: int, seed: int = 1) -> float:
    """Bits/char predicting data[i + 40] from data[i : i + 40] (zero state), random i."""
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    n = min(positions, len(data) - WINDOW - 1)
    idx = torch.randperm(len(data) - WINDOW - 1, generator=gen)[:n]
    total = 0.0
    for chunk in idx.split(512):
        logits, _ = model(data[chunk[:, None] + torch.arange(WINDOW)])
        total += float(
            nn.functional.cross_entropy(logits[:, -1], data[chunk + WINDOW], reduction="sum")
        )
    return total / n / math.log(2)


def run(
    corpus: Path,
    minutes: float,
    *,
    ref_optimizer: str = "rmsprop",
    ref_lr: float = 0.01,
    positions: int = 20_000,
    precision: str = "auto",
) -> dict[str, Any]:
    """Train both for `minutes` on the CPU and score them; returns the numbers."""
    name, sizes = preset_for(corpus.stat().st_size, "cpu")
    env = environment("cpu")
    with tempfile.TemporaryDirectory() as tmp:
        settings = TrainSettings(**sizes, minutes=minutes, device="cpu", precision=precision)
        trainer = Trainer(corpus, Path(tmp) / "rhymer", settings)
        held, train = trainer.held_data, trainer.train_data
        seconds = minutes * 60
        with progress("rhymer trainer", seconds) as bar:
            last = [time.perf_counter()]

            def on_step(info: dict) -> None:
                now = time.perf_counter()
                if now - last[0] >= 1.0:
                    bar(now - last[0])
                    last[0] = now

            result = trainer.run(on_step)
        load_after_rhymer = round(os.getloadavg()[0], 2)
        rhymer_model = trainer.model
        rhymer_stream = evaluate(rhymer_model, held, trainer.settings.seq_len, trainer.device)

        torch.manual_seed(0)
        ref_model = CharLSTM(trainer.model.cfg)
        with progress("Keras-style reference", seconds) as bar:
            ref = keras_style_train(
                ref_model, train, seconds, lr=ref_lr, optimizer=ref_optimizer, tick=bar
            )
        load_after_ref = round(os.getloadavg()[0], 2)
        ref_stream = evaluate(ref_model, held, trainer.settings.seq_len, torch.device("cpu"))
        rhymer_window = window_bpc(rhymer_model, held, positions)
        ref_window = window_bpc(ref_model, held, positions)
    chars_rhymer = result["steps"] * trainer.batch * trainer.settings.seq_len
    return {
        "env": env,
        "preset": name,
        "size": f"{sizes['n_layers']}x{sizes['n_hidden']}",
        "minutes": minutes,
        "precision": precision,
        "rhymer_precision": precision_name(trainer.amp),
        "load_avg_1m": [env["load_avg_1m"], load_after_rhymer, load_after_ref],
        "rhymer": {
            "stream_bpc": rhymer_stream,
            "window_bpc": rhymer_window,
            "steps": result["steps"],
            "targets": chars_rhymer,
        },
        "reference": {
            "stream_bpc": ref_stream,
            "window_bpc": ref_window,
            "steps": ref["steps"],
            "targets": ref["windows"],
            "optimizer": f"{ref_optimizer} lr {ref_lr}",
        },
        "positions": positions,
    }


def rows_for(out: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    cols = ["trainer", "steps", "targets seen", "held-out bpc (stream)", "held-out bpc (40-window)"]
    rows = []
    for key, label in (("rhymer", "rhymer (TBPTT)"), ("reference", "Keras-style reference")):
        r = out[key]
        rows.append(
            [
                label,
                f"{r['steps']:,}",
                f"{r['targets']:,}",
                f"{r['stream_bpc']:.3f}",
                f"{r['window_bpc']:.3f}",
            ]
        )
    return cols, rows


def report(out: dict[str, Any], as_markdown: bool = False) -> None:
    cols, rows = rows_for(out)
    better = (
        out["rhymer"]["stream_bpc"] < out["reference"]["stream_bpc"]
        and out["rhymer"]["window_bpc"] < out["reference"]["window_bpc"]
    )
    caption = (
        f"{out['size']} LSTM ({out['preset']} preset), {out['minutes']:g} CPU minutes each, "
        f"rhymer in {out['rhymer_precision']}, reference {out['reference']['optimizer']} in "
        f"fp32; {env_line(out['env'])}; load at start / after rhymer / after reference "
        f"{' / '.join(str(v) for v in out['load_avg_1m'])}; "
        f"target: rhymer lower -> {'ok' if better else 'MISSED'}"
    )
    publish("Quality per minute", cols, rows, caption, as_markdown)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    p.add_argument("--minutes", type=float, default=5.0, help="training minutes per trainer")
    p.add_argument("--ref-optimizer", choices=["rmsprop", "adam"], default="rmsprop")
    p.add_argument("--ref-lr", type=float, default=0.01)
    p.add_argument("--positions", type=int, default=20_000, help="held-out windows scored")
    p.add_argument("--precision", default="auto", help="rhymer's training precision")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    p.add_argument("--quick", action="store_true", help="0.2 minutes each, 2,000 windows")
    p.add_argument("--markdown", action="store_true", help="also print a markdown table")
    p.add_argument("--json", type=Path, default=None, help="write the results here")
    a = p.parse_args(argv)
    set_threads(a.threads)
    if a.quick:
        a.minutes, a.positions = 0.2, 2_000
    out = run(
        a.corpus,
        a.minutes,
        ref_optimizer=a.ref_optimizer,
        ref_lr=a.ref_lr,
        positions=a.positions,
        precision=a.precision,
    )
    report(out, a.markdown)
    write_json(a.json, out)


if __name__ == "__main__":
    main()
