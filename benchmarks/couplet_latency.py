"""Couplet latency: p50/p95 per couplet for the LSTM and Markov engines, and cold start.

In-process: a CoupletMaker per engine (loaded once, as the TUI and `rhymer serve` hold it),
then N couplets from random corpus seed words, K candidates per line, timed one by one; the
LSTM engine's own share (sampling both lines' candidates) is timed apart. The LSTM runs twice:
on int8 LSTM kernels in onnxruntime (what the CLI, the app and `compare` use) and on float32
numpy (the fallback without onnxruntime); both also report their held-out bits/char, the
price of int8. Cold start: the wall time of a fresh
`python -m rhymer couplet` process until it exits, with a stage-by-stage breakdown taken in
another fresh process. Targets: LSTM p50 <= 50 ms for a 2x256 model with 16
candidates per line (<= 150 ms for the shipped model whatever its size), Markov p50 <= 20 ms,
cold start <= 3 s.

    python -m benchmarks.couplet_latency                      # models/default, 60 couplets
    python -m benchmarks.couplet_latency --quick              # 10 couplets, one cold start
    python -m benchmarks.couplet_latency --model models/mine  # another model folder
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._common import (
    DEFAULT_CORPUS,
    DEFAULT_MODEL,
    ROOT,
    env_line,
    environment,
    markdown,
    median,
    percentile,
    progress,
    set_threads,
    show,
    steal_share,
    write_json,
)

# Each runs in a fresh interpreter: how long each stage of a cold `rhymer couplet` takes, and
# what the rhyme machinery would cost if it had to be built at start-up.
_STAGES = r"""
import json, sys, time
t = [("start", time.perf_counter())]
from pathlib import Path
from rhymer.generate import maker_for
import rhymer.cli
t.append(("import rhymer (cli, couplet maker)", time.perf_counter()))
maker = maker_for(Path(sys.argv[1]), "lstm")
t.append(("load lexicon, rhyme index, LSTM", time.perf_counter()))
maker.make(sys.argv[2], k=16)
t.append(("first couplet", time.perf_counter()))
t.append(("(torch imported: %s)" % ("torch" in sys.modules), t[-1][1]))
t.append(("(onnxruntime imported: %s)" % ("onnxruntime" in sys.modules), t[-1][1]))
print(json.dumps([(b[0], b[1] - a[1]) for a, b in zip(t, t[1:])]))
"""
_EXTRA = r"""
import json, sys, time
from pathlib import Path
import pronouncing
from rhymer.lexicon import Lexicon
from rhymer.rhymes import RhymeIndex
lex = Lexicon.load(Path(sys.argv[1]))
extra = {}
def clock(name, fn):
    s = time.perf_counter()
    fn()
    extra[name] = time.perf_counter() - s
clock("CMUdict load", pronouncing.init_cmu)
clock("RhymeIndex over all corpus words", lambda: RhymeIndex(lex.counts))
clock("RhymeIndex over line-end words", lambda: RhymeIndex(lex.end_counts))
print(json.dumps(extra))
"""


def ensure_markov(model_dir: Path, corpus: Path, tmp: Path) -> Path:
    """A folder with this model and a Markov chain: the model's own, or one trained now."""
    if (model_dir / "markov.json").is_file():
        return model_dir
    from rhymer.markov import train_markov

    both = tmp / "with-markov"
    both.mkdir()
    for f in model_dir.iterdir():
        if f.is_file() and not f.name.startswith("checkpoint"):
            (both / f.name).symlink_to(f.resolve())
    train_markov(corpus, both)
    return both


