from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from rhymer.errors import RhymerError
from rhymer.store import load_model
from rhymer.train import (
    CHECKPOINT,
    CHECKPOINT_META,
    CPU_AUTO_BF16,
    FastDropout,
    Trainer,
    TrainSettings,
    choose_amp,
    default_batch,
    max_line_chars,
    pick_device,
    preset_for,
    reversed_stream,
)

HALF, BF16 = torch.float16, torch.bfloat16
TINY = dict(n_layers=1, n_hidden=32, n_embd=16, seq_len=32, batch_size=16, dropout=0.0, lr=5e-3)


def test_reversed_stream_puts_line_break_first() -> None:
    assert reversed_stream(["ab", "cd"]) == "\ndc\nba"


def test_presets_grow_with_the_corpus() -> None:
    sizes = [preset_for(n)[1]["n_hidden"] for n in (10_000, 2_000_000, 50_000_000)]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    assert preset_for(2_300_000)[1]["n_hidden"] == 256


def test_max_line_chars_is_above_the_longest_common_line() -> None:
    lines = ["x" * 40] * 1999 + ["y" * 500]
    assert 40 < max_line_chars(lines) < 100


def test_training_lowers_heldout_loss_and_writes_a_model(
    small_corpus: Path, tmp_path: Path
) -> None:
    reports = []
    t = Trainer(small_corpus, tmp_path / "m", TrainSettings(**TINY, epochs=2), command="x")
    result = t.run(on_eval=reports.append)
    assert len(reports) == 2
    assert reports[1].heldout_bpc < reports[0].heldout_bpc < 7.0
    assert set(reports[0].samples) == {0.5, 0.8, 1.0}
    model, config = load_model(tmp_path / "m")
    assert config["reversed"] is True and config["train_command"] == "x"
    assert config["heldout_bpc"] == pytest.approx(result["best_bpc"], abs=1e-3)
    assert len(config["corpus_sha256"]) == 64
    assert (tmp_path / "m" / "lexicon.json").is_file()


