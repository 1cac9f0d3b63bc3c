"""The rhymer Textual app: Rhyme, Train and Compare screens over one chosen model."""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Tabs

from tui.common import FAVOURITES_FILE, SCREENS, Favourites, data_dir, find_models
from tui.compare import CompareScreen
from tui.rhyme import RhymeScreen
from tui.train import TrainScreen

SEED_ENV = "RHYMER_RNG_SEED"


class RhymerApp(App[None]):
    """Rhyming couplets in the terminal or a browser."""

    # Every screen's CSS up front (each scoped to its screen): one parse, no pause on a switch.
    CSS_PATH = ["app.tcss", "rhyme.tcss", "train.tcss", "compare.tcss"]
    TITLE = "rhymer"
    MODES = {"rhyme": RhymeScreen, "train": TrainScreen, "compare": CompareScreen}
    DEFAULT_MODE = "rhyme"
    BINDINGS = [
        Binding("1", "switch_mode('rhyme')", "Rhyme screen", show=False),
        Binding("2", "switch_mode('train')", "Train screen", show=False),
        Binding("3", "switch_mode('compare')", "Compare screen", show=False),
        Binding("question_mark", "toggle_keys", "Keys", key_display="?"),
    ]

    models: var[list[Path]] = var(list, always_update=True)
    """The model folders one can pick."""
    model_dir: var[Path | None] = var(None)
    """The model the Rhyme and Compare screens use."""

    def __init__(
        self,
        model_dir: Path | None = None,
        *,
        models_root: Path | None = None,
        rng_seed: int | None = None,
        generate: Callable[..., list[list[Any]]] | None = None,
        compare: Callable[..., Any] | None = None,
    ) -> None:
        super().__init__()
        self.models_root = Path(models_root) if models_root else Path.cwd() / "models"
        self.extra_models = [Path(model_dir)] if model_dir else []
        self.rng_seed = random.randrange(1 << 30) if rng_seed is None else rng_seed
        self.generate = generate
        self.compare = compare
        self.favourites = Favourites(data_dir() / FAVOURITES_FILE)
        self.set_reactive(RhymerApp.models, self.scan_models())
        wanted = Path(model_dir).resolve() if model_dir else None
        same = [p for p in self.models if p.resolve() == wanted]
        chosen = same[0] if same else (self.models[0] if self.models else None)
        self.set_reactive(RhymerApp.model_dir, chosen)

    def on_mount(self) -> None:
        self.run_worker(_warm_up, thread=True, group="warm-up", exit_on_error=False)
        wanted = self.extra_models[0] if self.extra_models else None
        if wanted and (self.model_dir is None or self.model_dir.resolve() != wanted.resolve()):
            self.notify(
                f"{wanted} is not a rhymer model; train one on the Train screen.",
                severity="warning",
            )

    def scan_models(self, also: Iterable[Path] = ()) -> list[Path]:
        """Model folders under the models root, the one asked for, and `also`."""
        self.extra_models += [p for p in also if p not in self.extra_models]
        return find_models(self.models_root, self.extra_models)

    def add_model(self, path: Path) -> None:
        """Make a newly trained model selectable on every screen."""
        self.models = self.scan_models([path])
        if self.model_dir is None:
            self.model_dir = path

    def action_toggle_keys(self) -> None:
        """Show or hide the panel of keys."""
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def on_tabs_tab_activated(self, event: Tabs.TabActivated) -> None:
        if event.tab.id and event.tab.id.startswith("nav-"):
            self.switch_mode(event.tab.id.removeprefix("nav-"))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for mode, label in SCREENS:
            yield SystemCommand(
                f"{label} screen", f"Go to the {label} screen", lambda m=mode: self.switch_mode(m)
            )


def _warm_up() -> None:
    """Import torch, onnxruntime and the engines off the UI thread: the first click is quick."""
    import rhymer.generate  # noqa: F401
    import rhymer.onnx_step  # noqa: F401
    import rhymer.train  # noqa: F401


def run(model_dir: Path) -> None:
    """Run the app in this terminal (or under textual-serve) with `model_dir` chosen.

    $RHYMER_RNG_SEED fixes the random draws, so a session can be repeated exactly.
    """
    seed = os.environ.get(SEED_ENV, "")
    RhymerApp(model_dir, rng_seed=int(seed) if seed.isdigit() else None).run()
