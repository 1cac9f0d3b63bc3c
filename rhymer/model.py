"""The character LSTM: embedding -> L x H LSTM -> linear, with one small config dataclass.

Index 0 of the vocabulary is reserved for characters the model never saw; the line break is an
ordinary token, so the model learns where lines end.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

UNK = 0


@dataclass
class ModelConfig:
    """Sizes of a CharLSTM and the characters it knows."""

    chars: str  # known characters in token order; token i+1 is chars[i], token 0 is unknown
    n_layers: int = 2
    n_hidden: int = 256
    n_embd: int = 64
    dropout: float = 0.1

    @property
    def vocab_size(self) -> int:
        return len(self.chars) + 1

    def to_dict(self) -> dict:
        return asdict(self)


class Vocab:
    """Maps characters to token ids and back; unknown characters become token 0.

    >>> v = Vocab("\\nab")
    >>> v.encode("ba?")
    [3, 2, 0]
    >>> v.decode([3, 2, 1])
    'ba\\n'
    """

    def __init__(self, chars: str) -> None:
        self.chars = chars
        self.stoi = {ch: i + 1 for i, ch in enumerate(chars)}

    def __len__(self) -> int:
        return len(self.chars) + 1

    def __contains__(self, ch: str) -> bool:
        return ch in self.stoi

    def encode(self, text: str) -> list[int]:
        return [self.stoi.get(ch, UNK) for ch in text]

    def decode(self, ids: list[int]) -> str:
        return "".join(self.chars[i - 1] if i > 0 else "\ufffd" for i in ids)

    @classmethod
    def from_text(cls, text: str) -> Vocab:
        return cls("".join(sorted(set(text))))


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
