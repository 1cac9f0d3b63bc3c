"""Which autocast dtype really speeds up LSTM training here, and what rhymer picks.

For fp32 and each autocast dtype the device allows, a bare embedding + nn.LSTM + linear loop of
one size is timed, and the dtype the LSTM's output actually has under that autocast is shown:
on CUDA, torch casts cuDNN RNNs to fp16 whatever autocast dtype was asked for, so "bf16" there
may be an fp16 LSTM without loss scaling. On a CPU with AMX, bf16 runs oneDNN's LSTM on the
tiles. The last column is the dtype `rhymer train --precision auto` chooses on this machine.

    python -m benchmarks.precision                          # CPU, 2x256, 64 x 100
    python -m benchmarks.precision --device cuda --hidden 512 --batch 256 --seq-len 128
    python -m benchmarks.precision --quick
"""

from __future__ import annotations

import argparse
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
from benchmarks.train_speed import bare_loop
from rhymer.model import Vocab
from rhymer.train import amp_dtype, pick_device

NAMES = {None: "fp32", torch.float16: "fp16", torch.bfloat16: "bf16"}


def lstm_dtype(device: torch.device, amp: torch.dtype | None) -> str:
    """The dtype of nn.LSTM's output under autocast to `amp` (None: no autocast)."""
    lstm = nn.LSTM(8, 8, batch_first=True).to(device)
    with torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None):
        out, _ = lstm(torch.zeros(1, 2, 8, device=device))
    return {torch.float32: "fp32", **NAMES}.get(out.dtype, str(out.dtype))


def run(
    corpus: Path, device_name: str, sizes: dict[str, Any], batch: int, seconds: float
) -> dict[str, Any]:
    device = pick_device(device_name)
    text = corpus.read_text(encoding="utf-8")[:2_000_000]
    vocab = Vocab.from_text(text)
    data = torch.tensor(vocab.encode(text[::-1]))
    dtypes: list[torch.dtype | None] = [None, torch.bfloat16]
    if device.type == "cuda":
        dtypes.insert(1, torch.float16)
    rows = []
    with progress("precision", len(dtypes)) as bar:
        for amp in dtypes:
            cps = bare_loop(sizes, len(vocab), data, batch, device, seconds, amp)
            rows.append(
                {"autocast": NAMES[amp], "lstm_runs_in": lstm_dtype(device, amp), "cps": cps}
            )
            bar(1)
    choice = NAMES[amp_dtype(device, "auto")]
    return {
        "env": environment(device.type),
        "device": str(device),
        "sizes": sizes,
        "batch": batch,
        "rows": rows,
        "rhymer_auto": choice,
    }


def report(out: dict[str, Any], as_markdown: bool = False) -> None:
    base = out["rows"][0]["cps"]
    cols = ["autocast", "LSTM runs in", "chars/s", "vs fp32"]
    rows = [
        [r["autocast"], r["lstm_runs_in"], f"{r['cps']:,.0f}", f"{r['cps'] / base:.2f}x"]
        for r in out["rows"]
    ]
    s = out["sizes"]
    caption = (
        f"{out['device']}, {s['n_layers']}x{s['n_hidden']} LSTM, batch {out['batch']} x "
        f"seq {s['seq_len']}; rhymer --precision auto picks {out['rhymer_auto']}; "
        f"{env_line(out['env'])}"
    )
    publish("Mixed precision for LSTM training", cols, rows, caption, as_markdown)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    p.add_argument("--device", default="auto")
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--seq-len", type=int, default=100)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seconds", type=float, default=15.0, help="seconds per dtype")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    p.add_argument("--quick", action="store_true", help="2x128, 2 s per dtype")
    p.add_argument("--markdown", action="store_true", help="also print a markdown table")
    p.add_argument("--json", type=Path, default=None, help="write the results here")
    a = p.parse_args(argv)
    set_threads(a.threads)
    if a.quick:
        a.hidden, a.seconds = 128, 2.0
    sizes = {"n_layers": a.layers, "n_hidden": a.hidden, "seq_len": a.seq_len, "dropout": 0.1}
    out = run(a.corpus, a.device, sizes, a.batch, a.seconds)
    report(out, a.markdown)
    write_json(a.json, out)


if __name__ == "__main__":
    main()
