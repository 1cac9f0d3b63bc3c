from __future__ import annotations

import numpy as np
import pytest
import torch

from rhymer.model import UNK, CharLSTM, ModelConfig
from rhymer.sampler import Sampler, log_softmax

CHARS = "\nab c.xyz"
NEWLINE = 1  # token of "\n": chars[0]


def make_model(layers: int = 2, seed: int = 0) -> CharLSTM:
    torch.manual_seed(seed)
    return CharLSTM(ModelConfig(CHARS, n_layers=layers, n_hidden=16, n_embd=8, dropout=0.0)).eval()


def reference(model: CharLSTM, seq: list[int]) -> tuple[torch.Tensor, tuple, float]:
    """Logits after `seq`, the final state and the log-prob of seq[1:], from nn.LSTM."""
    with torch.no_grad():
        logits, (h, c) = model(torch.tensor([seq]))
    lsm = torch.log_softmax(logits[0], dim=1)
    lp = sum(float(lsm[t, seq[t + 1]]) for t in range(len(seq) - 1))
    return logits[0, -1], (h[:, 0], c[:, 0]), lp


@pytest.mark.parametrize("layers", [1, 3])
def test_prime_shares_prefixes_and_matches_nn_lstm(layers: int) -> None:
    model = make_model(layers)
    seqs = [[1, 2, 3], [1, 2, 4], [1, 5], [1, 2, 3, 6], [1], [7, 8, 2, 2, 2], [1, 2, 3]]
    logits, (hs, cs), logprob = Sampler.from_model(model).prime(seqs)
    assert logits.shape == (len(seqs), model.cfg.vocab_size) and logprob.shape == (len(seqs),)
    for r, seq in enumerate(seqs):
        ref_logits, (ref_h, ref_c), ref_lp = reference(model, seq)
        assert np.allclose(logits[r], ref_logits.numpy(), atol=1e-5), seq
        for i in range(layers):
            assert np.allclose(hs[i][r], ref_h[i].numpy(), atol=1e-5)
            assert np.allclose(cs[i][r], ref_c[i].numpy(), atol=1e-5)
        assert logprob[r] == pytest.approx(ref_lp, abs=1e-4)


def test_prime_runs_each_shared_prefix_once() -> None:
    sampler = Sampler.from_model(make_model())
    calls: list[int] = []
    step = sampler.step

    def counting(tok: np.ndarray, state: tuple) -> tuple:
        calls.append(len(tok))
        return step(tok, state)

    sampler.step = counting  # type: ignore[method-assign]
    sampler.prime([[1, 2, 3], [1, 2, 4], [1, 2, 3]])
    assert calls == [1, 1, 2]  # "1", then "1 2", then "1 2 3" and "1 2 4"


def test_prime_rejects_empty_input() -> None:
    sampler = Sampler.from_model(make_model())
    with pytest.raises(ValueError):
        sampler.prime([])
    with pytest.raises(ValueError):
        sampler.prime([[1], []])


def continue_from(sampler: Sampler, n: int, seed: int, **kwargs: object) -> object:
    logits, state, _ = sampler.prime([[NEWLINE]] * n)
    options = {"newline": NEWLINE, "temperature": 1.0, "max_len": 30} | kwargs
    return sampler.continue_lines(logits, state, rng=np.random.default_rng(seed), **options)


def test_continue_lines_scores_what_it_samples() -> None:
    model = make_model()
    out = continue_from(Sampler.from_model(model), 24, seed=1, max_len=12)
    assert len(out.tokens) == 24
    assert out.ended.any() and not out.ended.all()  # some lines end, some hit the cap
    for r, toks in enumerate(out.tokens):
        assert UNK not in toks and NEWLINE not in toks
        assert len(toks) < 12 if out.ended[r] else len(toks) == 12
        predicted = toks + [NEWLINE] if out.ended[r] else toks
        _, _, lp = reference(model, [NEWLINE, *predicted])
        assert out.logprob[r] == pytest.approx(lp, abs=1e-4)


def test_first_banned_tokens_never_come_first() -> None:
    banned = np.zeros(len(CHARS) + 1, dtype=bool)
    banned[[NEWLINE, 2, 3]] = True  # no line break, "a" or "b" right after the prime
    out = continue_from(Sampler.from_model(make_model()), 200, seed=2, first_banned=banned)
    firsts = {toks[0] for toks in out.tokens if toks}
    assert firsts and not firsts & {NEWLINE, 2, 3, UNK}
    assert all(out.tokens)  # the line break was banned at the first step, so no empty line


def test_sampling_follows_the_tempered_distribution() -> None:
    sampler = Sampler.from_model(make_model())
    n = 20_000
    row = np.array([3.0, 0.5, 1.0, -1.0, 2.0, 0.0, 0.0, -2.0, 1.5, 0.3], dtype=np.float32)
    logits = np.tile(row, (n, 1))
    state = sampler.zero_state(n)
    for temperature in (1.0, 0.5):
        out = sampler.continue_lines(
            logits,
            state,
            newline=NEWLINE,
            temperature=temperature,
            max_len=1,
            rng=np.random.default_rng(3),
        )
        first = np.array([toks[0] if toks else NEWLINE for toks in out.tokens])
        freq = np.bincount(first, minlength=len(row)) / n
        want = np.exp(log_softmax(row[None, 1:] / temperature))[0]  # UNK (token 0) excluded
        assert freq[UNK] == 0
        assert np.allclose(freq[1:], want, atol=0.015), (freq, want)


