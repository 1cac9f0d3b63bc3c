from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from rhymer.errors import RhymerError
from rhymer.model import UNK, CharLSTM, ModelConfig, Vocab
from rhymer.sampler import Sampler
from rhymer.store import CONFIG, WEIGHTS, load_model, save_model


def make_model(chars: str = "\nab c.", layers: int = 2) -> CharLSTM:
    torch.manual_seed(0)
    return CharLSTM(ModelConfig(chars, n_layers=layers, n_hidden=16, n_embd=8, dropout=0.0))


def test_vocab_reserves_unknown_and_round_trips() -> None:
    v = Vocab.from_text("hello\nworld")
    ids = v.encode("low\nq")
    assert ids[-1] == UNK and UNK not in ids[:-1]
    assert v.decode(ids[:-1]) == "low\n"
    assert len(v) == len(set("hello\nworld")) + 1


def test_forward_shapes_and_state() -> None:
    m = make_model()
    logits, (h, c) = m(torch.randint(0, 7, (3, 5)))
    assert logits.shape == (3, 5, 7)
    assert h.shape == (2, 3, 16) and c.shape == (2, 3, 16)


@pytest.mark.parametrize("layers", [1, 3])
def test_sampler_step_matches_nn_lstm(layers: int) -> None:
    m = make_model(layers=layers).eval()
    x = torch.randint(0, 7, (4, 9))
    with torch.no_grad():
        ref, _ = m(x)
    s = Sampler.from_model(m)
    state = s.zero_state(4)
    for t in range(9):
        logits, state = s.step(x[:, t].numpy(), state)
        assert np.allclose(logits, ref[:, t].numpy(), atol=1e-5)


def test_prime_handles_ragged_sequences() -> None:
    m = make_model().eval()
    s = Sampler.from_model(m)
    seqs = [[1, 2, 3, 4], [1, 5]]
    logits, _, logprob = s.prime(seqs)
    with torch.no_grad():
        ref_a, _ = m(torch.tensor([seqs[0]]))
        ref_b, _ = m(torch.tensor([seqs[1]]))
    assert np.allclose(logits[0], ref_a[0, -1].numpy(), atol=1e-5)
    assert np.allclose(logits[1], ref_b[0, -1].numpy(), atol=1e-5)
    lp = torch.log_softmax(ref_b[0, 0], dim=0)[5]
    assert logprob[1] == pytest.approx(lp.item(), abs=1e-5)


def test_save_load_round_trip(tmp_path: Path) -> None:
    m = make_model()
    save_model(m, tmp_path, {"heldout_bpc": 2.0})
    loaded, config = load_model(tmp_path)
    assert config["reversed"] is True and config["heldout_bpc"] == 2.0
    x = torch.randint(0, 7, (2, 4))
    with torch.no_grad():
        assert torch.equal(m.eval()(x)[0], loaded(x)[0])


def test_broken_model_folders_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(RhymerError, match="does not exist"):
        load_model(tmp_path / "nope")
    save_model(make_model(), tmp_path, {})
    weights = (tmp_path / WEIGHTS).read_bytes()
    (tmp_path / WEIGHTS).write_bytes(weights[: len(weights) // 2])
    with pytest.raises(RhymerError, match="does not match"):
        load_model(tmp_path)
    config = json.loads((tmp_path / CONFIG).read_text())
    config.pop("weights_sha256")
    (tmp_path / CONFIG).write_text(json.dumps(config))
    with pytest.raises(RhymerError, match="damaged or not a safetensors"):
        load_model(tmp_path)
    # A pickle is refused without ever being unpickled.
    (tmp_path / WEIGHTS).write_bytes(pickle.dumps({"x": 1}))
    with pytest.raises(RhymerError, match="not a safetensors"):
        load_model(tmp_path)
    (tmp_path / CONFIG).write_text('{"model": {"chars": "ab", "n_hidden": 99')
    with pytest.raises(RhymerError, match="not valid JSON"):
        load_model(tmp_path)


def test_mismatched_config_is_refused(tmp_path: Path) -> None:
    save_model(make_model(), tmp_path, {})
    config = json.loads((tmp_path / CONFIG).read_text())
    config["model"]["n_hidden"] = 32
    config.pop("weights_sha256")
    (tmp_path / CONFIG).write_text(json.dumps(config))
    with pytest.raises(RhymerError, match="does not fit"):
        load_model(tmp_path)
    config["reversed"] = False
    (tmp_path / CONFIG).write_text(json.dumps(config))
    with pytest.raises(RhymerError, match="reversed"):
        load_model(tmp_path)


def test_weights_that_do_not_fit_the_config_are_refused(tmp_path: Path) -> None:
    from safetensors.numpy import save as save_numpy

    from rhymer.store import read_weights

    save_model(make_model(), tmp_path, {})
    cfg, config, arrays = read_weights(tmp_path)
    assert set(arrays) == set(cfg.shapes()) and config["reversed"] is True
    config.pop("weights_sha256")
    arrays["extra"] = arrays["head.bias"].copy()  # a key no CharLSTM has
    (tmp_path / WEIGHTS).write_bytes(save_numpy(arrays))
    (tmp_path / CONFIG).write_text(json.dumps(config))
    with pytest.raises(RhymerError, match="does not fit"):
        read_weights(tmp_path)
    config["model"]["n_hidden"] = -4
    (tmp_path / CONFIG).write_text(json.dumps(config))
    with pytest.raises(RhymerError, match="invalid model sizes"):
        read_weights(tmp_path)
