"""The Train screen: pick a corpus and a preset, train in a worker, watch the loss fall."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.suggester import Suggester
from textual.validation import Integer
from textual.widgets import (
    Button,
    Footer,
    Header,
    Input,
    Label,
    ProgressBar,
    RichLog,
    Select,
    Sparkline,
)
from textual.worker import get_current_worker

from tui.common import free_name, nav_tabs

if TYPE_CHECKING:
    from rhymer.train import EpochReport
    from tui.app import RhymerApp

STEP_EVERY_S = 0.1  # at most this often a training step reaches the screen


class PathSuggester(Suggester):
    """Completes a file or folder path from what is on disk."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        path = Path(value).expanduser()
        folder, stem = (path, "") if value.endswith("/") else (path.parent, path.name)
        try:
            names = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())
        except OSError:
            return None
        match = next((n for n in names if n.startswith(stem) and n != stem), None)
        return value + match[len(stem) :] if match else None


def preset_options() -> list[tuple[str, str]]:
    """(label, value) for the preset choice: automatic by corpus size, then each preset."""
    from rhymer.train import PRESETS

    options = [("auto: by corpus size", "auto")]
    for _, name, sizes in PRESETS:
        options.append((f"{name}: {sizes['n_layers']}×{sizes['n_hidden']}", name))
    return options


def settings_for(corpus: Path, preset: str, epochs: int, minutes: float | None) -> Any:
    """TrainSettings from a preset name (or "auto": the corpus size picks)."""
    from rhymer.train import PRESETS, TrainSettings, preset_for

    if preset == "auto":
        sizes = preset_for(corpus.stat().st_size)[1]
    else:
        sizes = next(dict(s) for _, name, s in PRESETS if name == preset)
    return TrainSettings(**sizes, epochs=epochs, minutes=minutes)


def default_corpus() -> str:
    """The shipped corpus (here, in the source tree or in the install), if it is there."""
    from rhymer.paths import default_corpus as shipped

    path = shipped()
    return str(path) if path.is_file() else ""


