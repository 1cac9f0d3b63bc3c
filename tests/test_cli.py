"""The CLI end to end, through the same entry point as the `rhymer` script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rhymer.cli import main
from rhymer.rhymes import is_rhyme
from rhymer.text import last_word


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(args)
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def test_couplet_prints_two_rhyming_lines(tiny_model: Path, capsys) -> None:
    code, out, _ = run(["couplet", "--model", str(tiny_model), "--seed", "night"], capsys)
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 2 and last_word(lines[0]) == "night"
    assert is_rhyme("night", last_word(lines[1]))


def test_a_long_line_is_printed_as_one_line(
    tiny_model: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rhymer.generate
    from rhymer.couplet import Couplet

    long = " ".join(["and the long night"] * 12)  # 215 characters, wider than any terminal
    couplet = Couplet((long, "a short line in the light"), ("night", "light"), "perfect", 0, "lstm")
    monkeypatch.setattr(rhymer.generate, "make_couplets", lambda *a, **k: [[couplet]])
    code, out, _ = run(["couplet", "--model", str(tiny_model), "--seed", "night"], capsys)
    assert code == 0 and out.splitlines() == [long, "a short line in the light"]


def test_couplet_json_count_and_rng_seed(tiny_model: Path, capsys) -> None:
    args = ["couplet", "--model", str(tiny_model), "--count", "3", "--json", "--rng-seed", "4"]
    code, out, _ = run(args, capsys)
    rows = json.loads(out)
    assert code == 0 and len(rows) == 3
    for (c,) in rows:
        assert [last_word(x) for x in c["lines"]] == c["words"] and c["engine"] == "lstm"
    assert run(args, capsys)[1] == out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seed", ""], "empty"),
        (["--seed", "caf\u00e9"], "non-ASCII"),
        (["--seed", "hmm"], "No word in the corpus rhymes"),
        (["--seed", "night", "--temperature", "0"], "Temperature"),
        (["--seed", "night", "--temperature", "1e9"], "Temperature"),
    ],
)
def test_bad_couplet_input_is_one_sentence(tiny_model: Path, capsys, args, message) -> None:
    code, out, err = run(["couplet", "--model", str(tiny_model), *args], capsys)
    assert code == 1 and message in err and "Traceback" not in err + out
    assert len(err.strip().splitlines()) <= 2  # one sentence (rich may wrap it)


def test_missing_or_broken_model_folder(tmp_path: Path, tiny_model: Path, capsys) -> None:
    code, _, err = run(["couplet", "--model", str(tmp_path / "none")], capsys)
    assert code == 1 and "does not exist" in err
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in tiny_model.iterdir():
        (broken / f.name).write_bytes(f.read_bytes())
    (broken / "model.safetensors").write_bytes(b"\x80\x04junk")
    code, _, err = run(["couplet", "--model", str(broken)], capsys)
    assert code == 1 and "model.safetensors" in err and "Traceback" not in err


def test_bad_flag_is_a_usage_error(capsys) -> None:
    code, _, err = run(["couplet", "--candidates", "0"], capsys)
    assert code == 2 and "candidates" in err


def test_rhymes_lists_levels(tiny_model: Path, capsys) -> None:
    code, out, _ = run(["rhymes", "night", "--model", str(tiny_model)], capsys)
    assert code == 0 and "perfect" in out and "light" in out
    code, out, err = run(["rhymes", "gettin", "--model", str(tiny_model)], capsys)
    assert code == 0 and "not in CMUdict" in err


def test_rhymes_from_a_corpus_file(small_corpus: Path, capsys) -> None:
    code, out, _ = run(["rhymes", "day", "--corpus", str(small_corpus), "--limit", "3"], capsys)
    assert code == 0 and "perfect" in out
    code, _, err = run(["rhymes", "day", "--corpus", "/no/such/file.txt"], capsys)
    assert code == 1 and "does not exist" in err


def test_train_then_couplet_end_to_end(small_corpus: Path, tmp_path: Path, capsys) -> None:
    out_dir = tmp_path / "m"
    code, out, _ = run(
        [
            "train",
            str(small_corpus),
            "--out",
            str(out_dir),
            "--minutes",
            "0.15",
            "--hidden",
            "64",
            "--layers",
            "1",
            "--seq-len",
            "48",
        ],
        capsys,
    )
    assert code == 0 and "Best held-out loss" in out
    config = json.loads((out_dir / "config.json").read_text())
    flags = "--minutes 0.15 --hidden 64 --layers 1 --seq-len 48"
    assert config["train_command"] == f"rhymer train {small_corpus} --out {out_dir} {flags}"
    code, out, _ = run(["couplet", "--model", str(out_dir), "--seed", "day"], capsys)
    assert code == 0 and last_word(out.strip().splitlines()[0]) == "day"


def test_train_errors(tmp_path: Path, capsys) -> None:
    code, _, err = run(["train", str(tmp_path / "missing.txt")], capsys)
    assert code == 1 and "does not exist" in err
    binary = tmp_path / "img.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    code, _, err = run(["train", str(binary), "--out", str(tmp_path / "m")], capsys)
    assert code == 1 and "binary" in err.lower()
    code, _, err = run(["train", str(binary), "--device", "gpu"], capsys)
    assert code == 2


def test_corpus_build_prints_stats(tmp_path: Path, capsys) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    song = "[Chorus]\r\nI\u2019m on the road tonight\r\n\r\n\r\nAnd all my fears take flight\r\n"
    (raw / "song.txt").write_bytes(song.encode("utf-16"))
    out = tmp_path / "clean.txt"
    code, text, _ = run(["corpus", "build", str(raw), "-o", str(out)], capsys)
    assert code == 0
    assert out.read_text().splitlines() == [
        "I'm on the road tonight",
        "And all my fears take flight",
    ]
    assert "lines" in text.lower()


def test_python_dash_m_entry_point(tiny_model: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "rhymer", "couplet", "--model", str(tiny_model), "--seed", "zzz'"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and proc.stderr.strip()


def test_train_precision_flag_reaches_the_settings_and_config(
    small_corpus: Path, tmp_path: Path, capsys
) -> None:
    out_dir = tmp_path / "m"
    args = ["train", str(small_corpus), "--out", str(out_dir), "--engine", "lstm"]
    args += ["--epochs", "1", "--layers", "1", "--hidden", "32", "--seq-len", "32"]
    code, out, _ = run([*args, "--batch", "16", "--device", "cpu", "--precision", "bf16"], capsys)
    assert code == 0 and "(bf16)" in out
    config = json.loads((out_dir / "config.json").read_text())
    assert config["precision"] == "bf16" and config["settings"]["precision"] == "bf16"
    assert config["train_command"].endswith("--precision bf16")
    checkpoint = json.loads((out_dir / "checkpoint.json").read_text())
    assert checkpoint["settings"]["precision"] == "bf16"


@pytest.mark.parametrize(
    ("precision", "message"), [("fp16", "needs a CUDA GPU"), ("fp8", "Unknown precision")]
)
def test_train_precision_errors_are_one_sentence(
    small_corpus: Path, tmp_path: Path, capsys, precision: str, message: str
) -> None:
    out_dir = tmp_path / "m"
    args = ["train", str(small_corpus), "--out", str(out_dir), "--device", "cpu"]
    code, out, err = run([*args, "--precision", precision], capsys)
    assert code == 1 and message in err and "Traceback" not in err + out
    assert len(err.strip().splitlines()) == 1
    assert not out_dir.exists()  # refused before the Markov chain or anything else was written