def test_rows_leave_the_batch_and_the_loop_stops_when_all_ended() -> None:
    sampler = Sampler.from_model(make_model(seed=4))
    sizes: list[int] = []
    step = sampler.step

    def counting(tok: np.ndarray, state: tuple) -> tuple:
        sizes.append(len(tok))
        return step(tok, state)

    logits, state, _ = sampler.prime([[NEWLINE]] * 16)
    sampler.step = counting  # type: ignore[method-assign]
    out = sampler.continue_lines(
        logits,
        state,
        newline=NEWLINE,
        temperature=1.0,
        max_len=200,
        rng=np.random.default_rng(5),
    )
    assert out.ended.all()
    longest = max(len(t) for t in out.tokens)
    assert len(sizes) == longest  # no step after the last line break
    assert sizes == sorted(sizes, reverse=True) and sizes[0] <= 16
    for t, size in enumerate(sizes):
        assert size == sum(len(toks) > t for toks in out.tokens)


def test_same_generator_seed_same_lines() -> None:
    sampler = Sampler.from_model(make_model())
    a = continue_from(sampler, 8, seed=6)
    b = continue_from(sampler, 8, seed=6)
    c = continue_from(sampler, 8, seed=7)
    assert a.tokens == b.tokens and np.array_equal(a.logprob, b.logprob)
    assert a.tokens != c.tokens


@pytest.mark.parametrize("layers", [1, 3])
def test_onnx_float32_step_matches_the_numpy_step(layers: int) -> None:
    from rhymer.onnx_step import OnnxStep

    model = make_model(layers, seed=5)
    sampler = Sampler.from_model(model)
    weights = {k: v.numpy() for k, v in model.state_dict().items()}
    onnx = OnnxStep(weights, model.cfg, int8=False)
    rng = np.random.default_rng(0)
    tok = np.array([1, 4, 2, 8, 0])
    hs = [rng.normal(size=(5, 16)).astype(np.float32) for _ in range(layers)]
    cs = [rng.normal(size=(5, 16)).astype(np.float32) for _ in range(layers)]
    want, (want_h, want_c) = sampler.step(tok, (hs, cs))
    got, got_h, got_c = onnx.step(tok, hs, cs)
    assert np.allclose(got, want, atol=1e-5)
    for i in range(layers):
        assert np.allclose(got_h[i], want_h[i], atol=1e-5)
        assert np.allclose(got_c[i], want_c[i], atol=1e-5)


@pytest.mark.parametrize("temperature", [0.5, 1.0])
def test_onnx_draw_matches_the_numpy_draw(temperature: float) -> None:
    from rhymer.onnx_step import OnnxStep

    model = make_model(2, seed=3)
    sampler = Sampler.from_model(model)
    weights = {k: v.numpy() for k, v in model.state_dict().items()}
    onnx = OnnxStep(weights, model.cfg, int8=False)
    rng = np.random.default_rng(1)
    tok = rng.integers(0, model.cfg.vocab_size, 400)
    hs = [rng.normal(size=(400, 16)).astype(np.float32) for _ in range(2)]
    cs = [rng.normal(size=(400, 16)).astype(np.float32) for _ in range(2)]
    u = rng.random(400, dtype=np.float32)
    want_tok, want_lp, _ = sampler.step_draw(tok, (hs, cs), u, 1 / temperature)
    got_tok, got_lp, _, _ = onnx.step_draw(tok, hs, cs, u, 1 / temperature)
    assert UNK not in got_tok and len(set(got_tok.tolist())) > 3
    assert np.mean(got_tok == want_tok) > 0.99  # a u on a CDF boundary may round either way
    same = got_tok == want_tok
    assert np.allclose(got_lp[same], want_lp[same], atol=1e-5)


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_int8_sampler_stays_close_to_float32(layers: int) -> None:
    model = make_model(layers=layers, seed=8)
    exact, fast = Sampler.from_model(model), Sampler.from_model(model, int8=True)
    assert fast.int8 and not exact.int8, fast.fallback_reason
    seqs = [[NEWLINE, 2, 3, 4, 5, 6], [NEWLINE, 7, 8, 9]]
    a, _, lp_a = exact.prime(seqs)
    b, _, lp_b = fast.prime(seqs)
    assert not np.array_equal(a, b)  # really another kernel
    assert np.allclose(np.exp(log_softmax(a)), np.exp(log_softmax(b)), atol=0.02)
    assert np.allclose(lp_a, lp_b, atol=0.1)


def test_int8_falls_back_to_float32_without_onnxruntime(monkeypatch: pytest.MonkeyPatch) -> None:
    import rhymer.onnx_step

    def missing(*_: object, **__: object) -> None:
        raise RuntimeError("Could not find an implementation for DynamicQuantizeLSTM")

    monkeypatch.setattr(rhymer.onnx_step, "OnnxStep", missing)
    model = make_model(seed=9)
    sampler = Sampler.from_model(model, int8=True)
    assert not sampler.int8 and "DynamicQuantizeLSTM" in (sampler.fallback_reason or "")
    a, _, _ = sampler.prime([[NEWLINE, 2]])
    b, _, _ = Sampler.from_model(model).prime([[NEWLINE, 2]])
    assert np.array_equal(a, b)