class TrainScreen(Screen[None]):
    """Train a new model without leaving the app."""

    CSS_PATH = "train.tcss"
    BINDINGS = [
        Binding("t", "start", "Train"),
        Binding("x", "stop", "Stop"),
        Binding("s", "focus_corpus", "Corpus"),
    ]

    class Step(Message):
        """A training step (at most every STEP_EVERY_S seconds)."""

        def __init__(self, info: dict[str, Any]) -> None:
            super().__init__()
            self.info = info

    class Eval(Message):
        """An evaluation after an epoch, with sample lines."""

        def __init__(self, report: EpochReport) -> None:
            super().__init__()
            self.report = report

    class Done(Message):
        """The end of a run: its result, or the error that ended it."""

        def __init__(self, result: dict[str, Any] | None, out: Path, error: str = "") -> None:
            super().__init__()
            self.result, self.out, self.error = result, out, error

    class Note(Message):
        """A status line from the worker."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    app: RhymerApp  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.trainer: Any = None
        self.stop_asked = False
        self.train_bpc: list[float] = []
        self.heldout_bpc: list[float] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield from nav_tabs("train")
        with Horizontal(classes="row"):
            yield Label("corpus", classes="field")
            yield Input(
                default_corpus(),
                id="corpus",
                compact=True,
                placeholder="path to a verse file",
                suggester=PathSuggester(),
            )
        with Horizontal(classes="row"):
            yield Label("preset", classes="field")
            yield Select(
                preset_options(), id="preset", value="auto", allow_blank=False, compact=True
            )
            yield Label("epochs", classes="field")
            yield Input(
                "10",
                id="epochs",
                type="integer",
                compact=True,
                validators=[Integer(minimum=1, maximum=10_000)],
            )
            yield Label("name", classes="field")
            yield Input(id="name", compact=True, placeholder="corpus name")
        with Horizontal(classes="row"):
            yield Button("Start", id="start", variant="primary", compact=True)
            yield Button("Stop", id="stop", variant="error", compact=True, disabled=True)
            yield Label("", id="status")
        yield ProgressBar(total=1000, show_eta=False, id="progress")
        with Horizontal(classes="curve"):
            yield Label("train   ", classes="field")
            yield Sparkline([], id="train-curve")
            yield Label("", id="train-last", classes="last")
        with Horizontal(classes="curve"):
            yield Label("held-out", classes="field")
            yield Sparkline([], id="heldout-curve")
            yield Label("", id="heldout-last", classes="last")
        yield RichLog(id="samples", wrap=True, markup=False)
        yield Footer()

    def on_mount(self) -> None:
        log = self.query_one("#samples", RichLog)
        log.border_title = "samples"
        log.write("Sample lines appear here after each epoch.")
        self.query_one("#start", Button).focus()

    # -- start and stop -------------------------------------------------------------
    @on(Input.Submitted)
    @on(Button.Pressed, "#start")
    def action_start(self) -> None:
        """Check the form, then train in a thread."""
        if not self.query_one("#stop", Button).disabled:
            self.notify("A model is training already; stop it first.", severity="warning")
            return
        corpus = Path(self.query_one("#corpus", Input).value.strip()).expanduser()
        if not corpus.is_file():
            self.notify(f"Corpus file {corpus} does not exist.", severity="error")
            return
        try:
            epochs = int(self.query_one("#epochs", Input).value)
        except ValueError:
            epochs = 0
        if epochs < 1:
            self.notify("Epochs must be a whole number, at least 1.", severity="error")
            return
        root = self.app.models_root
        name = self.query_one("#name", Input).value.strip() or free_name(root, corpus.stem)
        if not re.fullmatch(r"[\w-][\w.-]*", name):
            self.notify("Name the model with letters, digits, - and _ only.", severity="error")
            return
        out = root / name
        if out.exists():
            self.notify(f"{out} exists already; choose another name.", severity="error")
            return
        preset = str(self.query_one("#preset", Select).value)
        self.train_bpc, self.heldout_bpc = [], []
        self._curves()
        self.query_one("#samples", RichLog).clear()
        self.query_one("#progress", ProgressBar).update(progress=0)
        self._set_busy(True)
        self.stop_asked = False
        self.query_one("#status", Label).update(f"reading {corpus.name}…")
        self.train(corpus, out, preset, epochs)

    def action_stop(self) -> None:
        """Finish the step, keep the best model so far, and stop."""
        if self.query_one("#stop", Button).disabled:
            return
        self.stop_asked = True
        self._request_stop()
        self.query_one("#status", Label).update("stopping: saving the best model…")

    @on(Button.Pressed, "#stop")
    def _stop_pressed(self) -> None:
        self.action_stop()

    def _request_stop(self) -> None:
        trainer = self.trainer
        if trainer is None:
            return
        if hasattr(trainer, "request_stop"):
            trainer.request_stop()
        else:
            trainer.stop_requested = True

    def on_unmount(self) -> None:
        self.stop_asked = True
        self._request_stop()

    def _set_busy(self, running: bool) -> None:
        self.query_one("#start", Button).disabled = running
        self.query_one("#stop", Button).disabled = not running

    def action_focus_corpus(self) -> None:
        self.query_one("#corpus", Input).focus()

    # -- the worker -----------------------------------------------------------------
    @work(thread=True, exclusive=True, group="train", exit_on_error=False)
    def train(self, corpus: Path, out: Path, preset: str, epochs: int) -> None:
        """Train, then build the Markov baseline beside the model."""
        from rhymer.errors import RhymerError

        worker = get_current_worker()
        last = 0.0

        def on_step(info: dict[str, Any]) -> None:
            nonlocal last
            if worker.is_cancelled or self.stop_asked:
                self._request_stop()
            now = time.monotonic()
            if now - last >= STEP_EVERY_S:
                last = now
                self.post_message(self.Step(dict(info)))

        try:
            from rhymer.train import Trainer

            settings = settings_for(corpus, preset, epochs, None)
            command = f"rhymer tui: train {corpus} -> {out} (preset {preset}, {epochs} epochs)"
            self.trainer = Trainer(corpus, out, settings, command=command)
            if self.stop_asked:
                self._request_stop()
            result = self.trainer.run(on_step, lambda r: self.post_message(self.Eval(r)))
            if worker.is_cancelled:  # the app is closing: the LSTM is saved, that will do
                return
            self.post_message(self.Note("building the Markov baseline…"))
            from rhymer.markov import MarkovEngine

            MarkovEngine.train(self.trainer.lines).save(out)
        except RhymerError as exc:
            self.post_message(self.Done(None, out, str(exc)))
        except Exception as exc:  # noqa: BLE001 - a failed run must not end the app
            self.post_message(self.Done(None, out, f"Training failed: {exc!r}."))
        else:
            self.post_message(self.Done(result, out))
        finally:
            self.trainer = None

    # -- what the worker reports ----------------------------------------------------
    def on_train_screen_step(self, message: Step) -> None:
        info = message.info
        self.query_one("#progress", ProgressBar).update(progress=info["progress"] * 1000)
        self.train_bpc.append(info["loss_bpc"])
        self._curves()
        if not self.stop_asked:
            self.query_one("#status", Label).update(
                f"epoch {info['epoch'] + 1} · step {info['step']} · "
                f"{info['chars_per_s']:,.0f} chars/s"
            )

    def on_train_screen_eval(self, message: Eval) -> None:
        r = message.report
        self.heldout_bpc.append(r.heldout_bpc)
        self._curves()
        log = self.query_one("#samples", RichLog)
        best = " (best)" if r.heldout_bpc <= r.best_bpc else ""
        log.write(
            f"epoch {r.epoch} · step {r.step}: train {r.train_bpc:.3f}, held-out "
            f"{r.heldout_bpc:.3f} bits/char{best} · {r.chars_per_s:,.0f} chars/s"
        )
        for temp, lines in r.samples.items():
            for line in lines:
                log.write(f"  T={temp}  {line}")

    def on_train_screen_note(self, message: Note) -> None:
        self.query_one("#status", Label).update(message.text)

    def on_train_screen_done(self, message: Done) -> None:
        self._set_busy(False)
        status = self.query_one("#status", Label)
        if message.error:
            status.update("")
            self.notify(message.error, title="Training stopped", severity="error")
            if (message.out / "config.json").is_file():
                self.app.add_model(message.out)
            return
        result = message.result or {}
        self.query_one("#progress", ProgressBar).update(progress=1000)
        status.update(f"done: best held-out {result.get('best_bpc', float('nan')):.3f} bits/char")
        self.app.add_model(message.out)
        self.notify(f"Model {message.out.name} is ready; choose it on the Rhyme screen.")

    def _curves(self) -> None:
        self.query_one("#train-curve", Sparkline).data = self.train_bpc[-300:]
        self.query_one("#heldout-curve", Sparkline).data = self.heldout_bpc[-300:]
        last_train = f"{self.train_bpc[-1]:.3f}" if self.train_bpc else ""
        last_held = f"{self.heldout_bpc[-1]:.3f}" if self.heldout_bpc else ""
        self.query_one("#train-last", Label).update(last_train)
        self.query_one("#heldout-last", Label).update(last_held)
