"""Batched, step-by-step sampling from a CharLSTM with a hand-written LSTM cell.

Sampling runs one character at a time, where nn.LSTM's per-call overhead dominates on a CPU,
so the weights are copied into plain matrices once and the first layer's input projection is
folded into the embedding (one row lookup per step instead of a matmul).
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
        self.w_ih = [sd[f"lstm.weight_ih_l{i}"].T.contiguous() for i in range(cfg.n_layers)]
        self.w_hh = [sd[f"lstm.weight_hh_l{i}"].T.contiguous() for i in range(cfg.n_layers)]
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
        x = None
        hidden = self.n_hidden
        for i in range(self.n_layers):
            if i == 0:
                gates = torch.addmm(self.in0[tok], hs[0], self.w_hh[0])
            else:
                gates = torch.addmm(self.bias[i], x, self.w_ih[i]).addmm_(hs[i], self.w_hh[i])
            sig = torch.sigmoid(gates)
            g = torch.tanh(gates[:, 2 * hidden : 3 * hidden])
            c = sig[:, hidden : 2 * hidden] * cs[i] + sig[:, :hidden] * g
            x = sig[:, 3 * hidden :] * torch.tanh(c)
            new_h.append(x)
            new_c.append(c)
        return torch.addmm(self.head_b, x, self.head_w), (new_h, new_c)

    @torch.inference_mode()
    def prime(self, seqs: list[list[int]]) -> tuple[torch.Tensor, State, torch.Tensor]:
        """Feed each sequence whole; return (logits after it, state, log-prob of seq[1:]).

        Sequences may differ in length; each row's state stops at its own last token.
        """
        n = len(seqs)
        width = max(len(s) for s in seqs)
        ids = torch.zeros(n, width, dtype=torch.long)
        for r, s in enumerate(seqs):
            ids[r, : len(s)] = torch.tensor(s, dtype=torch.long)
        lengths = torch.tensor([len(s) for s in seqs])
        state = self.zero_state(n)
        logits = torch.zeros(n, self.vocab_size)
        logprob = torch.zeros(n)
        for t in range(width):
            step_logits, new_state = self.step(ids[:, t], state)
            live = (t < lengths).unsqueeze(1)
            if t + 1 < width:
                lp = torch.log_softmax(step_logits, dim=1).gather(1, ids[:, t + 1 : t + 2])
                logprob += torch.where(t + 1 < lengths, lp.squeeze(1), 0.0)
            state = (
                [torch.where(live, a, b) for a, b in zip(new_state[0], state[0], strict=True)],
                [torch.where(live, a, b) for a, b in zip(new_state[1], state[1], strict=True)],
            )
            logits = torch.where(live, step_logits, logits)
        return logits, state, logprob

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
        """
        n = logits.shape[0]
        out = torch.zeros(n, max_len, dtype=torch.long)
        logprob = torch.zeros(n)
        length = torch.full((n,), max_len, dtype=torch.long)
        ended = torch.zeros(n, dtype=torch.bool)
        rows = torch.arange(n)  # which original rows are still sampling
        banned = torch.zeros(self.vocab_size, dtype=torch.bool)
        banned[UNK] = True
        for t in range(max_len):
            mask = banned if t > 0 or first_banned is None else banned | first_banned
            scaled = (logits / temperature).masked_fill(mask, float("-inf"))
            tok = torch.multinomial(torch.softmax(scaled, dim=1), 1, generator=generator)
            logprob[rows] += torch.log_softmax(logits, dim=1).gather(1, tok).squeeze(1)
            tok = tok.squeeze(1)
            out[rows, t] = tok
            done = tok == newline
            if done.any():
                length[rows[done]] = t
                ended[rows[done]] = True
                keep = ~done
                if not keep.any():
                    break
                rows, tok = rows[keep], tok[keep]
                state = ([h[keep] for h in state[0]], [c[keep] for c in state[1]])
            logits, state = self.step(tok, state)
        tokens = [out[r, : int(length[r])].tolist() for r in range(n)]
        return Sampled(tokens=tokens, logprob=logprob, ended=ended)
