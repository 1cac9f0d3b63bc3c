"""The character LSTM: embedding -> L x H LSTM -> linear, with one small config dataclass.

Index 0 of the vocabulary is reserved for characters the model never saw; the line break is an
ordinary token, so the model learns where lines end. The config and vocabulary live in
`rhymer.config` (no torch there), and are re-exported here.
"""

from __future__ import annotations

import torch
from torch import nn

from rhymer.config import UNK, ModelConfig, Vocab

__all__ = ["UNK", "CharLSTM", "ModelConfig", "Vocab"]


class CharLSTM(nn.Module):
    """Next-character model over a (reversed) character stream."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.lstm = nn.LSTM(
            cfg.n_embd,
            cfg.n_hidden,
            cfg.n_layers,
            batch_first=True,
            dropout=cfg.dropout if cfg.n_layers > 1 else 0.0,
        )
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.n_hidden, cfg.vocab_size)

    def forward(
        self, idx: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Logits (B, T, V) for token ids (B, T), and the LSTM state after the last step."""
        out, state = self.lstm(self.embed(idx), state)
        return self.head(self.drop(out)), state
