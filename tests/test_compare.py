from __future__ import annotations

import json
from pathlib import Path

import pytest

from rhymer.cli import main
from rhymer.compare import SystemResult, human_couplets, resolve_corpus, run_compare, score
from rhymer.corpus import heldout_split, read_corpus
from rhymer.errors import RhymerError
from rhymer.metrics import CharNgram, CorpusIndex


def test_score_on_hand_made_couplets() -> None:
    train = ["the cat sat on the mat", "a dog in the fog"]
    res = SystemResult("x", attempts=4)
    res.couplets = [("I saw a cat", "upon a mat"), ("the cat sat on the mat", "a dog ran")]
    score(res, CorpusIndex(train), CharNgram(train), seed=0)
    m = res.metrics
    assert m["success"].value == 0.5  # 2 couplets out of 4 attempts
    assert m["end_rhyme"].value == 0.5  # cat/mat rhymes, mat/ran does not
    assert m["copied"].value == 0.25  # one of four lines is a corpus line
    # longest shared runs: "cat", "a", all six words, "a dog"
    assert m["longest_shared_run"].value == pytest.approx((1 + 1 + 6 + 2) / 4)
    assert m["end_rhyme"].lo <= m["end_rhyme"].value <= m["end_rhyme"].hi


def test_human_couplets_are_aligned_pairs() -> None:
    assert human_couplets(["a day", "a way", "the sun", "no end", "--"]) == [
        ("a day", "a way"),
        ("the sun", "no end"),
    ]


def test_human_baseline_rhymes_on_the_default_corpus() -> None:
    corpus = Path(__file__).resolve().parent.parent / "corpora" / "pd_rhyming_couplets.txt"
    held = heldout_split(read_corpus(corpus))[1]
    res = SystemResult("human", couplets=human_couplets(held))
    res.attempts = len(res.couplets)
    score(res, CorpusIndex(held[:10]), CharNgram(held[:10]), seed=0)
    assert len(res.couplets) > 1000 and res.metrics["end_rhyme"].value >= 0.99


def test_run_compare_scores_all_three(tiny_model_both: Path, small_corpus: Path) -> None:
    seen = []
    result = run_compare(
        tiny_model_both, n=6, corpus=small_corpus, on_progress=lambda d, t: seen.append((d, t))
    )
    names = [s.name for s in result.systems]
    assert names == ["lstm", "markov", "human"] and seen[-1] == (12, 12)
    human = result.systems[2]
    assert human.metrics["end_rhyme"].value == 1.0 and len(human.couplets) == 6
    lstm = result.systems[0]
    assert lstm.attempts == 6 and lstm.metrics["latency_p50_ms"].value > 0
    data = json.loads(json.dumps(result.to_dict()))
    assert set(data["systems"]) == {"lstm", "markov", "human"}
    assert (
        data["systems"]["lstm"]["metrics"]["end_rhyme"]["value"] == lstm.metrics["end_rhyme"].value
    )
    assert len(result.table().rows) == len(lstm.metrics)


def test_corpus_must_match_the_model(tiny_model_both: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.txt"
    other.write_text("a different corpus\nentirely\n")
    with pytest.raises(RhymerError, match="not the corpus"):
        resolve_corpus(tiny_model_both, other)


def test_compare_cli_with_seed_file(
    tiny_model_both: Path, small_corpus: Path, tmp_path: Path, capsys
) -> None:
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("night\nday\n")
    out = tmp_path / "cmp.json"
    with pytest.raises(SystemExit) as exc:
        main(
            [
                "compare",
                "--model",
                str(tiny_model_both),
                "--seeds",
                str(seeds),
                "--n",
                "2",
                "--corpus",
                str(small_corpus),
                "--json",
                str(out),
            ]
        )
    assert exc.value.code == 0
    assert "end rhyme" in capsys.readouterr().out
    data = json.loads(out.read_text())
    assert data["settings"]["pairs"] == "seed file" and data["settings"]["n"] == 2
    with pytest.raises(SystemExit) as exc:
        main(["compare", "--model", str(tiny_model_both), "--seeds", str(tmp_path / "none")])
    assert exc.value.code == 1
