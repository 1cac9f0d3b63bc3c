"""The Rhyme screen: a seed word, a Rhyme button, and a history of couplets to keep or copy."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.suggester import Suggester
from textual.validation import Integer, Number
from textual.widgets import (
    Button,
    Footer,
    Header,
    Input,
    Label,
    ListItem,
    ListView,
    RadioButton,
    RadioSet,
    Select,
    Static,
)
from textual.worker import get_current_worker

from tui.common import model_facts, nav_tabs

if TYPE_CHECKING:
    from tui.app import RhymerApp

ENGINES = {"lstm": ["lstm"], "markov": ["markov"], "both": ["lstm", "markov"]}


class WordSuggester(Suggester):
    """Completes a seed word from the model's corpus words, line-end words first."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=False)
        self.words: list[str] = []

    async def get_suggestion(self, value: str) -> str | None:
        value = value.strip()
        if not value:
            return None
        return next((w for w in self.words if w.startswith(value) and w != value), None)


def corpus_words(model_dir: Path) -> list[str]:
    """The model's corpus words, line-end words by frequency first, then all the others."""
    from rhymer.lexicon import Lexicon

    lexicon = Lexicon.load(model_dir)
    ends = [w for w in lexicon.end_counts if w.isalpha()]
    return list(dict.fromkeys(ends + [w for w in lexicon.counts if w.isalpha()]))


class Entry(ListItem):
    """One history row: one couplet per engine (or a kept favourite), side by side."""

    def __init__(
        self,
        parts: list[tuple[str, tuple[str, str]]],
        favourite: bool,
        row: list[Any] | None = None,
    ) -> None:
        super().__init__()
        self.parts = parts
        self.favourite = favourite
        self.row = row or []  # the Couplets, for a freshly written entry

    @property
    def couplets(self) -> list[tuple[str, str]]:
        return [lines for _, lines in self.parts]

    def as_text(self) -> str:
        """The couplets as plain text, a blank line between them."""
        return "\n\n".join("\n".join(lines) for lines in self.couplets)

    def compose(self) -> ComposeResult:
        with Horizontal():
            for title, lines in self.parts:
                yield Static(self._label(title, lines), classes="couplet")

    def _label(self, title: str, lines: tuple[str, str]) -> Text:
        star = "★ " if self.favourite else ""
        return Text.assemble((f"{star}{title}\n", "dim"), "\n".join(lines))

    def set_favourite(self, favourite: bool) -> None:
        self.favourite = favourite
        for static, (title, lines) in zip(
            self.query(".couplet").results(Static), self.parts, strict=False
        ):
            static.update(self._label(title, lines))


