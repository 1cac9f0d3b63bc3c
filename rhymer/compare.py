"""`rhymer compare`: the LSTM, the Markov chain and held-out human couplets, scored alike.

All three get the same rhyme pairs: by default the end words of N held-out human couplets
(so the human baseline is the same couplets), or seed words from a file with partners chosen
by the couplet maker. Each system's couplets then go through the same metrics.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table

from rhymer import metrics
from rhymer.corpus import heldout_split, read_corpus
from rhymer.errors import RhymerError
from rhymer.generate import maker_for
from rhymer.paths import default_corpus
from rhymer.store import read_config
from rhymer.text import last_word

SYSTEMS = ("lstm", "markov", "human")


@dataclass
class Metric:
    """One number, with a 95% bootstrap interval when it is a mean over couplets or lines."""

    value: float
    lo: float | None = None
    hi: float | None = None

    def __str__(self) -> str:
        if self.value != self.value:  # nan
            return "-"
        digits = 0 if abs(self.value) >= 10 else 2
        if self.lo is None:
            return f"{self.value:.{digits}f}"
        return f"{self.value:.{digits}f} [{self.lo:.{digits}f}, {self.hi:.{digits}f}]"


@dataclass
class SystemResult:
    """Everything measured for one system."""

    name: str
    couplets: list[tuple[str, str]] = field(default_factory=list)
    attempts: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    metrics: dict[str, Metric] = field(default_factory=dict)


@dataclass
class CompareResult:
    """The comparison of all systems, printable and serialisable."""

    systems: list[SystemResult]
    settings: dict[str, Any]

    def table(self) -> Table:
        table = Table(title=f"rhymer compare: {self.settings['n']} rhyme pairs, 95% bootstrap CI")
        table.add_column("metric")
        for s in self.systems:
            table.add_column(s.name, justify="right")
        for key, label in METRIC_LABELS.items():
            table.add_row(
                label, *[str(s.metrics.get(key, Metric(float("nan")))) for s in self.systems]
            )
        return table

    def to_dict(self) -> dict[str, Any]:
        return {
            "settings": self.settings,
            "systems": {
                s.name: {
                    "attempts": s.attempts,
                    "metrics": {k: vars(m) for k, m in s.metrics.items()},
                    "couplets": [list(c) for c in s.couplets],
                }
                for s in self.systems
            },
        }


METRIC_LABELS = {
    "success": "success rate",
    "latency_p50_ms": "latency p50 (ms)",
    "latency_p95_ms": "latency p95 (ms)",
    "end_rhyme": "end rhyme (CMUdict)",
    "slant_rhyme": "any rhyme (incl. slant)",
    "rhyme_density": "rhyme density",
    "syllable_gap": "syllable gap",
    "balanced": "balanced (ratio >= 0.85)",
    "copied": "lines copied from corpus",
    "longest_shared_run": "longest run shared (words)",
    "novel_4grams": "novel word 4-grams",
    "distinct_2": "distinct-2",
    "fluency_bpc": "n-gram bits/char (lower better)",
}


def _mean(values: list[float], seed: int) -> Metric:
    mean, lo, hi = metrics.bootstrap_ci(values, seed=seed)
    return Metric(mean, lo, hi)


def score(
    result: SystemResult, index: metrics.CorpusIndex, judge: metrics.CharNgram, seed: int
) -> None:
    """Fill `result.metrics` from its couplets and timings."""
    cs, m = result.couplets, result.metrics
    lines = [ln for c in cs for ln in c]
    m["success"] = _mean([1.0] * len(cs) + [0.0] * (result.attempts - len(cs)), seed)
    if result.latencies_ms:
        m["latency_p50_ms"] = Metric(metrics.percentile(result.latencies_ms, 50))
        m["latency_p95_ms"] = Metric(metrics.percentile(result.latencies_ms, 95))
    m["end_rhyme"] = _mean([float(metrics.end_rhyme(c)) for c in cs], seed)
    m["slant_rhyme"] = _mean([float(metrics.slant_rhyme(c)) for c in cs], seed)
    m["rhyme_density"] = _mean([metrics.rhyme_density(list(c)) for c in cs], seed)
    m["syllable_gap"] = _mean([float(metrics.syllable_gap(c)) for c in cs], seed)
    m["balanced"] = _mean([float(metrics.balanced(c)) for c in cs], seed)
    m["copied"] = _mean([float(index.copied(ln)) for ln in lines], seed)
    m["longest_shared_run"] = _mean([float(index.longest_shared_run(ln)) for ln in lines], seed)
    m["novel_4grams"] = Metric(index.novel_4gram_share(lines))
    m["distinct_2"] = Metric(metrics.distinct_n(lines, 2))
    m["fluency_bpc"] = _mean([judge.bits_per_char(ln) for ln in lines], seed)


def resolve_corpus(model_dir: Path, corpus: Path | None) -> Path:
    """The corpus a model was trained on, checked against the sha256 in its config."""
    config = read_config(model_dir)
    want = config.get("corpus_sha256")
    if corpus is None:
        options = [Path(p) for p in (config.get("corpus_path"),) if p]
        if config.get("corpus"):
            options += [Path("corpora") / config["corpus"]]
            options += [Path(model_dir).resolve().parent.parent / "corpora" / config["corpus"]]
            options += [default_corpus().parent / config["corpus"]]
        found = [p for p in options if p.is_file()]
        if not found:
            raise RhymerError(f"Cannot find the corpus of {model_dir}; pass it with --corpus.")
        corpus = found[0]
    if want and hashlib.sha256(Path(corpus).read_bytes()).hexdigest() != want:
        raise RhymerError(f"{corpus} is not the corpus {model_dir} was trained on.")
    return Path(corpus)


def human_couplets(held: list[str]) -> list[tuple[str, str]]:
    """Held-out line pairs (2i, 2i+1) that both end in a word."""
    pairs = [(held[i], held[i + 1]) for i in range(0, len(held) - 1, 2)]
    return [p for p in pairs if last_word(p[0]) and last_word(p[1])]


def run_compare(
    model_dir: Path,
    *,
    n: int = 200,
    seeds: list[str] | None = None,
    rng_seed: int = 0,
    corpus: Path | None = None,
    k: int = 16,
    temperature: float = 0.8,
    on_progress: Callable[[int, int], None] | None = None,
) -> CompareResult:
    """Score LSTM, Markov and human couplets on the same N rhyme pairs."""
    if n < 1:
        raise RhymerError("--n must be at least 1.")
    model_dir = Path(model_dir)
    corpus = resolve_corpus(model_dir, corpus)
    train, held = heldout_split(read_corpus(corpus))
    rng = random.Random(rng_seed)
    humans = human_couplets(held)
    if not humans:
        raise RhymerError("The corpus has too few held-out lines for a human baseline.")
    humans = rng.sample(humans, min(n, len(humans)))
    makers = {name: maker_for(model_dir, name) for name in ("lstm", "markov")}
    if seeds:
        pairs = []
        for seed in seeds[:n]:
            partners = makers["lstm"].partners(seed.strip().lower())
            if partners:
                pairs.append(
                    (seed.strip().lower(), partners[rng.randrange(min(5, len(partners)))][0])
                )
        if not pairs:
            raise RhymerError("None of the seed words has a rhyme in the corpus.")
    else:
        pairs = [(last_word(a) or "", last_word(b) or "") for a, b in humans]
    results = {name: SystemResult(name) for name in SYSTEMS}
    results["human"].couplets = list(humans)
    results["human"].attempts = len(humans)
    total = len(pairs) * len(makers)
    done = 0
    for i, (w1, w2) in enumerate(pairs):
        for name, maker in makers.items():
            res = results[name]
            res.attempts += 1
            start = time.perf_counter()
            try:
                c = maker.make(
                    w1, w2, k=k, temperature=temperature, rng_seed=rng_seed * 100_003 + i
                )
            except RhymerError:
                c = None
            res.latencies_ms.append((time.perf_counter() - start) * 1000)
            if c is not None:
                res.couplets.append(c.lines)
            done += 1
            if on_progress:
                on_progress(done, total)
    index = metrics.CorpusIndex(train)
    judge = metrics.CharNgram(train)
    systems = [results[name] for name in SYSTEMS]
    for s in systems:
        score(s, index, judge, rng_seed)
    settings = {
        "model": str(model_dir),
        "corpus": str(corpus),
        "n": len(pairs),
        "k": k,
        "temperature": temperature,
        "rng_seed": rng_seed,
        "pairs": "seed file" if seeds else "held-out human couplets",
    }
    return CompareResult(systems, settings)
