"""Batched, step-by-step sampling from a CharLSTM with a hand-written LSTM cell.

Sampling runs one character at a time, where nn.LSTM's per-call overhead (and, with oneDNN on,
its per-call set-up) dominates on a CPU, so the weights are copied into plain matrices once and
the first layer's input projection is folded into the embedding (one row lookup per step
instead of a matmul). The matmuls are then most of the time, so the loops below do as few
other tensor ops per character as they can: priming shares common prefixes, sampling draws one
uniform number per row, and rows that have ended their line drop out of the batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rhymer.model import UNK, CharLSTM

State = tuple[list[torch.Tensor], list[torch.Tensor]]


@dataclass
class Sampled:
    """What a batch of continuations produced, per row."""

    tokens: list[list[int]]  # sampled ids, up to and without the line break
    logprob: torch.Tensor  # summed model log-probability (temperature 1) incl. the line break
    ended: torch.Tensor  # True where the row reached a line break within the cap


class Sampler:
    """Fast batched inference for one CharLSTM (CPU, float32)."""

    def __init__(self, model: CharLSTM) -> None:
        cfg = model.cfg
        sd = {k: v.detach().float().cpu() for k, v in model.state_dict().items()}
        self.n_layers, self.n_hidden = cfg.n_layers, cfg.n_hidden
        self.vocab_size = cfg.vocab_size
        bias = [sd[f"lstm.bias_ih_l{i}"] + sd[f"lstm.bias_hh_l{i}"] for i in range(cfg.n_layers)]
        self.in0 = sd["embed.weight"] @ sd["lstm.weight_ih_l0"].T + bias[0]
        self.w_hh = [sd[f"lstm.weight_hh_l{i}"].T.contiguous() for i in range(cfg.n_layers)]
        # Layers above the first multiply [input, h] by [W_ih; W_hh]: one matmul, not two.
        self.w_cat = {
            i: torch.cat([sd[f"lstm.weight_ih_l{i}"].T, self.w_hh[i]]).contiguous()
            for i in range(1, cfg.n_layers)
        }
        self.bias = bias
        self.head_w = sd["head.weight"].T.contiguous()
        self.head_b = sd["head.bias"]

    def zero_state(self, n: int) -> State:
        z = [torch.zeros(n, self.n_hidden) for _ in range(self.n_layers)]
        return z, [t.clone() for t in z]

    def step(self, tok: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """Feed one token per row; return next-token logits and the new state."""
        hs, cs = state
        new_h, new_c = [], []
        x = hs[0]
        hidden = self.n_hidden
        for i in range(self.n_layers):
            if i == 0:
                gates = torch.addmm(self.in0[tok], hs[0], self.w_hh[0])
            else:
                gates = torch.addmm(self.bias[i], torch.cat([x, hs[i]], 1), self.w_cat[i])
            sig = torch.sigmoid(gates)
            g = torch.tanh(gates[:, 2 * hidden : 3 * hidden])
            c = torch.addcmul(sig[:, hidden : 2 * hidden] * cs[i], sig[:, :hidden], g)
            x = sig[:, 3 * hidden :] * torch.tanh(c)
            new_h.append(x)
            new_c.append(c)
        return torch.addmm(self.head_b, x, self.head_w), (new_h, new_c)

    @torch.inference_mode()
    def prime(self, seqs: list[list[int]]) -> tuple[torch.Tensor, State, torch.Tensor]:
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

        levels: list[tuple[torch.Tensor, State, torch.Tensor]] = []
        state = self.zero_state(len(token[0]))
        lp = torch.zeros(len(token[0]))
        lsm = torch.empty(0)
        for d in range(width):
            tok = torch.tensor(token[d], dtype=torch.long)
            if d > 0:
                par = torch.tensor(parent[d], dtype=torch.long)
                hs, cs = levels[-1][1]
                state = ([h[par] for h in hs], [c[par] for c in cs])
                lp = levels[-1][2][par] + lsm[par, tok]
            logits, state = self.step(tok, state)
            lsm = torch.log_softmax(logits, dim=1)
            levels.append((logits, state, lp))

        # Gather every sequence's end node out of all levels at once.
        offsets = [0]
        for d in range(width):
            offsets.append(offsets[-1] + len(token[d]))
        pick = torch.tensor([offsets[d] + node for d, node in leaf], dtype=torch.long)
        logits = torch.cat([lv[0] for lv in levels])[pick]
        hs = [torch.cat([lv[1][0][i] for lv in levels])[pick] for i in range(self.n_layers)]
        cs = [torch.cat([lv[1][1][i] for lv in levels])[pick] for i in range(self.n_layers)]
        logprob = torch.cat([lv[2] for lv in levels])[pick]
        return logits, (hs, cs), logprob

    @torch.inference_mode()
    def continue_lines(
        self,
        logits: torch.Tensor,
        state: State,
        *,
        newline: int,
        temperature: float,
        max_len: int,
        generator: torch.Generator,
        first_banned: torch.Tensor | None = None,
    ) -> Sampled:
        """Sample each row on from its state until it emits `newline` or reaches `max_len`.

        `first_banned` (a bool mask over the vocabulary) forbids tokens at the first step only,
        which is how a rhyme word is kept whole: no letter may follow its reversed spelling.
        The unknown-character token is never sampled. Rows leave the batch as soon as they end
        their line, and the loop stops when every row has.
        """
        n = logits.shape[0]
        out = torch.zeros(n, max_len, dtype=torch.long)
        logprob = torch.zeros(n)
        length = torch.full((n,), max_len, dtype=torch.long)
        ended = torch.zeros(n, dtype=torch.bool)
        rows = torch.arange(n)  # which original rows are still sampling
        live_lp = torch.zeros(n)  # log-prob so far of the rows still sampling
        inv_t = 1.0 / temperature
        top = self.vocab_size - 2  # the last index of the vocabulary without UNK
        first = None if first_banned is None else first_banned[UNK + 1 :]
        for t in range(max_len):
            lsm = torch.log_softmax(logits, dim=1)
            scaled = lsm[:, UNK + 1 :]  # UNK is token 0: leaving its column out bans it
            if inv_t != 1.0:
                scaled = scaled * inv_t
            if t == 0 and first is not None:
                scaled = scaled.masked_fill(first, float("-inf"))
            # Inverse-CDF sampling: one uniform number per row instead of one per token.
            cdf = torch.softmax(scaled, dim=1).cumsum_(dim=1)
            u = torch.rand(len(rows), 1, generator=generator).mul_(cdf[:, -1:])
            tok = torch.searchsorted(cdf, u, right=True).clamp_(max=top).add_(UNK + 1)
            live_lp += lsm.gather(1, tok).squeeze(1)
            tok = tok.squeeze(1)
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
                state = ([h[keep] for h in state[0]], [c[keep] for c in state[1]])
            if t + 1 < max_len:
                logits, state = self.step(tok, state)
        else:
            logprob[rows] = live_lp  # rows that hit the cap keep what they scored so far
        lengths = length.tolist()
        tokens = [r[:k] for r, k in zip(out.tolist(), lengths, strict=True)]
        return Sampled(tokens=tokens, logprob=logprob, ended=ended)
