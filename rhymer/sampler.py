"""Batched, step-by-step sampling from a trained CharLSTM, in numpy.

Sampling runs one character at a time, so the cost is per step, not per character: on a CPU a
step is mostly reading the weight matrices (3 MB for a 2x256 model, more than a core's L2
cache), plus a fixed overhead per array operation. So the weights are laid out once for the
step: the first layer's input projection is folded into the embedding (a row lookup instead of
a matmul), layers above multiply [input, h] by one stacked matrix, and the gates are reordered
(i, f, o, g) with the sigmoid gates' rows halved, so one tanh call serves all four gates
(sigmoid(x) = (1 + tanh(x / 2)) / 2). Optionally (`int8=True`) the LSTM matmuls run on torch's
dynamic int8 kernels (`rhymer.int8`): a quarter of the bytes per step, for long-lived processes
that can afford importing torch. Priming shares common prefixes, sampling draws one uniform
number per row, and rows that have ended their line drop out of the batch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rhymer.config import UNK, ModelConfig

if TYPE_CHECKING:
    from rhymer.model import CharLSTM

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
        self.int8 = False
        if int8:
            try:
                from rhymer.int8 import int8_dense

                self.layers = [int8_dense(m, b) for m, b in zip(mats, biases, strict=True)]
                self.int8 = True
            except (ImportError, RuntimeError, AttributeError):
                pass  # no torch, or a torch without int8 CPU kernels: stay on float32
        if not self.int8:
            self.layers = [_dense(m, b) for m, b in zip(mats, biases, strict=True)]
        self.head = _dense(w["head.weight"], w["head.bias"])

    @classmethod
    def from_model(cls, model: CharLSTM, *, int8: bool = False) -> Sampler:
        """A sampler over a torch CharLSTM's current weights."""
        weights = {k: v.detach().float().cpu().numpy() for k, v in model.state_dict().items()}
        return cls(weights, model.cfg, int8=int8)

    def zero_state(self, n: int) -> State:
        z = [np.zeros((n, self.n_hidden), np.float32) for _ in range(self.n_layers)]
        return z, [t.copy() for t in z]

    def step(self, tok: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        """Feed one token per row; return next-token logits and the new state."""
        hs, cs = state
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
        for t in range(max_len):
            shifted = logits - logits.max(axis=1, keepdims=True)
            e = np.exp(shifted)
            lse = np.log(e.sum(axis=1))
            # UNK is token 0: leaving its column out of the weights bans it.
            w = e[:, UNK + 1 :] if inv_t == 1.0 else np.exp(shifted[:, UNK + 1 :] * inv_t)
            if t == 0 and allowed is not None:
                w = w * allowed
            # Inverse-CDF sampling: one uniform number per row instead of one per token.
            cdf = np.cumsum(w, axis=1)
            u = rng.random(len(rows)) * cdf[:, -1]
            pos = (cdf <= u[:, None]).sum(axis=1)
            tok = np.minimum(pos, cdf.shape[1] - 1) + (UNK + 1)
            live_lp += shifted[np.arange(len(rows)), tok] - lse
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
                logits, state = self.step(tok, state)
        else:
            logprob[rows] = live_lp  # rows that hit the cap keep what they scored so far
        tokens = [r[:k] for r, k in zip(out.tolist(), length.tolist(), strict=True)]
        return Sampled(tokens=tokens, logprob=logprob, ended=ended)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax.

    >>> np.round(np.exp(log_softmax(np.array([[0.0, 0.0]]))), 3).tolist()
    [[0.5, 0.5]]
    """
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
