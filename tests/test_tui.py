"""The Textual app, driven by Pilot (every control) and pinned by SVG snapshots (every screen)."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.table import Table
from textual.pilot import Pilot
from textual.widgets import Input, Label, ListView, ProgressBar, Select, Static

from rhymer.corpus import read_corpus
from rhymer.couplet import Couplet
from rhymer.errors import RhymerError
from rhymer.lexicon import Lexicon
from rhymer.rhymes import rhyme_level
from rhymer.text import last_word
from tui.app import RhymerApp
from tui.common import DATA_ENV, Favourites, data_dir, find_models, free_name
from tui.rhyme import Entry, corpus_words
from tui.serve import command

SIZE = (100, 32)


# -- fixtures --------------------------------------------------------------------------
@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """Keep torch to one core while the app trains and writes in its workers."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def user_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Favourites go to a fresh folder, never the user's own."""
    path = tmp_path / "data"
    monkeypatch.setenv(DATA_ENV, str(path))
    return path


@pytest.fixture(scope="module")
def models_root(tiny_model: Path, small_corpus: Path, tmp_path_factory: Any) -> Path:
    """A models folder holding a copy of the tiny model with its Markov baseline."""
    from rhymer.markov import MarkovEngine

    root = tmp_path_factory.mktemp("tui_models")
    shutil.copytree(tiny_model, root / "tiny")
    MarkovEngine.train(read_corpus(small_corpus)).save(root / "tiny")
    return root


@pytest.fixture(scope="module")
def micro_corpus(small_corpus: Path, tmp_path_factory: Any) -> Path:
    """600 lines: one epoch of the tiny preset takes a few seconds."""
    lines = small_corpus.read_text(encoding="utf-8").splitlines()[:600]
    path = tmp_path_factory.mktemp("micro") / "micro.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Notes(list):
    """(message, severity) of every notification the app raised."""

    def errors(self) -> list[str]:
        return [m for m, sev in self if sev == "error"]


def make_app(model: Path | None, root: Path, **kwargs: Any) -> tuple[RhymerApp, Notes]:
    """An app with a fixed random seed that records its notifications."""
    app = RhymerApp(model, models_root=root, rng_seed=0, **kwargs)
    notes = Notes()
    notify = app.notify

    def record(message: str, **kw: Any) -> None:
        notes.append((message, kw.get("severity", "information")))
        notify(message, **kw)

    app.notify = record  # type: ignore[method-assign]
    return app, notes


def drive(app: RhymerApp, scenario: Callable[[Pilot], Awaitable[None]]) -> None:
    """Run the app headless and drive it with `scenario`."""

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await scenario(pilot)

    asyncio.run(main())


async def press(pilot: Pilot, button: str) -> None:
    """Click a button and let its 0.2 s press effect end (it ignores clicks until then)."""
    await pilot.click(button)
    await pilot.pause(0.25)


