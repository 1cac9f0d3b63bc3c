"""Batched, step-by-step sampling from a trained CharLSTM, in numpy.

Sampling runs one character at a time, so the cost is per step, not per character: on a CPU a
step is mostly reading the weight matrices (3 MB for a 2x256 model, more than a core's L2
cache), plus a fixed overhead per array operation. So the weights are laid out once for the
step: the first layer's input projection is folded into the embedding (a row lookup instead of
a matmul), layers above multiply [input, h] by one stacked matrix, and the gates are reordered
(i, f, o, g) with the sigmoid gates' rows halved, so one tanh call serves all four gates
(sigmoid(x) = (1 + tanh(x / 2)) / 2). With `int8=True` (what `rhymer.generate` asks for) each
step and its draw run in onnxruntime on int8 LSTM kernels instead (`rhymer.onnx_step`); this
numpy step stays the fallback and the reference. Priming shares common prefixes, sampling
draws one uniform number per row, and rows that have ended their line drop out of the batch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rhymer.config import UNK, ModelConfig

if TYPE_CHECKING:
    from rhymer.model import CharLSTM
    from rhymer.onnx_step import OnnxStep

State = tuple[list[np.ndarray], list[np.ndarray]]
Dense = Callable[[np.ndarray], np.ndarray]  # x (B, in) -> x @ W + b (B, out), float32


@dataclass
class Sampled:
    """What a batch of continuations produced, per row."""

    tokens: list[list[int]]  # sampled ids, up to and without the line break
    logprob: np.ndarray  # summed model log-probability (temperature 1) incl. the line break
    ended: np.ndarray  # True where the row reached a line break within the cap


def _dense(weight: np.ndarray, bias: np.ndarray | None) -> Dense:
    """x @ weight.T (+ bias) in float32 through numpy's BLAS."""
    w_t = np.ascontiguousarray(weight.T, dtype=np.float32)
    if bias is None:
        return lambda x: x @ w_t
    b = bias.astype(np.float32)

    def dense(x: np.ndarray) -> np.ndarray:
        out = x @ w_t
        out += b
        return out

    return dense


def _gate_order(w: np.ndarray, hidden: int) -> np.ndarray:
    """Rows (i, f, g, o) as torch stores them, reordered (i, f, o, g), sigmoid rows halved."""
    i, f, g, o = (w[k * hidden : (k + 1) * hidden] for k in range(4))
    return np.concatenate([0.5 * i, 0.5 * f, 0.5 * o, g]).astype(np.float32)