def in_process(
    model_dir: Path, engine: str, n: int, k: int, bar: Any, int8: bool = False
) -> dict[str, Any]:
    """Per-couplet latencies (ms) of one engine, and the LSTM engine's own share."""
    from rhymer.generate import maker_for

    maker = maker_for(model_dir, engine, int8)
    if engine == "lstm" and int8 and not maker.engine.int8:  # type: ignore[attr-defined]
        reason = maker.engine.sampler.fallback_reason  # type: ignore[attr-defined]
        raise RuntimeError(f"no int8 sampling here ({reason})")
    for i in range(3):  # warm caches and the allocator
        maker.make(None, k=k, rng_seed=10_000 + i)
    total, engine_ms, words = [], [], []
    inner = maker.engine.lines_ending_in

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            engine_ms.append((time.perf_counter() - start) * 1000)

    maker.engine.lines_ending_in = timed  # type: ignore[method-assign]
    try:
        with steal_share() as stolen:
            for i in range(n):
                calls = len(engine_ms)
                start = time.perf_counter()
                couplet = maker.make(None, k=k, rng_seed=i)
                total.append((time.perf_counter() - start) * 1000)
                words.append(couplet.words)
                del engine_ms[calls + 1 :]  # a retry with another partner counts in the total
                bar(1)
    finally:
        del maker.engine.lines_ending_in
    out = {"total_ms": total, "engine_ms": engine_ms, "words": words, **stolen}
    if engine == "lstm":
        sampler = maker.engine.sampler  # type: ignore[attr-defined]
        out["heldout_bpc"] = heldout_bpc(sampler, model_dir)
    return out


def heldout_bpc(sampler: Any, model_dir: Path, tracks: int = 32) -> float:
    """Bits/char of the sampler's own step on the model's held-out text (reversed, as trained).

    The text is cut into `tracks` rows stepped side by side with the state carried, as
    `rhymer train` scores it (float32 numpy gives the model's own `heldout_bpc`): the quality
    side of a faster runtime, measured with exactly the code that samples couplets.
    """
    from rhymer.config import Vocab
    from rhymer.corpus import heldout_split, read_corpus
    from rhymer.sampler import log_softmax
    from rhymer.store import read_config
    from rhymer.train import reversed_stream

    config = read_config(model_dir)
    corpus = ROOT / "corpora" / config.get("corpus", "")
    if not corpus.is_file():
        return float("nan")
    _, held = heldout_split(read_corpus(corpus))
    ids = np.asarray(Vocab(config["model"]["chars"]).encode(reversed_stream(held)), np.intp)
    width = (len(ids) - 1) // tracks
    x = ids[: width * tracks].reshape(tracks, width)
    y = ids[1 : width * tracks + 1].reshape(tracks, width)
    state, nats = sampler.zero_state(tracks), 0.0
    for t in range(width):
        logits, state = sampler.step(x[:, t], state)
        nats -= float(log_softmax(logits)[np.arange(tracks), y[:, t]].sum())
    return nats / (width * tracks) / np.log(2)


def cold_start(model_dir: Path, engine: str, runs: int, seed: str) -> list[float]:
    """Wall seconds of fresh `python -m rhymer couplet` processes until they exit."""
    cmd = [sys.executable, "-m", "rhymer", "couplet", "--model", str(model_dir)]
    cmd += ["--engine", engine, "--seed", seed]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr.strip()}")
    return times


def _fresh(code: str, *args: str) -> Any:
    """The JSON that `code` prints last, run in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    if done.returncode != 0:
        raise RuntimeError(f"stage timing failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def stages(model_dir: Path, seed: str) -> dict[str, Any]:
    """The cold start stage by stage, and the rhyme machinery's build costs, each fresh."""
    return {
        "stages": _fresh(_STAGES, str(model_dir), seed),
        "extra": _fresh(_EXTRA, str(model_dir)),
    }