class RhymeScreen(Screen[None]):
    """Write couplets with the chosen model and engines."""

    CSS_PATH = "rhyme.tcss"
    BINDINGS = [
        Binding("r", "rhyme", "Rhyme"),
        Binding("f", "favourite", "Favourite"),
        Binding("c", "copy", "Copy"),
        Binding("s", "focus_seed", "Seed"),
        Binding("escape", "focus_history", "History"),
    ]

    class Written(Message):
        """Couplets from the generation worker."""

        def __init__(self, request: int, row: list[Any]) -> None:
            super().__init__()
            self.request, self.row = request, row

    class Failed(Message):
        """A generation error, as one sentence."""

        def __init__(self, request: int, error: str) -> None:
            super().__init__()
            self.request, self.error = request, error

    app: RhymerApp  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.request = 0
        self.suggester = WordSuggester()

    def compose(self) -> ComposeResult:
        yield Header()
        yield from nav_tabs("rhyme")
        with Horizontal(classes="row"):
            yield Input(
                placeholder="seed word (empty: random)",
                suggester=self.suggester,
                id="seed",
                compact=True,
                tooltip="The word the first line ends in; → accepts a suggestion.",
            )
            yield Button("Rhyme", id="rhyme", variant="primary", compact=True)
            yield Label("", id="status")
        with Horizontal(classes="row"):
            with RadioSet(id="engine", compact=True):
                yield RadioButton("LSTM", id="engine-lstm", value=True)
                yield RadioButton("Markov", id="engine-markov")
                yield RadioButton("Both", id="engine-both")
            yield Label("temperature", classes="field")
            yield Input(
                "0.8",
                id="temperature",
                type="number",
                compact=True,
                validators=[Number(minimum=0.01, maximum=5.0)],
            )
            yield Label("candidates", classes="field")
            yield Input(
                "16",
                id="candidates",
                type="integer",
                compact=True,
                validators=[Integer(minimum=1, maximum=512)],
            )
        with Horizontal(classes="row"):
            yield Label("model", classes="field")
            yield Select([], id="model", prompt="no model", compact=True)
            yield Label("", id="facts")
        yield ListView(id="history", initial_index=None)
        yield Footer()

    def on_mount(self) -> None:
        history = self.query_one("#history", ListView)
        history.border_title = "couplets · f keeps one · c copies it"
        for lines in self.app.favourites.items:
            history.append(Entry([("favourite", lines)], favourite=True))
        self.watch(self.app, "models", self._models_changed)
        self.watch(self.app, "model_dir", self._model_changed)
        self.query_one("#seed", Input).focus()

    # -- the model ------------------------------------------------------------------
    def _models_changed(self, models: list[Path]) -> None:
        select = self.query_one("#model", Select)
        names = [p.name for p in models]
        select.set_options(
            [
                (p.name if names.count(p.name) == 1 else f"{p.parent.name}/{p.name}", p)
                for p in models
            ]
        )
        if self.app.model_dir in models:
            select.value = self.app.model_dir

    def _model_changed(self, model_dir: Path | None) -> None:
        select = self.query_one("#model", Select)
        if model_dir is not None and select.value != model_dir:
            select.value = model_dir
        self.query_one("#facts", Label).update(model_facts(model_dir))
        self.suggester.words = []
        if model_dir is not None:
            self.load_words(model_dir)

    @on(Select.Changed, "#model")
    def _select_model(self, event: Select.Changed) -> None:
        if isinstance(event.value, Path):
            self.app.model_dir = event.value

    @work(thread=True, exclusive=True, group="words", exit_on_error=False)
    def load_words(self, model_dir: Path) -> None:
        """Read the corpus words for suggestions (quietly: a bad model shows up on Rhyme)."""
        try:
            words = corpus_words(model_dir)
        except Exception:  # noqa: BLE001 - suggestions are a nicety
            return
        if not get_current_worker().is_cancelled:
            self.suggester.words = words

    # -- writing couplets -----------------------------------------------------------
    @on(Input.Submitted)
    @on(Button.Pressed, "#rhyme")
    def action_rhyme(self) -> None:
        """Ask for a couplet; a newer request makes an older one's result be dropped."""
        seed = self.query_one("#seed", Input).value.strip() or None
        try:
            temperature = float(self.query_one("#temperature", Input).value)
            k = int(self.query_one("#candidates", Input).value)
        except ValueError:
            self.notify("Temperature and candidates must be numbers.", severity="error")
            return
        if self.app.model_dir is None:
            self.notify("No model is chosen: train one on the Train screen.", severity="error")
            return
        pressed = self.query_one("#engine", RadioSet).pressed_button
        engine = pressed.id.removeprefix("engine-") if pressed and pressed.id else "lstm"
        self.request += 1
        self.query_one("#status", Label).update("writing…")
        self.write_couplets(self.request, self.app.model_dir, ENGINES[engine], seed, temperature, k)

    @work(thread=True, exclusive=True, group="rhyme", exit_on_error=False)
    def write_couplets(
        self, request: int, model: Path, engines: list[str], seed: str | None, t: float, k: int
    ) -> None:
        """Generate in a thread; the result comes back as a message."""
        from rhymer.errors import RhymerError

        generate = self.app.generate
        if generate is None:
            from rhymer.generate import make_couplets as generate
        try:
            rows = generate(
                model,
                engines,
                seed=seed,
                count=1,
                k=k,
                temperature=t,
                rng_seed=self.app.rng_seed + request,
            )
        except RhymerError as exc:
            self.post_message(self.Failed(request, str(exc)))
            return
        except Exception as exc:  # noqa: BLE001 - never let a bad model crash the app
            self.post_message(self.Failed(request, f"Could not write a couplet: {exc!r}."))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(self.Written(request, rows[0]))

    def on_rhyme_screen_written(self, message: Written) -> None:
        if message.request != self.request:
            return
        self.query_one("#status", Label).update("")
        parts = [
            (f"{c.engine} · {c.words[0]} / {c.words[1]} · {c.level}", tuple(c.lines))
            for c in message.row
        ]
        favourite = all(lines in self.app.favourites for _, lines in parts)
        history = self.query_one("#history", ListView)
        history.append(Entry(parts, favourite, message.row))
        history.index = len(history) - 1
        history.scroll_end(animate=False)

    def on_rhyme_screen_failed(self, message: Failed) -> None:
        if message.request == self.request:
            self.query_one("#status", Label).update("")
            self.notify(message.error, title="No couplet", severity="error")

    # -- keeping and copying --------------------------------------------------------
    def _current(self) -> Entry | None:
        history = self.query_one("#history", ListView)
        item = history.highlighted_child
        if item is None and len(history):
            item = history.children[-1]  # type: ignore[assignment]
        return item if isinstance(item, Entry) else None

    def action_favourite(self) -> None:
        """Keep the highlighted (or newest) couplet in the favourites file, or let it go."""
        entry = self._current()
        if entry is None:
            self.notify("Write a couplet first.", severity="warning")
            return
        favs = self.app.favourites
        keep = not entry.favourite
        try:
            for lines in entry.couplets:
                if (lines in favs) != keep:
                    favs.toggle(lines)
        except OSError as exc:
            self.notify(f"Cannot save favourites to {favs.path}: {exc}.", severity="error")
            return
        entry.set_favourite(keep)
        self.notify("Kept as a favourite." if keep else "No longer a favourite.")

    def action_copy(self) -> None:
        """Copy the highlighted (or newest) couplet to the clipboard."""
        entry = self._current()
        if entry is None:
            self.notify("Write a couplet first.", severity="warning")
            return
        self.app.copy_to_clipboard(entry.as_text())
        self.notify("Copied the couplet.")

    def action_focus_seed(self) -> None:
        self.query_one("#seed", Input).focus()

    def action_focus_history(self) -> None:
        self.query_one("#history", ListView).focus()
