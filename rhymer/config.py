"""What a CharLSTM is, without torch: its sizes, its characters and the shapes of its weights.

Inference (`rhymer.sampler`) runs on numpy, so a couplet never pays for importing torch; the
torch model in `rhymer.model` is built from this same config.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

UNK = 0


@dataclass
class ModelConfig:
    """Sizes of a CharLSTM and the characters it knows."""

    chars: str  # known characters in token order; token i+1 is chars[i], token 0 is unknown
    n_layers: int = 2
    n_hidden: int = 256
    n_embd: int = 64
    dropout: float = 0.1

    def __post_init__(self) -> None:
        if not isinstance(self.chars, str) or not self.chars:
            raise ValueError("chars must be a non-empty string")
        for name in ("n_layers", "n_hidden", "n_embd"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError("dropout must be in [0, 1)")

    @property
    def vocab_size(self) -> int:
        return len(self.chars) + 1

    def to_dict(self) -> dict:
        return asdict(self)

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """The weight shapes a model of this config has, by state-dict name.

        >>> ModelConfig("ab", n_layers=1, n_hidden=4, n_embd=3).shapes()["lstm.weight_ih_l0"]
        (16, 3)
        """
        v, h, e = self.vocab_size, self.n_hidden, self.n_embd
        out: dict[str, tuple[int, ...]] = {"embed.weight": (v, e)}
        for i in range(self.n_layers):
            out[f"lstm.weight_ih_l{i}"] = (4 * h, e if i == 0 else h)
            out[f"lstm.weight_hh_l{i}"] = (4 * h, h)
            out[f"lstm.bias_ih_l{i}"] = (4 * h,)
            out[f"lstm.bias_hh_l{i}"] = (4 * h,)
        out["head.weight"] = (v, h)
        out["head.bias"] = (v,)
        return out


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