class Sampler:
    """Fast batched inference for one CharLSTM on the CPU."""

    def __init__(
        self, weights: Mapping[str, np.ndarray], cfg: ModelConfig, *, int8: bool = False
    ) -> None:
        h = self.n_hidden = cfg.n_hidden
        self.n_layers, self.vocab_size = cfg.n_layers, cfg.vocab_size
        w = {k: np.asarray(v, dtype=np.float32) for k, v in weights.items()}
        bias = [
            _gate_order(w[f"lstm.bias_ih_l{i}"] + w[f"lstm.bias_hh_l{i}"], h)
            for i in range(cfg.n_layers)
        ]
        self.in0 = w["embed.weight"] @ _gate_order(w["lstm.weight_ih_l0"], h).T + bias[0]
        mats = [_gate_order(w["lstm.weight_hh_l0"], h)]
        mats += [
            _gate_order(
                np.concatenate([w[f"lstm.weight_ih_l{i}"], w[f"lstm.weight_hh_l{i}"]], 1), h
            )
            for i in range(1, cfg.n_layers)
        ]
        biases: list[np.ndarray | None] = [None, *bias[1:]]
        self.layers = [_dense(m, b) for m, b in zip(mats, biases, strict=True)]
        self._onnx: OnnxStep | None = None
        self.fallback_reason: str | None = None  # why int8 was asked for and not used
        if int8:
            try:
                from rhymer.onnx_step import OnnxStep

                self._onnx = OnnxStep(w, cfg, int8=True)
            except Exception as err:  # noqa: BLE001 - onnxruntime's errors derive from Exception
                # No onnxruntime, or a build without the int8 LSTM kernel: stay on numpy.
                self.fallback_reason = f"{type(err).__name__}: {err}"
        self.head = _dense(w["head.weight"], w["head.bias"])

    @classmethod
    def from_model(cls, model: CharLSTM, *, int8: bool = False) -> Sampler:
        """A sampler over a torch CharLSTM's current weights."""
        weights = {k: v.detach().float().cpu().numpy() for k, v in model.state_dict().items()}
        return cls(weights, model.cfg, int8=int8)

    @property
    def int8(self) -> bool:
        """Whether steps really run on onnxruntime's int8 kernels."""
        return self._onnx is not None

    def zero_state(self, n: int) -> State:
        z = [np.zeros((n, self.n_hidden), np.float32) for _ in range(self.n_layers)]
        return z, [t.copy() for t in z]

    def step(self, tok: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        """Feed one token per row; return next-token logits and the new state."""
        hs, cs = state
        if self._onnx is not None:
            logits, new_h, new_c = self._onnx.step(tok, hs, cs)
            return logits, (new_h, new_c)
        h = self.n_hidden
        new_h, new_c = [], []
        x = hs[0]
        for i, layer in enumerate(self.layers):
            if i == 0:
                z = layer(hs[0])
                z += self.in0[tok]
            else:
                z = layer(np.concatenate([x, hs[i]], axis=1))
            np.tanh(z, out=z)
            sig = z[:, : 3 * h]
            sig += 1.0  # 2 * sigmoid, the 1/2 is applied once per product below
            c = sig[:, h : 2 * h] * cs[i]
            c += sig[:, :h] * z[:, 3 * h :]
            c *= 0.5
            x = np.tanh(c)
            x *= sig[:, 2 * h : 3 * h]
            x *= 0.5
            new_h.append(x)
            new_c.append(c)
        return self.head(x), (new_h, new_c)

    def prime(self, seqs: list[list[int]]) -> tuple[np.ndarray, State, np.ndarray]:
        """Feed each sequence whole; return (logits after it, state, log-prob of seq[1:]).

        Sequences may differ in length. A prefix that several sequences share (the line break,
        the punctuation, most of a word's casings) is run once: the sequences are laid out as a
        trie and each depth of it is one batched step.
        """
        if not seqs or any(not s for s in seqs):
            raise ValueError("prime needs at least one sequence and no empty ones")
        width = max(len(s) for s in seqs)
        index: list[dict[tuple[int, ...], int]] = [{} for _ in range(width)]
        parent: list[list[int]] = [[] for _ in range(width)]
        token: list[list[int]] = [[] for _ in range(width)]
        leaf: list[tuple[int, int]] = []  # (depth, node) where each sequence ends
        for s in seqs:
            node = -1
            for d in range(len(s)):
                key = tuple(s[: d + 1])
                found = index[d].get(key)
                if found is None:
                    found = index[d][key] = len(token[d])
                    token[d].append(s[d])
                    parent[d].append(node)
                node = found
            leaf.append((len(s) - 1, node))

        levels: list[tuple[np.ndarray, State, np.ndarray]] = []
        state = self.zero_state(len(token[0]))
        lp = np.zeros(len(token[0]))
        lsm = np.empty((0, 0), np.float32)
        for d in range(width):
            tok = np.asarray(token[d], dtype=np.intp)
            if d > 0:
                par = np.asarray(parent[d], dtype=np.intp)
                hs, cs = levels[-1][1]
                state = ([x[par] for x in hs], [x[par] for x in cs])
                lp = levels[-1][2][par] + lsm[par, tok]
            logits, state = self.step(tok, state)
            lsm = log_softmax(logits)
            levels.append((logits, state, lp))

        # Gather every sequence's end node out of all levels at once.
        offsets = np.cumsum([0, *(len(token[d]) for d in range(width))])
        pick = np.asarray([offsets[d] + node for d, node in leaf], dtype=np.intp)
        logits = np.concatenate([lv[0] for lv in levels])[pick]
        hs = [np.concatenate([lv[1][0][i] for lv in levels])[pick] for i in range(self.n_layers)]
        cs = [np.concatenate([lv[1][1][i] for lv in levels])[pick] for i in range(self.n_layers)]
        logprob = np.concatenate([lv[2] for lv in levels])[pick]
        return logits, (hs, cs), logprob

    def step_draw(
        self, tok: np.ndarray, state: State, u: np.ndarray, inv_t: float
    ) -> tuple[np.ndarray, np.ndarray, State]:
        """One step, then `draw` from the new logits: (next_tok, its log-prob, state)."""
        if self._onnx is not None:
            nxt, logp, hs, cs = self._onnx.step_draw(tok, state[0], state[1], u, inv_t)
            return nxt, logp, (hs, cs)
        logits, state = self.step(tok, state)
        nxt, logp = draw(logits, u, inv_t)
        return nxt, logp, state

    def continue_lines(
        self,
        logits: np.ndarray,
        state: State,
        *,
        newline: int,
        temperature: float,
        max_len: int,
        rng: np.random.Generator,
        first_banned: np.ndarray | None = None,
    ) -> Sampled:
        """Sample each row on from its state until it emits `newline` or reaches `max_len`.

        `first_banned` (a bool mask over the vocabulary) forbids tokens at the first step only,
        which is how a rhyme word is kept whole: no letter may follow its reversed spelling.
        The unknown-character token is never sampled. Rows leave the batch as soon as they end
        their line, and the loop stops when every row has.
        """
        n = logits.shape[0]
        out = np.zeros((n, max_len), dtype=np.intp)
        logprob = np.zeros(n)
        length = np.full(n, max_len)
        ended = np.zeros(n, dtype=bool)
        rows = np.arange(n)  # which original rows are still sampling
        live_lp = np.zeros(n)  # log-prob so far of the rows still sampling
        inv_t = 1.0 / temperature
        allowed = None if first_banned is None else ~np.asarray(first_banned)[UNK + 1 :]
        tok, lp = draw(logits, rng.random(n, dtype=np.float32), inv_t, allowed)
        for t in range(max_len):
            live_lp += lp
            out[rows, t] = tok
            done = tok == newline
            if done.any():
                finished = rows[done]
                length[finished] = t
                ended[finished] = True
                logprob[finished] = live_lp[done]
                keep = ~done
                if not keep.any():
                    break
                rows, tok, live_lp = rows[keep], tok[keep], live_lp[keep]
                state = ([x[keep] for x in state[0]], [x[keep] for x in state[1]])
            if t + 1 < max_len:
                u = rng.random(len(rows), dtype=np.float32)
                tok, lp, state = self.step_draw(tok, state, u, inv_t)
        else:
            logprob[rows] = live_lp  # rows that hit the cap keep what they scored so far
        tokens = [r[:k] for r, k in zip(out.tolist(), length.tolist(), strict=True)]
        return Sampled(tokens=tokens, logprob=logprob, ended=ended)


def draw(
    logits: np.ndarray, u: np.ndarray, inv_t: float, allowed: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """One token per row at temperature 1/inv_t, and its log-probability at temperature 1.

    Inverse-CDF sampling with one uniform number per row (`u`, in [0, 1)). Token 0 (UNK) is
    never drawn; `allowed` (a bool mask over tokens 1..V-1) can ban more. `rhymer.onnx_step`
    runs the same draw inside its graph.

    >>> draw(np.array([[9.0, 0.0, 0.0], [9.0, 0.0, 0.0]]), np.array([0.25, 0.75]), 1.0)[0]
    array([1, 2])
    """
    logp = log_softmax(logits)
    known = logp[:, UNK + 1 :]
    w = np.exp((known - known.max(axis=1, keepdims=True)) * np.float32(inv_t))
    if allowed is not None:
        w *= allowed
    cdf = np.cumsum(w, axis=1)
    pos = (cdf <= (u * cdf[:, -1])[:, None]).sum(axis=1)
    tok = np.minimum(pos, cdf.shape[1] - 1) + (UNK + 1)
    return tok, logp[np.arange(len(tok)), tok]


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax.

    >>> np.round(np.exp(log_softmax(np.array([[0.0, 0.0]]))), 3).tolist()
    [[0.5, 0.5]]
    """
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
