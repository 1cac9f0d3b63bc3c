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


def main(argv: list[str] | None = None) -> None:
    """`python -m tui.serve [--host H] [--port P] [--model DIR]`."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tui.serve", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--model", type=Path, default=Path("models/default"))
    args = parser.parse_args(argv)
    serve(args.host, args.port, args.model)


if __name__ == "__main__":
    main()
