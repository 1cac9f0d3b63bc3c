"""`rhymer serve`: the same app in a web browser, through textual-serve."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path


def command(model_dir: Path) -> str:
    """The shell command textual-serve runs for each browser session."""
    return shlex.join([sys.executable, "-m", "tui", "--model", str(Path(model_dir).resolve())])


def serve(host: str, port: int, model_dir: Path) -> None:
    """Serve the app on http://HOST:PORT until Ctrl-C."""
    from textual_serve.server import Server

    Server(command(model_dir), host=host, port=port, title="rhymer").serve()