def run(
    model_dir: Path,
    corpus: Path,
    n: int,
    k: int,
    cold_runs: int,
    engines: list[str],
    seed: str = "night",
) -> dict[str, Any]:
    from rhymer.store import read_config

    config = read_config(model_dir)
    size = f"{config['model']['n_layers']}x{config['model']['n_hidden']}"
    env = environment("cpu")
    out: dict[str, Any] = {"env": env, "model": str(model_dir), "lstm_size": size, "k": k}
    with tempfile.TemporaryDirectory() as tmp:
        folder = ensure_markov(model_dir, corpus, Path(tmp)) if "markov" in engines else model_dir
        with progress("couplets", n * len(engines) + len(engines) * cold_runs + 1) as bar:
            for engine in engines:
                name, fp32 = engine.removesuffix("-fp32"), engine.endswith("-fp32")
                out[engine] = in_process(folder, name, n, k, bar, int8=not fp32)
            for engine in engines:
                if not engine.endswith("-fp32"):
                    out[engine]["cold_s"] = cold_start(folder, engine, cold_runs, seed)
                bar(cold_runs)
            out["stages"] = stages(folder, seed)
            bar(1)
    return out


def rows_for(out: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    cols = ["engine", "couplet p50", "couplet p95", "engine p50", "cold start", "target p50"]
    cols += ["held-out bpc", "CPU stolen"]
    rows = []
    for engine in ("lstm", "lstm-fp32", "markov"):
        if engine not in out:
            continue
        r = out[engine]
        p50 = percentile(r["total_ms"], 50)
        lstm = engine.startswith("lstm")
        target = (50 if out["lstm_size"] == "2x256" else 150) if lstm else 20
        label = {
            "lstm": f"lstm {out['lstm_size']} int8 onnxruntime (CLI, app)",
            "lstm-fp32": f"lstm {out['lstm_size']} float32 numpy (fallback)",
        }.get(engine, engine)
        cold = f"{median(r['cold_s']):.2f} s" if "cold_s" in r else "-"
        bpc = f"{r['heldout_bpc']:.4f}" if "heldout_bpc" in r else "-"
        steal = "-" if r.get("steal") is None else f"{100 * r['steal']:.0f}%"
        rows.append(
            [
                label,
                f"{p50:.1f} ms",
                f"{percentile(r['total_ms'], 95):.1f} ms",
                f"{percentile(r['engine_ms'], 50):.1f} ms",
                cold,
                f"<= {target} ms " + ("ok" if p50 <= target else "MISSED"),
                bpc,
                steal,
            ]
        )
    return cols, rows


def report(out: dict[str, Any], as_markdown: bool = False) -> None:
    cols, rows = rows_for(out)
    caption = (
        f"{out['model']}, K={out['k']} candidates per line, "
        f"{len(out['lstm']['total_ms']) if 'lstm' in out else 0} couplets; cold start target "
        f"<= 3 s; held-out bpc: the sampler's own step over the model's held-out text; CPU "
        f"stolen: the hypervisor's share of CPU time during the row; {env_line(out['env'])}"
    )
    show("Couplet latency", cols, rows, caption)
    st = out["stages"]
    stage_rows = [[name, f"{sec:.2f} s"] for name, sec in st["stages"]]
    stage_rows += [[f"(separately) {name}", f"{sec:.2f} s"] for name, sec in st["extra"].items()]
    show("Cold start, stage by stage (fresh interpreter)", ["stage", "time"], stage_rows, "")
    if as_markdown:
        print(markdown(cols, rows))
        print(f"\n{caption}\n")
        print(markdown(["cold-start stage", "time"], stage_rows))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="for a missing Markov chain")
    p.add_argument("-n", type=int, default=60, help="couplets per engine")
    p.add_argument("-k", type=int, default=16, help="candidates per line")
    p.add_argument("--cold-runs", type=int, default=3)
    p.add_argument("--engines", default="lstm,lstm-fp32,markov")
    p.add_argument("--seed", default="night", help="seed word of the cold-start couplet")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    p.add_argument("--quick", action="store_true", help="10 couplets, one cold start")
    p.add_argument("--markdown", action="store_true", help="also print markdown tables")
    p.add_argument("--json", type=Path, default=None, help="write the results here")
    a = p.parse_args(argv)
    set_threads(a.threads)
    if a.quick:
        a.n, a.cold_runs = 10, 1
    out = run(a.model, a.corpus, a.n, a.k, a.cold_runs, a.engines.split(","), a.seed)
    report(out, a.markdown)
    write_json(a.json, out)


if __name__ == "__main__":
    main()
