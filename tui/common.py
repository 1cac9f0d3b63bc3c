"""What the screens share: favourites on disk, model folders, and the screen tabs."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import platformdirs
from textual.app import ComposeResult
from textual.widgets import Tab, Tabs

DATA_ENV = "RHYMER_DATA_DIR"
FAVOURITES_FILE = "favourites.txt"
SCREENS = (("rhyme", "Rhyme"), ("train", "Train"), ("compare", "Compare"))


def data_dir() -> Path:
    """The user's data folder for rhymer ($RHYMER_DATA_DIR overrides platformdirs)."""
    override = os.environ.get(DATA_ENV)
    return Path(override) if override else Path(platformdirs.user_data_dir("rhymer", False))


class Favourites:
    """Couplets kept in a plain text file: two lines each, a blank line between."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: list[tuple[str, str]] = self._read()

    def _read(self) -> list[tuple[str, str]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return []
        items = []
        for block in text.split("\n\n"):
            lines = [ln.strip() for ln in block.strip().splitlines() if ln.strip()]
            if len(lines) >= 2:
                items.append((lines[0], lines[1]))
        return items

    def __contains__(self, lines: object) -> bool:
        return lines in self.items

    def toggle(self, lines: tuple[str, str]) -> bool:
        """Add the couplet, or remove it if kept already; True if it is now a favourite."""
        if lines in self.items:
            self.items.remove(lines)
        else:
            self.items.append(lines)
        self._write()
        return lines in self.items

    def _write(self) -> None:
        text = "".join(f"{a}\n{b}\n\n" for a, b in self.items)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".favourites.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def is_model(path: Path) -> bool:
    """True if the folder looks like a rhymer model (it has a config.json)."""
    return (path / "config.json").is_file()


def find_models(root: Path, extra: Iterable[Path] = ()) -> list[Path]:
    """Model folders directly under `root`, plus `extra` ones that exist, without repeats."""
    found = sorted(p for p in root.iterdir() if is_model(p)) if root.is_dir() else []
    seen = {p.resolve() for p in found}
    for p in extra:
        if is_model(p) and p.resolve() not in seen:
            found.append(p)
            seen.add(p.resolve())
    return found


def free_name(root: Path, stem: str) -> str:
    """`stem`, or `stem-2`, `stem-3`... whichever is not a folder under `root` yet."""
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in stem) or "model"
    name, i = stem, 1
    while (root / name).exists():
        i += 1
        name = f"{stem}-{i}"
    return name


def model_facts(model_dir: Path | None) -> str:
    """One line about a model: its folder name, held-out bits/char and engines."""
    if model_dir is None:
        return "No model yet: train one on the Train screen (2)."
    try:  # plain JSON here: rhymer.store would import torch on the UI thread
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"{model_dir.name} · not a readable rhymer model"
    bpc = config.get("heldout_bpc")
    held = f"held-out {bpc:.3f} bits/char" if isinstance(bpc, int | float) else "held-out ?"
    markov = "" if (model_dir / "markov.json").is_file() else " · no Markov baseline"
    return f"{model_dir.name} · {held}{markov}"


def nav_tabs(active: str) -> ComposeResult:
    """The row of screen tabs at the top of every screen."""
    tabs = [Tab(f"{i} {label}", id=f"nav-{mode}") for i, (mode, label) in enumerate(SCREENS, 1)]
    yield Tabs(*tabs, active=f"nav-{active}")
