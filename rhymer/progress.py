"""Rich progress display for training: step, loss, chars/s, ETA, and per-epoch samples."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from rhymer.train import EpochReport


class TrainDisplay:
    """A progress bar driven by the trainer's callbacks."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            TextColumn("[bold]epoch {task.fields[epoch]}"),
            BarColumn(),
            TextColumn("step {task.fields[step]}"),
            TextColumn("loss {task.fields[loss]:.3f} bpc"),
            TextColumn("{task.fields[cps]:,.0f} chars/s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
        )
        self.task = self.progress.add_task("train", total=1000, epoch=0, step=0, loss=0.0, cps=0)

    def __enter__(self) -> TrainDisplay:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def on_step(self, info: dict) -> None:
        self.progress.update(
            self.task,
            completed=int(info["progress"] * 1000),
            epoch=info["epoch"],
            step=info["step"],
            loss=info["loss_bpc"],
            cps=info["chars_per_s"],
        )

    def on_eval(self, r: EpochReport) -> None:
        mark = " [green]best, saved[/]" if r.heldout_bpc <= r.best_bpc else ""
        self.console.print(
            f"epoch {r.epoch} step {r.step}: train {r.train_bpc:.3f} bpc, held-out "
            f"{r.heldout_bpc:.3f} bpc{mark}, {r.chars_per_s:,.0f} chars/s"
        )
        for temp, lines in r.samples.items():
            for line in lines:
                self.console.print(Text(f"  T={temp} ", style="dim") + Text(line), highlight=False)
