"""`python -m tui [--model DIR]`: run the app (textual-serve starts it this way)."""

from __future__ import annotations

import argparse
from pathlib import Path

from tui.app import run


def main(argv: list[str] | None = None) -> None:
    """Parse --model and run the app."""
    parser = argparse.ArgumentParser(prog="python -m tui", description=__doc__)
    parser.add_argument("--model", type=Path, default=Path("models/default"))
    run(parser.parse_args(argv).model)


if __name__ == "__main__":
    main()
