"""The Compare screen: run the LSTM-against-Markov comparison and show its table."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.validation import Integer
from textual.widgets import Button, Footer, Header, Input, Label, ProgressBar, Static
from textual.worker import get_current_worker

from tui.common import model_facts, nav_tabs
from tui.train import PathSuggester

if TYPE_CHECKING:
    from tui.app import RhymerApp


class _Cancelled(Exception):
    """Raised inside the comparison to end it early (the app is closing)."""


class CompareScreen(Screen[None]):
    """Both engines on the same seed words, scored by rhymer's metrics."""

    CSS_PATH = "compare.tcss"
    BINDINGS = [Binding("r", "run", "Run comparison")]

    class Progress(Message):
        """How many of the couplets are written."""

        def __init__(self, done: int, total: int) -> None:
            super().__init__()
            self.done, self.total = done, total

    class Finished(Message):
        """The comparison's table, or the error that ended it."""

        def __init__(self, request: int, table: Any = None, error: str = "") -> None:
            super().__init__()
            self.request, self.table, self.error = request, table, error

    app: RhymerApp  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.request = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield from nav_tabs("compare")
        with Horizontal(classes="row"):
            yield Label("model", classes="field")
            yield Label("", id="facts")
        with Horizontal(classes="row"):
            yield Label("corpus", classes="field")
            yield Input(
                id="corpus",
                compact=True,
                placeholder="the model's own corpus, found by itself",
                suggester=PathSuggester(),
            )
        with Horizontal(classes="row"):
            yield Label("couplets per engine", classes="field")
            yield Input(
                "200",
                id="n",
                type="integer",
                compact=True,
                validators=[Integer(minimum=1, maximum=100_000)],
            )
            yield Button("Run comparison", id="run", variant="primary", compact=True)
            yield Label("", id="status")
        yield ProgressBar(total=1, show_eta=False, id="progress")
        with VerticalScroll(id="result"):
            yield Static("Run the comparison to see how the engines score.", id="table")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#result").border_title = "LSTM against Markov"
        self.query_one("#run", Button).focus()
        self.watch(self.app, "model_dir", self._model_changed)

    def _model_changed(self, model_dir: Path | None) -> None:
        self.query_one("#facts", Label).update(model_facts(model_dir))

    @on(Input.Submitted, "#n")
    @on(Button.Pressed, "#run")
    def action_run(self) -> None:
        """Start the comparison for the chosen model in a thread."""
        model = self.app.model_dir
        if model is None:
            self.notify("No model is chosen: train one on the Train screen.", severity="error")
            return
        try:
            n = int(self.query_one("#n", Input).value)
        except ValueError:
            self.notify("The number of couplets must be a whole number.", severity="error")
            return
        if n < 1:
            self.notify("The number of couplets must be at least 1.", severity="error")
            return
        text = self.query_one("#corpus", Input).value.strip()
        corpus = Path(text).expanduser() if text else None
        self.request += 1
        self.query_one("#progress", ProgressBar).update(total=n, progress=0)
        self.query_one("#status", Label).update(f"comparing on {model.name}…")
        self.compare(self.request, model, n, corpus)

    @work(thread=True, exclusive=True, group="compare", exit_on_error=False)
    def compare(self, request: int, model: Path, n: int, corpus: Path | None) -> None:
        """Run the comparison; its table comes back as a message."""
        from rhymer.errors import RhymerError

        worker = get_current_worker()
        last = 0.0

        def on_progress(done: int, total: int) -> None:
            nonlocal last
            if worker.is_cancelled:
                raise _Cancelled
            now = time.monotonic()
            if now - last >= 0.1 or done >= total:
                last = now
                self.post_message(self.Progress(done, total))

        try:
            run_compare = self.app.compare
            if run_compare is None:
                from rhymer.compare import run_compare
            result = run_compare(model, n=n, corpus=corpus, on_progress=on_progress)
            table = result.table()
        except _Cancelled:
            return
        except ImportError:
            self.post_message(self.Finished(request, error="This rhymer cannot compare yet."))
        except RhymerError as exc:
            self.post_message(self.Finished(request, error=str(exc)))
        except Exception as exc:  # noqa: BLE001 - a failed comparison must not end the app
            self.post_message(self.Finished(request, error=f"The comparison failed: {exc!r}."))
        else:
            self.post_message(self.Finished(request, table))

    def on_compare_screen_progress(self, message: Progress) -> None:
        self.query_one("#progress", ProgressBar).update(total=message.total, progress=message.done)

    def on_compare_screen_finished(self, message: Finished) -> None:
        if message.request != self.request:
            return
        self.query_one("#status", Label).update("")
        if message.error:
            self.notify(message.error, title="No comparison", severity="error")
            return
        bar = self.query_one("#progress", ProgressBar)
        bar.update(progress=bar.total or 1)
        self.query_one("#table", Static).update(message.table)
