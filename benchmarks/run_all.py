"""Every benchmark in one run, side by side, with the machine recorded beside the numbers.

    python -m benchmarks.run_all --quick          # a smoke run (about 2 minutes)
    python -m benchmarks.run_all --markdown       # the full run (about 25 minutes on 2 cores),
                                                  # with markdown tables for the README

Training speed (rhymer's loop vs a bare nn.LSTM loop, per preset), quality per minute (rhymer's
trainer vs a Keras-example-style trainer) and couplet latency / cold start; see each module's
docstring for what exactly is measured.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks import couplet_latency, quality, train_speed
from benchmarks._common import DEFAULT_CORPUS, DEFAULT_MODEL, console, set_threads, write_json


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    p.add_argument("--minutes", type=float, default=5.0, help="quality: minutes per trainer")
    p.add_argument("--seconds", type=float, default=3.0, help="speed: seconds per round")
    p.add_argument("--rounds", type=int, default=3, help="speed: rounds per preset")
    p.add_argument("--presets", default="tiny,small,medium,large,huge")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    p.add_argument("--skip", default="", help="comma list of speed,quality,latency to skip")
    p.add_argument("--quick", action="store_true", help="small settings everywhere")
    p.add_argument("--markdown", action="store_true", help="also print markdown tables")
    p.add_argument("--json", type=Path, default=None, help="write all results here")
    a = p.parse_args(argv)
    set_threads(a.threads)
    skip = set(filter(None, a.skip.split(",")))
    results = {}
    if "speed" not in skip:
        presets, seconds, rounds = a.presets, a.seconds, a.rounds
        if a.quick:
            presets, seconds, rounds = "tiny,medium", 3.0, 1
        results["speed"] = train_speed.run(a.corpus, presets.split(","), seconds, rounds)
        train_speed.report(results["speed"], a.markdown)
    if "quality" not in skip:
        minutes, positions = (0.2, 2_000) if a.quick else (a.minutes, 20_000)
        results["quality"] = quality.run(a.corpus, minutes, positions=positions)
        quality.report(results["quality"], a.markdown)
    if "latency" not in skip:
        n, cold = (10, 1) if a.quick else (60, 3)
        results["latency"] = couplet_latency.run(
            a.model, a.corpus, n, 16, cold, ["lstm", "lstm-fp32", "markov"]
        )
        couplet_latency.report(results["latency"], a.markdown)
    console.print("[bold]done[/]")
    write_json(a.json, results)


if __name__ == "__main__":
    main()
