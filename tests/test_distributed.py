from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from rhymer import distributed
from rhymer.errors import RhymerError
from rhymer.store import load_model
from rhymer.train import Trainer, TrainSettings

ROOT = Path(__file__).resolve().parent.parent
TINY = dict(n_layers=1, n_hidden=32, n_embd=16, seq_len=32, batch_size=16, dropout=0.0, lr=5e-3)

# One torchrun worker: train, then say what this rank saw.
WORKER = """
import json, sys, torch
torch.set_num_threads(1)
from rhymer.train import Trainer, TrainSettings
settings = TrainSettings(**json.loads(sys.argv[3]))
t = Trainer(sys.argv[1], sys.argv[2], settings, command="ddp")
ctx = t.dist
facts = {"rank": ctx.rank, "world": ctx.world_size, "backend": ctx.backend, "batch": t.batch}
calls = {"step": 0, "eval": 0}
def on_step(info):
    calls["step"] += 1
def on_eval(report):
    calls["eval"] += 1
result = t.run(on_step, on_eval)
facts |= {"steps": result["steps"], "best": result["best_bpc"], "calls": calls}
facts["history"] = t.history
with open(f"{sys.argv[2]}/rank{ctx.rank}.json", "w") as f:
    json.dump(facts, f)
"""


def test_single_process_without_torchrun_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    ctx = distributed.setup("cpu")
    assert not ctx.enabled and ctx.is_main and ctx.world_size == 1
    assert distributed.agree(ctx, [True, False]) == [True, False]
    assert distributed.all_sum(ctx, [1.5, 2.0]) == [1.5, 2.0]
    assert distributed.is_main_process()


def test_bad_torchrun_environment_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(RhymerError, match="WORLD_SIZE"):
        distributed.env_ranks()
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "2")
    with pytest.raises(RhymerError, match="RANK=2"):
        distributed.env_ranks()
    monkeypatch.setenv("RANK", "1")
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    assert distributed.env_ranks() == (1, 2, 1)
    assert not distributed.is_main_process()


def test_backend_follows_the_device() -> None:
    assert distributed.backend_for("cuda") == "nccl"
    assert distributed.backend_for("cpu") == "gloo"


def test_two_gloo_processes_train_like_one(small_corpus: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.txt"  # 1,200 lines: a few dozen steps an epoch
    corpus.write_text("\n".join(small_corpus.read_text().splitlines()[:1200]) + "\n")
    settings = dict(TINY, epochs=2, device="cpu")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # like each worker: one core each
    try:
        single = Trainer(corpus, tmp_path / "one", TrainSettings(**settings))
        single_result = single.run()
    finally:
        torch.set_num_threads(threads)

    out = tmp_path / "ddp"
    out.mkdir()
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    cmd += [str(script), str(corpus), str(out), json.dumps(settings)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]

    ranks = [json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["rank"] for r in ranks] == [0, 1] and {r["world"] for r in ranks} == {2}
    assert {r["backend"] for r in ranks} == {"gloo"}
    # Each rank reads half of the tracks, so an epoch takes about half the steps.
    assert ranks[0]["steps"] == ranks[1]["steps"]
    assert abs(2 * ranks[0]["steps"] - single_result["steps"]) <= 2
    assert ranks[0]["batch"] == single.batch
    # The ranks agree on every evaluation; only rank 0 reports.
    assert ranks[0]["history"] == ranks[1]["history"] and len(ranks[0]["history"]) == 2
    assert ranks[0]["calls"]["step"] == ranks[0]["steps"] and ranks[0]["calls"]["eval"] == 2
    assert ranks[1]["calls"] == {"step": 0, "eval": 0}

    # It trains: the held-out loss falls, far below a uniform guess.
    first, second = (h["heldout_bpc"] for h in ranks[0]["history"])
    assert second < first < 6.0
    # The model is the single-process model's shape, saved once, with the run's facts.
    ddp_model, config = load_model(out)
    one_model, _ = load_model(tmp_path / "one")
    ddp_state, one_state = ddp_model.state_dict(), one_model.state_dict()
    assert {k: v.shape for k, v in ddp_state.items()} == {k: v.shape for k, v in one_state.items()}
    assert config["processes"] == 2 and config["heldout_bpc"] == pytest.approx(
        ranks[0]["best"], abs=1e-3
    )
    weights = load_file(out / "model.safetensors")
    assert all(not v.isnan().any() for v in weights.values())
    assert (out / "checkpoint.safetensors").is_file() and (out / "lexicon.json").is_file()
