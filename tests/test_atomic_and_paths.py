from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rhymer import paths
from rhymer.atomic import atomic_write_bytes, atomic_write_json


def test_atomic_write_replaces_whole_file_and_keeps_mode(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "f.json"
    atomic_write_json(target, {"a": 1})
    os.chmod(target, 0o600)
    atomic_write_json(target, {"a": 2})
    assert json.loads(target.read_text()) == {"a": 2}
    assert target.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in target.parent.iterdir()] == ["f.json"]  # no temp files left


def test_failed_atomic_write_leaves_old_file(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "f.bin"
    atomic_write_bytes(target, b"old")

    def crash(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old" and len(list(tmp_path.iterdir())) == 1


def test_default_model_found_from_another_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert paths.default_model_dir().is_absolute()
    assert (paths.default_model_dir() / "config.json").is_file()
    assert paths.default_corpus().name == "pd_rhyming_couplets.txt"
    (tmp_path / "models" / "default").mkdir(parents=True)
    assert paths.default_model_dir() == Path("models/default")  # the current folder wins