async def settle(pilot: Pilot) -> None:
    """Wait for every worker, then for the screen to take in their messages."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


async def until(pilot: Pilot, check: Callable[[], bool], timeout: float = 60.0) -> None:
    """Pause until `check()` holds (or fail after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out waiting for the app"
        await pilot.pause(0.05)


def entries(app: RhymerApp) -> list[Entry]:
    return list(app.screen.query_one("#history", ListView).query(Entry).results(Entry))


# -- the Rhyme screen --------------------------------------------------------------------
def test_typing_a_seed_and_clicking_rhyme_shows_a_rhyming_couplet(models_root: Path) -> None:
    app, notes = make_app(models_root / "tiny", models_root)

    async def scenario(pilot: Pilot) -> None:
        assert "held-out" in str(app.screen.query_one("#facts", Label).render())
        await pilot.press(*"night")
        await press(pilot, "#rhyme")
        await settle(pilot)
        (entry,) = entries(app)
        (couplet,) = entry.row
        assert couplet.engine == "lstm" and couplet.words[0] == "night"
        assert rhyme_level(*couplet.words) in ("perfect", "multi", "slant")
        assert [last_word(line) for line in couplet.lines] == list(couplet.words)
        assert couplet.words[1] in str(entry.query_one(Static).render())

    drive(app, scenario)
    assert not notes.errors()


def test_enter_in_the_seed_box_or_r_also_rhymes_and_history_grows(models_root: Path) -> None:
    app, _ = make_app(models_root / "tiny", models_root)

    async def scenario(pilot: Pilot) -> None:
        await pilot.press(*"day", "enter")
        await settle(pilot)
        await pilot.press("escape", "r")  # leave the text box; r writes another
        await settle(pilot)
        rows = [e.row[0] for e in entries(app)]
        assert len(rows) == 2 and all(c.words[0] == "day" for c in rows)
        assert app.screen.query_one("#history", ListView).index == 1

    drive(app, scenario)


def test_the_engine_switch_changes_the_engine(models_root: Path) -> None:
    app, notes = make_app(models_root / "tiny", models_root)

    async def scenario(pilot: Pilot) -> None:
        await pilot.press(*"love")
        await pilot.click("#engine-markov")
        await press(pilot, "#rhyme")
        await settle(pilot)
        await pilot.click("#engine-both")
        await press(pilot, "#rhyme")
        await settle(pilot)
        markov, both = entries(app)
        assert [c.engine for c in markov.row] == ["markov"]
        assert [c.engine for c in both.row] == ["lstm", "markov"]
        assert both.row[0].words == both.row[1].words  # both engines get the same words
        assert len(both.query(Static)) == 2  # side by side

    drive(app, scenario)
    assert not notes.errors()


def test_seed_words_are_suggested_from_the_corpus(models_root: Path) -> None:
    app, _ = make_app(models_root / "tiny", models_root)
    words = corpus_words(models_root / "tiny")
    prefix = next(w for w in words if len(w) >= 5)[:3]
    expected = next(w for w in words if w.startswith(prefix) and w != prefix)

    async def scenario(pilot: Pilot) -> None:
        await settle(pilot)  # the word list loads in a worker
        await pilot.press(*prefix)
        await settle(pilot)
        seed = app.screen.query_one("#seed", Input)
        assert seed._suggestion == expected  # the most frequent line-end word first
        await pilot.press("right")  # → takes the suggestion
        assert seed.value == expected

    drive(app, scenario)


def test_temperature_and_candidates_reach_the_generator(models_root: Path) -> None:
    calls: list[dict[str, Any]] = []

    def spy(model: Path, engines: list[str], **kw: Any) -> list[list[Couplet]]:
        calls.append({"model": model, "engines": engines, **kw})
        return fake_generate(model, engines, **kw)

    app, _ = make_app(models_root / "tiny", models_root, generate=spy)

    async def scenario(pilot: Pilot) -> None:
        for box, value in (("#temperature", "1.3"), ("#candidates", "5")):
            await pilot.click(box)
            await pilot.press("ctrl+a", "ctrl+k", *value)
        await press(pilot, "#rhyme")
        await settle(pilot)

    drive(app, scenario)
    (call,) = calls
    assert call["temperature"] == 1.3 and call["k"] == 5 and call["seed"] is None
    assert call["model"] == models_root / "tiny" and call["engines"] == ["lstm"]


def test_favourites_survive_a_restart(models_root: Path, user_data: Path) -> None:
    app, _ = make_app(models_root / "tiny", models_root)
    kept: list[tuple[str, str]] = []

    async def first(pilot: Pilot) -> None:
        await pilot.press(*"sky", "enter")
        await settle(pilot)
        await pilot.press("escape", "f")
        (entry,) = entries(app)
        assert entry.favourite and "★" in str(entry.query_one(Static).render())
        kept.append(entry.couplets[0])

    drive(app, first)
    text = (user_data / "favourites.txt").read_text(encoding="utf-8")
    assert text == "\n".join(kept[0]) + "\n\n"  # plain text, a blank line after each

    again, _ = make_app(models_root / "tiny", models_root)

    async def second(pilot: Pilot) -> None:
        (entry,) = entries(again)
        assert entry.favourite and entry.couplets == kept
        await pilot.press("escape", "down", "f")  # f again lets it go
        assert not entry.favourite

    drive(again, second)
    assert Favourites(user_data / "favourites.txt").items == []


def test_c_copies_the_highlighted_couplet(models_root: Path) -> None:
    app, notes = make_app(models_root / "tiny", models_root, generate=fake_generate)

    async def scenario(pilot: Pilot) -> None:
        await pilot.press("escape", "c")
        assert notes[-1][1] == "warning"  # nothing to copy yet
        for _ in range(2):
            await press(pilot, "#rhyme")
            await settle(pilot)
        await pilot.press("escape", "up", "c")
        first, second = entries(app)
        assert first.couplets != second.couplets
        assert app.clipboard == "\n".join(first.couplets[0])

    drive(app, scenario)


def test_a_new_click_drops_the_older_request(models_root: Path) -> None:
    release = threading.Event()

    def slow_then_fast(model: Path, engines: list[str], **kw: Any) -> list[list[Couplet]]:
        if kw["rng_seed"] == 1:  # the first request waits until the second is done
            release.wait(10)
        return fake_generate(model, engines, **kw)

    app, _ = make_app(models_root / "tiny", models_root, generate=slow_then_fast)

    async def scenario(pilot: Pilot) -> None:
        await press(pilot, "#rhyme")
        await press(pilot, "#rhyme")
        await until(pilot, lambda: len(entries(app)) == 1)
        release.set()
        await settle(pilot)
        (entry,) = entries(app)
        assert entry.row == fake_generate(Path(), ["lstm"], rng_seed=2)[0]

    drive(app, scenario)


def test_generation_errors_become_notifications(models_root: Path, tiny_model: Path) -> None:
    def broken(model: Path, engines: list[str], **kw: Any) -> list[list[Couplet]]:
        if kw["seed"] == "boom":
            raise ValueError("unexpected")
        raise RhymerError("No word in the corpus rhymes with 'orange'.")

    app, notes = make_app(models_root / "tiny", models_root, generate=broken)

    async def scenario(pilot: Pilot) -> None:
        await pilot.press(*"orange", "enter")
        await settle(pilot)
        await pilot.press("ctrl+a", "ctrl+k", *"boom", "enter")
        await settle(pilot)
        app.screen.query_one("#temperature", Input).value = ""
        await press(pilot, "#rhyme")
        await settle(pilot)
        assert entries(app) == []

    drive(app, scenario)
    errors = notes.errors()
    assert errors[0] == "No word in the corpus rhymes with 'orange'."
    assert "unexpected" in errors[1] and "numbers" in errors[2]

    # The real engines: a word with letters the model never saw, and no Markov model.
    real, notes = make_app(tiny_model, models_root)

    async def real_errors(pilot: Pilot) -> None:
        await pilot.press(*"naïve", "enter")
        await settle(pilot)
        await pilot.click("#engine-markov")
        await press(pilot, "#rhyme")
        await settle(pilot)
        assert real.model_dir == tiny_model and entries(real) == []

    drive(real, real_errors)
    assert "non-ASCII" in notes.errors()[0] and "Markov" in notes.errors()[1]


def test_the_model_asked_for_is_chosen_however_its_path_is_written(
    models_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "models"
    for name in ("a-first", "b-second"):
        shutil.copytree(models_root / "tiny", root / name)
    shutil.copytree(models_root / "tiny", tmp_path / "elsewhere" / "a-first")
    monkeypatch.chdir(tmp_path)
    app, notes = make_app(Path("models/b-second"), root)
    assert app.model_dir == root / "b-second" and len(app.models) == 2
    other, _ = make_app(Path("elsewhere/a-first"), root)
    assert other.model_dir == Path("elsewhere/a-first") and len(other.models) == 3

    async def scenario(pilot: Pilot) -> None:
        options = other.screen.query_one("#model", Select)._options
        labels = [str(label) for label, value in options if value != Select.NULL]
        assert labels == ["models/a-first", "b-second", "elsewhere/a-first"]

    drive(other, scenario)
    assert not notes


def test_a_missing_model_leaves_the_app_usable(tmp_path: Path) -> None:
    app, notes = make_app(tmp_path / "nothing", tmp_path / "models")

    async def scenario(pilot: Pilot) -> None:
        assert app.model_dir is None
        await press(pilot, "#rhyme")
        await pilot.press("escape", "2", "3", "r")
        await settle(pilot)

    drive(app, scenario)
    assert [sev for _, sev in notes] == ["warning", "error", "error"]


# -- the Train screen --------------------------------------------------------------------
def fill_train_form(app: RhymerApp, corpus: Path | str, epochs: int, name: str = "") -> None:
    screen = app.screen
    screen.query_one("#corpus", Input).value = str(corpus)
    screen.query_one("#preset", Select).value = "tiny"
    screen.query_one("#epochs", Input).value = str(epochs)
    screen.query_one("#name", Input).value = name


def test_training_from_the_train_screen_makes_a_selectable_model(
    models_root: Path, micro_corpus: Path, tmp_path: Path
) -> None:
    root = tmp_path / "models"
    shutil.copytree(models_root / "tiny", root / "tiny")
    app, notes = make_app(root / "tiny", root)

    async def scenario(pilot: Pilot) -> None:
        await pilot.press("escape", "2")
        assert app.current_mode == "train"
        fill_train_form(app, micro_corpus, epochs=1)
        await press(pilot, "#start")
        await settle(pilot)
        new = root / "micro"
        assert new in app.models and (new / "markov.json").is_file()
        bar = app.screen.query_one("#progress", ProgressBar)
        assert bar.percentage == 1.0
        assert len(app.screen.heldout_bpc) == 1 and app.screen.train_bpc
        log = "\n".join(str(line.text) for line in app.screen.query_one("#samples").lines)
        assert "held-out" in log and "T=0.8" in log
        await pilot.press("1")
        select = app.screen.query_one("#model", Select)
        assert new in [value for _, value in select._options]
        await pilot.click("#model")  # choose it by keyboard in the drop-down
        await pilot.press(*"micro", "enter")
        await pilot.pause()
        assert app.model_dir == new and select.value == new
        await pilot.click("#engine-markov")  # its Markov baseline was built beside it
        await pilot.click("#seed")
        await pilot.press(*"night", "enter")
        await settle(pilot)
        (entry,) = entries(app)
        assert [c.engine for c in entry.row] == ["markov"] and entry.row[0].words[0] == "night"
        assert "micro" in str(app.screen.query_one("#facts", Label).render())

    drive(app, scenario)
    assert not notes.errors()


def test_stop_keeps_the_best_model_and_the_app_exits_cleanly(
    micro_corpus: Path, tmp_path: Path
) -> None:
    root = tmp_path / "models"
    app, notes = make_app(None, root)

    async def scenario(pilot: Pilot) -> None:
        await pilot.press("escape", "2")
        fill_train_form(app, micro_corpus, epochs=500, name="stopped")
        await pilot.press("t")
        await until(pilot, lambda: bool(app.screen.train_bpc))
        await pilot.press("x")
        await settle(pilot)
        assert app.models == [root / "stopped"] and app.model_dir == root / "stopped"
        config = json.loads((root / "stopped" / "config.json").read_text())
        assert config["epoch"] < 5
        # Training again and quitting at once must not leave the app waiting for 500 epochs.
        fill_train_form(app, micro_corpus, epochs=500, name="quit")
        await press(pilot, "#start")
        await until(pilot, lambda: bool(app.screen.train_bpc))

    started = time.monotonic()
    drive(app, scenario)
    assert time.monotonic() - started < 60
    assert not notes.errors()


def test_a_bad_corpus_path_is_a_notification_and_the_app_keeps_working(
    models_root: Path, tmp_path: Path
) -> None:
    binary = tmp_path / "song.mp3"
    binary.write_bytes(bytes(range(256)) * 64)
    app, notes = make_app(models_root / "tiny", tmp_path / "models", generate=fake_generate)

    async def scenario(pilot: Pilot) -> None:
        await pilot.press("escape", "2")
        fill_train_form(app, tmp_path / "no-such-file.txt", epochs=1)
        await pilot.press("t")
        fill_train_form(app, binary, epochs=0)
        await pilot.press("t")
        fill_train_form(app, binary, epochs=1, name="../outside")
        await pilot.press("t")
        fill_train_form(app, binary, epochs=1)
        await press(pilot, "#start")
        await settle(pilot)
        assert not app.screen.query_one("#start").disabled
        await pilot.press("1")
        await press(pilot, "#rhyme")
        await settle(pilot)
        assert len(entries(app)) == 1

    drive(app, scenario)
    errors = notes.errors()
    assert errors[0].startswith("Corpus file") and "does not exist" in errors[0]
    assert errors[1].startswith("Epochs") and errors[2].startswith("Name the model")
    assert "binary" in errors[3]
    assert find_models(tmp_path / "models") == []


# -- the Compare screen ------------------------------------------------------------------
class FakeResult:
    def table(self) -> Table:
        table = Table("engine", "end rhyme", "copied")
        table.add_row("lstm", "0.91", "0.00")
        table.add_row("markov", "0.88", "0.12")
        return table


def fake_compare(model: Path, *, n: int, on_progress: Any = None, **_: Any) -> FakeResult:
    for i in range(n):
        if on_progress:
            on_progress(i + 1, n)
    return FakeResult()


def test_compare_screen_shows_the_table(models_root: Path) -> None:
    calls: list[int] = []

    def spy(model: Path, *, n: int, **kw: Any) -> FakeResult:
        calls.append(n)
        return fake_compare(model, n=n, **kw)

    app, notes = make_app(models_root / "tiny", models_root, compare=spy)

    async def scenario(pilot: Pilot) -> None:
        await pilot.press("escape", "3")
        box = app.screen.query_one("#n", Input)
        box.value = "6"
        await pilot.press("r")
        await settle(pilot)
        table = app.screen.query_one("#table", Static).content
        assert isinstance(table, Table) and table.row_count == 2
        assert app.screen.query_one("#progress", ProgressBar).percentage == 1.0

    drive(app, scenario)
    assert calls == [6] and not notes.errors()


def test_compare_with_the_real_comparison(
    models_root: Path, small_corpus: Path, micro_corpus: Path
) -> None:
    app, notes = make_app(models_root / "tiny", models_root)

    async def scenario(pilot: Pilot) -> None:
        await pilot.press("escape", "3")
        app.screen.query_one("#n", Input).value = "6"
        app.screen.query_one("#corpus", Input).value = str(micro_corpus)
        await press(pilot, "#run")
        await settle(pilot)
        assert entries_table(app) is None  # not the corpus the model learnt from
        app.screen.query_one("#corpus", Input).value = str(small_corpus)
        await press(pilot, "#run")
        await settle(pilot)
        table = entries_table(app)
        assert table is not None, notes
        assert [c.header for c in table.columns][1:] == [
            "lstm",
            "markov",
            "human",
        ]

    drive(app, scenario)
    assert len(notes.errors()) == 1 and "not the corpus" in notes.errors()[0]


def entries_table(app: RhymerApp) -> Table | None:
    """The comparison table on the Compare screen, if one is shown."""
    content = app.screen.query_one("#table", Static).content
    return content if isinstance(content, Table) else None


def test_compare_errors_are_notifications(models_root: Path) -> None:
    def broken(model: Path, **_: Any) -> None:
        raise RhymerError("The comparison needs the corpus.")

    app, notes = make_app(models_root / "tiny", models_root, compare=broken)

    async def scenario(pilot: Pilot) -> None:
        await pilot.press("escape", "3", "r")
        await settle(pilot)

    drive(app, scenario)
    assert notes.errors() == ["The comparison needs the corpus."]


# -- keys and odds and ends --------------------------------------------------------------
def test_a_keyboard_only_user_reaches_every_screen_and_the_keys(models_root: Path) -> None:
    app, _ = make_app(models_root / "tiny", models_root)

    async def scenario(pilot: Pilot) -> None:
        await pilot.press("escape", "question_mark")
        assert app.screen.query("HelpPanel")
        await pilot.press("question_mark")
        assert not app.screen.query("HelpPanel")
        for key, mode in (("2", "train"), ("3", "compare"), ("1", "rhyme")):
            await pilot.press(key)
            assert app.current_mode == mode
        await pilot.press("s")
        assert app.focused is app.screen.query_one("#seed")
        await pilot.press("tab", "tab", "right", "space")  # Rhyme button, then the engines
        await pilot.press("escape", "r")
        await settle(pilot)
        assert [c.engine for c in entries(app)[0].row] == ["markov"]

    drive(app, scenario)


def test_tabs_switch_screens_with_the_mouse(models_root: Path) -> None:
    app, _ = make_app(models_root / "tiny", models_root)

    async def scenario(pilot: Pilot) -> None:
        await pilot.click("#nav-train")
        await pilot.pause()
        assert app.current_mode == "train"
        await pilot.click("#nav-compare")
        await pilot.pause()
        assert app.current_mode == "compare"

    drive(app, scenario)


def test_helpers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DATA_ENV)
    assert data_dir().name == "rhymer"
    (tmp_path / "a").mkdir()
    assert free_name(tmp_path, "a") == "a-2" and free_name(tmp_path, "my corpus") == "my-corpus"
    assert find_models(tmp_path / "missing") == []
    assert "-m tui --model" in command(Path("m"))
    fav = Favourites(tmp_path / "f" / "favourites.txt")
    assert fav.toggle(("one", "two")) and ("one", "two") in Favourites(fav.path)
    assert not fav.toggle(("one", "two")) and fav.path.read_text() == ""


# -- snapshots ---------------------------------------------------------------------------
PAIRS = [
    (
        "night",
        "light",
        "The lamps are lit against the night,",
        "And all the harbour burns with light.",
    ),
    ("day", "away", "I walked the river half the day,", "Until the sorrow drained away."),
    ("sea", "free", "The gulls go crying out to sea,", "And one of them is wild and free."),
]


def fake_generate(
    model: Path, engines: list[str], *, seed: str | None = None, rng_seed: int = 0, **_: Any
) -> list[list[Couplet]]:
    """A stand-in for make_couplets: the seed word's couplet, else one picked by `rng_seed`."""
    known = [p for p in PAIRS if p[0] == seed]
    w1, w2, l1, l2 = known[0] if known else PAIRS[rng_seed % len(PAIRS)]
    return [[Couplet((l1, l2), (w1, w2), "perfect", -1.5, name) for name in engines]]


@pytest.fixture
def snap_models(tmp_path: Path, user_data: Path) -> Path:
    """A model folder with fixed facts (no weights: the snapshots use fake_generate)."""
    model = tmp_path / "models" / "verse"
    model.mkdir(parents=True)
    config = {"model": {}, "reversed": True, "heldout_bpc": 1.8765}
    (model / "config.json").write_text(json.dumps(config))
    (model / "markov.json").write_text("{}")
    Lexicon.from_lines([line for pair in PAIRS for line in pair[2:]]).save(model)
    user_data.mkdir()
    (user_data / "favourites.txt").write_text("Kept from a day before,\nBy the sea shore.\n\n")
    return tmp_path / "models"


def test_snapshot_rhyme_screen(snap_compare: Any, snap_models: Path) -> None:
    app = RhymerApp(
        snap_models / "verse", models_root=snap_models, rng_seed=0, generate=fake_generate
    )

    async def run_before(pilot: Pilot) -> None:
        await pilot.press(*"night")
        await pilot.click("#engine-both")
        await press(pilot, "#rhyme")
        await settle(pilot)
        await pilot.press("escape")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_train_screen(snap_compare: Any, snap_models: Path) -> None:
    from rhymer.train import EpochReport
    from tui.train import TrainScreen

    app = RhymerApp(snap_models / "verse", models_root=snap_models, rng_seed=0)

    async def run_before(pilot: Pilot) -> None:
        await pilot.press("escape", "2")
        screen = app.screen
        assert isinstance(screen, TrainScreen)
        fill_train_form(app, "corpora/verse.txt", epochs=3, name="verse-2")
        screen._set_busy(True)
        for step in range(1, 41):
            info = {
                "step": step,
                "loss_bpc": 4.0 - step * 0.05,
                "chars_per_s": 12345.0,
                "progress": step / 60,
                "epoch": step // 20,
            }
            screen.post_message(screen.Step(info))
        samples = {0.5: ["The night is long and full of light."], 1.0: ["O wind, O rain."]}
        for epoch in (1, 2):
            report = EpochReport(
                epoch,
                epoch * 20,
                3.1 - epoch * 0.3,
                3.0 - epoch * 0.25,
                3.0 - epoch * 0.25,
                12345.0,
                samples,
            )
            screen.post_message(screen.Eval(report))
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_compare_screen(snap_compare: Any, snap_models: Path) -> None:
    app = RhymerApp(
        snap_models / "verse", models_root=snap_models, rng_seed=0, compare=fake_compare
    )

    async def run_before(pilot: Pilot) -> None:
        await pilot.press("escape", "3", "r")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_keys_panel(snap_compare: Any, snap_models: Path) -> None:
    app = RhymerApp(snap_models / "verse", models_root=snap_models, rng_seed=0)
    assert snap_compare(app, press=["escape", "question_mark"], terminal_size=SIZE)