def test_resume_continues_from_the_checkpoint(small_corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "m"
    Trainer(small_corpus, out, TrainSettings(**TINY, epochs=1)).run()
    first = json.loads((out / CHECKPOINT_META).read_text())
    t = Trainer(small_corpus, out, TrainSettings(epochs=1, n_hidden=999), resume=True)
    assert t.settings.n_hidden == 32  # the checkpoint's sizes win over new flags
    assert t.step == first["step"]
    t.run()
    second = json.loads((out / CHECKPOINT_META).read_text())
    assert second["step"] == 2 * first["step"] and second["epoch"] == 2


def test_resume_without_checkpoint_or_with_changed_corpus(
    small_corpus: Path, tmp_path: Path
) -> None:
    with pytest.raises(RhymerError, match="Nothing to resume"):
        Trainer(small_corpus, tmp_path / "none", TrainSettings(**TINY), resume=True)
    out = tmp_path / "m"
    Trainer(small_corpus, out, TrainSettings(**TINY, epochs=1)).run()
    changed = tmp_path / "changed.txt"
    changed.write_text(small_corpus.read_text() + "one more line\n")
    with pytest.raises(RhymerError, match="corpus changed"):
        Trainer(changed, out, TrainSettings(**TINY), resume=True)


def test_interrupt_keeps_checkpoint_and_best_model(small_corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "m"

    def stop_at_20(info: dict) -> None:
        if info["step"] == 20:
            raise KeyboardInterrupt

    result = Trainer(small_corpus, out, TrainSettings(**TINY, epochs=5)).run(on_step=stop_at_20)
    assert result["interrupted"] and result["steps"] == 20
    assert (out / CHECKPOINT).is_file()
    load_model(out)  # a usable model exists even though no epoch finished


def test_too_small_corpus_is_a_clear_error(tmp_path: Path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("a short line\nanother one\n")
    with pytest.raises(RhymerError, match="too small for sequence length 32"):
        Trainer(corpus, tmp_path / "m", TrainSettings(**TINY))


def test_cuda_without_a_gpu_is_a_clear_error(
    small_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RhymerError, match="no CUDA GPU is available"):
        Trainer(small_corpus, tmp_path / "m", TrainSettings(**TINY, device="cuda"))
    assert not (tmp_path / "m").exists()
    assert pick_device("auto").type in ("cpu", "mps")


def test_mixed_precision_choice() -> None:
    # This torch casts cuDNN's LSTM to fp16 under any autocast dtype: bf16 would not be bf16.
    probe_fp16 = dict(cuda_capability=(9, 0), cuda_bf16=True, cudnn_lstm_dtype_under_bf16=HALF)
    assert choose_amp("cuda", "auto", **probe_fp16) == HALF
    assert choose_amp("cuda", "fp16", **probe_fp16) == HALF
    with pytest.raises(RhymerError, match="fp16"):
        choose_amp("cuda", "bf16", **probe_fp16)
    probe_bf16 = dict(probe_fp16, cudnn_lstm_dtype_under_bf16=BF16)
    assert choose_amp("cuda", "auto", **probe_bf16) == BF16
    assert choose_amp("cuda", "bf16", **probe_bf16) == BF16
    assert choose_amp("cuda", "auto", **dict(probe_bf16, cuda_bf16=False)) == HALF
    assert choose_amp("cuda", "auto", **dict(probe_fp16, cuda_capability=(6, 1))) is None
    assert choose_amp("cuda", "fp32", **probe_fp16) is None
    assert choose_amp("cpu", "bf16") == BF16 and choose_amp("cpu", "fp32") is None
    assert choose_amp("cpu", "auto", cpu_fast_bf16=False) is None
    assert choose_amp("cpu", "auto", cpu_fast_bf16=True) == (BF16 if CPU_AUTO_BF16 else None)
    assert choose_amp("mps", "auto") is None
    with pytest.raises(RhymerError, match="CUDA GPU"):
        choose_amp("cpu", "fp16")
    with pytest.raises(RhymerError, match="Unknown precision"):
        choose_amp("cpu", "fp8")


def test_gpu_presets_are_bigger_and_batch_follows_the_device() -> None:
    for n in (10_000, 2_000_000, 50_000_000):
        cpu, gpu = preset_for(n, "cpu")[1], preset_for(n, "cuda")[1]
        assert gpu["n_hidden"] * gpu["n_layers"] > cpu["n_hidden"] * cpu["n_layers"]
    assert preset_for(2_000_000)[0] == preset_for(2_000_000, "cuda")[0] == "medium"
    assert default_batch("cuda") > default_batch("cpu") == 64


def test_bf16_training_on_the_cpu_learns_and_saves_fp32(small_corpus: Path, tmp_path: Path) -> None:
    t = Trainer(small_corpus, tmp_path / "m", TrainSettings(**TINY, epochs=2, precision="bf16"))
    assert t.amp == BF16
    t.run()
    first, second = (h["heldout_bpc"] for h in t.history)
    assert second < first < 7.0
    model, config = load_model(tmp_path / "m")
    assert config["precision"] == "bf16"
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_request_stop_ends_the_run_after_that_step(small_corpus: Path, tmp_path: Path) -> None:
    t = Trainer(small_corpus, tmp_path / "m", TrainSettings(**TINY, epochs=5))

    def stop_at_7(info: dict) -> None:
        if info["step"] == 7:
            t.request_stop()

    result = t.run(on_step=stop_at_7)
    assert result["steps"] == 7 and not result["interrupted"] and result["epochs"] == 0
    load_model(tmp_path / "m")


def test_resume_reads_checkpoints_with_unknown_or_missing_settings(
    small_corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "m"
    Trainer(small_corpus, out, TrainSettings(**TINY, epochs=1)).run()
    meta = json.loads((out / CHECKPOINT_META).read_text())
    del meta["settings"]["precision"]  # written before the setting existed
    meta["settings"]["from_the_future"] = 1
    (out / CHECKPOINT_META).write_text(json.dumps(meta))
    t = Trainer(small_corpus, out, TrainSettings(epochs=1, precision="fp32"), resume=True)
    assert t.settings.n_hidden == 32 and t.settings.precision == "fp32"
    t.run()
    assert json.loads((out / CHECKPOINT_META).read_text())["epoch"] == 2


def test_epoch_offsets_are_the_same_for_the_same_seed(small_corpus: Path, tmp_path: Path) -> None:
    a = Trainer(small_corpus, tmp_path / "a", TrainSettings(**TINY, seed=3))
    b = Trainer(small_corpus, tmp_path / "b", TrainSettings(**TINY, seed=3))

    def first_chars(t: Trainer) -> list[torch.Tensor]:
        out = []
        for epoch in range(6):
            t.epoch = epoch
            out.append(t._epoch_tracks(t.train_data)[0][:, :4])
        return out

    xa, xb = first_chars(a), first_chars(b)
    assert all(torch.equal(p, q) for p, q in zip(xa, xb, strict=True))
    assert xa[0].shape[0] == a.batch
    assert any(not torch.equal(xa[0], x) for x in xa[1:])  # a new offset each epoch


def test_fast_dropout_is_dropout(small_corpus: Path, tmp_path: Path) -> None:
    torch.manual_seed(0)
    drop = FastDropout(0.3).train()
    x = torch.ones(200, 1000, requires_grad=True)
    y = drop(x)
    kept = y != 0
    assert abs(kept.float().mean().item() - 0.7) < 0.005
    assert torch.allclose(y[kept], torch.full_like(y[kept], 1 / 0.7), rtol=1e-3)
    assert abs(y.mean().item() - 1.0) < 0.01  # the expectation is kept
    y.sum().backward()
    assert torch.equal(x.grad, y.detach())  # gradient flows through the kept units only
    assert torch.equal(drop.eval()(x), x) and torch.equal(FastDropout(0.0).train()(x), x)
    t = Trainer(small_corpus, tmp_path / "m", TrainSettings(**dict(TINY, dropout=0.2)))
    assert isinstance(t.model.drop, FastDropout) and t.model.drop.p == 0.2


def test_learning_rate_holds_then_decays_to_a_tenth(small_corpus: Path, tmp_path: Path) -> None:
    t = Trainer(small_corpus, tmp_path / "m", TrainSettings(**TINY))
    lrs = [t.lr_at(p / 100) for p in range(-5, 106)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:], strict=False))  # never goes up
    assert t.lr_at(0.0) == t.lr_at(0.5) == TINY["lr"]  # the full rate for most of the run
    assert t.lr_at(1.0) == pytest.approx(TINY["lr"] / 10) == t.lr_at(1.5)
