"""`python -m tui [--model DIR]`: run the app (textual-serve starts it this way)."""

from __future__ import annotations

import argparse
from pathlib import Path

from tui.app import run


def main(argv: list[str] | None = None) -> None:
    """Parse --model and run the app."""
    parser = argparse.ArgumentParser(prog="python -m tui", description=__doc__)
    parser.add_argument("--model", type=Path, default=None)
    model = parser.parse_args(argv).model
    if model is None:
        from rhymer.paths import default_model_dir

        model = default_model_dir()
    run(model)


if __name__ == "__main__":
    main()
