"""Where the shipped model and corpus are: the current folder, the source tree, or the install."""

from __future__ import annotations

import sys
from pathlib import Path

_SOURCE_ROOT = Path(__file__).resolve().parent.parent
_SHARE = Path(sys.prefix) / "share" / "rhymer"


def _first_existing(relative: str) -> Path:
    candidates = [Path(relative), _SOURCE_ROOT / relative, _SHARE / relative]
    return next((p for p in candidates if p.exists()), Path(relative))


def default_model_dir() -> Path:
    """models/default here, else in the source tree, else where `pip install .` put it."""
    return _first_existing("models/default")


def default_corpus() -> Path:
    """The shipped default corpus, found the same way."""
    return _first_existing("corpora/pd_rhyming_couplets.txt")
