"""Training a CharLSTM on a corpus read backwards, with held-out loss, checkpoints and resume.

The corpus is one character stream, reversed, cut into `batch` contiguous tracks and read in
`seq_len` chunks with the LSTM state carried from chunk to chunk (truncated BPTT), so every
character is a target once per epoch and the model sees context far longer than one chunk.

Speed: the whole encoded corpus sits on the training device (no loader in the hot loop); on
CUDA the LSTM runs as one cuDNN call with flattened weights under mixed precision (see
`choose_amp`); under torchrun each process trains on its own tracks with
DistributedDataParallel (see `rhymer.distributed`). The hot loop does no host-device sync per
step on a GPU.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rhymer import distributed
from rhymer.atomic import atomic_write_json
from rhymer.corpus import heldout_split, read_corpus
from rhymer.errors import RhymerError
from rhymer.lexicon import Lexicon
from rhymer.model import CharLSTM, ModelConfig, Vocab
from rhymer.sampler import Sampler
from rhymer.store import CONFIG, load_tensors, save_model, save_tensors

CHECKPOINT = "checkpoint.safetensors"
CHECKPOINT_META = "checkpoint.json"
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
# On a CPU with AMX tiles, bf16 autocast (oneDNN's LSTM on the tiles, fp32 master weights)
# trains a 2x256 model 1.7x faster per step (bare loop, 2 threads: 30,150 vs 17,560 chars/s)
# to the same held-out loss per step (300 steps: 2.954 vs 2.956 bits/char; 400 steps with
# Trainer.lr_at's schedule at lr 4e-3: 2.422 vs 2.425), so "auto" takes it there.
# `--precision fp32` (TrainSettings.precision) opts out.
CPU_AUTO_BF16 = True
LR_DECAY_SHARE = 0.25  # the last quarter of a run decays the learning rate (see Trainer.lr_at)


@dataclass
class TrainSettings:
    """Everything that shapes a training run; presets fill it from the corpus size."""

    n_layers: int = 2
    n_hidden: int = 256
    n_embd: int = 64
    dropout: float = 0.1
    seq_len: int = 100
    batch_size: int = 64  # per process under torchrun
    lr: float = 2e-3
    epochs: int | None = None
    minutes: float | None = None
    device: str = "auto"
    seed: int = 0
    grad_clip: float = 5.0
    eval_minutes: float = 5.0
    precision: str = "auto"  # auto, fp32, bf16 or fp16: see choose_amp


# (largest corpus in characters, preset name, sizes): after ml5 / char-rnn's advice table.
PRESETS: list[tuple[int, str, dict[str, Any]]] = [
    (300_000, "tiny", dict(n_layers=2, n_hidden=128, seq_len=64, dropout=0.2)),
    (1_000_000, "small", dict(n_layers=2, n_hidden=192, seq_len=64, dropout=0.2)),
    (6_000_000, "medium", dict(n_layers=2, n_hidden=256, seq_len=100, dropout=0.1)),
    (25_000_000, "large", dict(n_layers=2, n_hidden=512, seq_len=100, dropout=0.1)),
    (10**12, "huge", dict(n_layers=3, n_hidden=512, seq_len=128, dropout=0.1)),
]
# A GPU does a step of a wide LSTM in about the time of a narrow one, so on CUDA every corpus
# size gets a wider model (held-out loss picks the best epoch, so over-fitting is caught).
GPU_PRESETS: list[tuple[int, str, dict[str, Any]]] = [
    (300_000, "tiny", dict(n_layers=2, n_hidden=256, seq_len=100, dropout=0.3)),
    (1_000_000, "small", dict(n_layers=2, n_hidden=384, seq_len=100, dropout=0.25)),
    (6_000_000, "medium", dict(n_layers=2, n_hidden=512, seq_len=128, dropout=0.15)),
    (25_000_000, "large", dict(n_layers=3, n_hidden=768, seq_len=128, dropout=0.1)),
    (10**12, "huge", dict(n_layers=3, n_hidden=1024, seq_len=128, dropout=0.1)),
]
DEFAULT_BATCH = {"cpu": 64, "cuda": 256, "mps": 64}


def _device_type(device: str) -> str:
    if device == "auto":
        return pick_device("auto").type
    return device.split(":")[0]


def preset_for(n_chars: int, device: str = "cpu") -> tuple[str, dict[str, Any]]:
    """The preset name and sizes for a corpus of `n_chars` characters trained on `device`."""
    table = GPU_PRESETS if _device_type(device) == "cuda" else PRESETS
    for limit, name, sizes in table:
        if n_chars <= limit:
            return name, dict(sizes)
    return table[-1][1], dict(table[-1][2])


def default_batch(device: str = "cpu") -> int:
    """The batch size (per process) that keeps `device` busy: 64 on a CPU, 256 on CUDA."""
    return DEFAULT_BATCH.get(_device_type(device), 64)


def pick_device(name: str) -> torch.device:
    """'auto' picks CUDA, then Apple MPS, then the CPU; an unavailable choice is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RhymerError(
            "--device cuda was asked for, but no CUDA GPU is available"
            + (" (this torch is a CPU-only build)" if torch.version.cuda is None else "")
            + "; use --device cpu or auto."
        )
    if name == "mps" and not torch.backends.mps.is_available():
        raise RhymerError("--device mps was asked for, but Apple MPS is not available.")
    if name not in ("cpu", "cuda", "mps"):
        raise RhymerError(f"Unknown device {name!r}; use auto, cpu, cuda or mps.")
    return torch.device(name)


# -- mixed precision --------------------------------------------------------------------
def choose_amp(
    device_type: str,
    precision: str,
    *,
    cpu_fast_bf16: bool = False,
    cuda_capability: tuple[int, int] = (0, 0),
    cuda_bf16: bool = False,
    cudnn_lstm_dtype_under_bf16: torch.dtype | None = None,
) -> torch.dtype | None:
    """The autocast dtype to train with, or None for plain fp32.

    On CUDA the LSTM is what matters, and torch's autocast wrapper for cuDNN RNNs casts to
    fp16 whatever dtype autocast was given (aten/src/ATen/cudnn/AutocastRNN.cpp): under bf16
    autocast the LSTM would run in fp16 without loss scaling. So "auto" takes bf16 only where
    a probe shows the LSTM really running in bf16, else fp16 with a GradScaler, and fp32 on
    GPUs without tensor cores (before Volta), where cuDNN's fp16 LSTM is no faster.
    """
    if precision not in PRECISIONS:
        raise RhymerError(f"Unknown precision {precision!r}; use {', '.join(PRECISIONS)}.")
    if precision == "fp32":
        return None
    if device_type == "cuda":
        lstm_bf16 = cuda_bf16 and cudnn_lstm_dtype_under_bf16 == torch.bfloat16
        if precision == "fp16":
            return torch.float16
        if precision == "bf16":
            if not lstm_bf16:
                raise RhymerError(
                    "bf16 was asked for, but this torch runs cuDNN's LSTM in fp16 under "
                    "autocast (or the GPU lacks bf16); use --precision fp16 or auto."
                )
            return torch.bfloat16
        if cuda_capability < (7, 0):
            return None
        return torch.bfloat16 if lstm_bf16 else torch.float16
    if device_type == "cpu":
        if precision == "fp16":
            raise RhymerError("fp16 training needs a CUDA GPU; on the CPU use bf16 or fp32.")
        if precision == "bf16":
            return torch.bfloat16
        return torch.bfloat16 if CPU_AUTO_BF16 and cpu_fast_bf16 else None
    if precision == "auto":
        return None
    raise RhymerError(f"Precision {precision} is not supported on {device_type}; use fp32.")


def cpu_has_fast_bf16() -> bool:
    """True where oneDNN runs bf16 LSTMs and matmuls on AMX tiles (Sapphire Rapids and on)."""
    try:
        return bool(
            torch.backends.mkldnn.is_available()
            and torch.cpu._is_amx_tile_supported()
            and torch.ops.mkldnn._is_mkldnn_bf16_supported()
        )
    except (AttributeError, RuntimeError):
        return False


@lru_cache(maxsize=8)
def cudnn_lstm_dtype_under_bf16(device: str) -> torch.dtype:
    """The dtype nn.LSTM's output really has under bf16 autocast on a CUDA device."""
    lstm = nn.LSTM(8, 8, batch_first=True).to(device)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out, _ = lstm(torch.zeros(1, 2, 8, device=device))
    return out.dtype


def amp_dtype(device: torch.device, precision: str) -> torch.dtype | None:
    """`choose_amp` with the facts about this machine filled in."""
    if device.type == "cuda" and precision != "fp32":
        bf16 = torch.cuda.is_bf16_supported()
        return choose_amp(
            "cuda",
            precision,
            cuda_capability=torch.cuda.get_device_capability(device),
            cuda_bf16=bf16,
            cudnn_lstm_dtype_under_bf16=cudnn_lstm_dtype_under_bf16(str(device)) if bf16 else None,
        )
    return choose_amp(device.type, precision, cpu_fast_bf16=cpu_has_fast_bf16())


def _grad_scaler(device: torch.device, amp: torch.dtype | None) -> Any:
    """A GradScaler for fp16 training (its gradients underflow without one), else None."""
    if amp != torch.float16:
        return None
    if hasattr(torch.amp, "GradScaler"):
        return torch.amp.GradScaler(device.type)
    return torch.cuda.amp.GradScaler()  # torch < 2.3


def _adam(params: Any, lr: float, device: torch.device) -> torch.optim.Optimizer:
    """Adam with the fused (one kernel for all parameters) update where this torch has it."""
    params = list(params)
    if device.type in ("cpu", "cuda"):
        try:
            return torch.optim.Adam(params, lr=lr, fused=True)
        except (RuntimeError, TypeError, ValueError):
            pass
    return torch.optim.Adam(params, lr=lr)


class FastDropout(nn.Module):
    """nn.Dropout with the mask made from 16 random bits per element, for the CPU.

    The CPU's Bernoulli draw costs ~13 ns an element, ~4% of a 2x256 training step in fp32
    and ~8% in bf16; one 64-bit random number gives four elements' bits for a quarter of
    that. The mask is i.i.d. as before, with p kept to within 1/65536.
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p <= 0:
            return x
        if self.p >= 1:
            return x * 0
        n = x.numel()
        words = torch.randint(-(2**63), 2**63 - 1, ((n + 3) // 4,), dtype=torch.int64)
        bits = words.view(torch.int16)[:n].view(x.shape)
        drop = round(self.p * 65536)
        keep = (bits >= drop - 32768).to(x.dtype).mul_(65536 / (65536 - drop))
        return x * keep


def reversed_stream(lines: list[str]) -> str:
    """The lines as one text, reversed character by character (it starts with a line break)."""
    return ("\n".join(lines) + "\n")[::-1]


def max_line_chars(lines: list[str]) -> int:
    """A length cap for generated lines: a little above the corpus's 99.9th percentile."""
    lengths = sorted(len(ln) for ln in lines)
    p999 = lengths[min(len(lengths) - 1, int(0.999 * len(lengths)))]
    return max(24, min(240, int(p999 * 1.25) + 4))


@dataclass
class EpochReport:
    """What the trainer tells its listener after each evaluation."""

    epoch: int
    step: int
    train_bpc: float
    heldout_bpc: float
    best_bpc: float
    chars_per_s: float
    samples: dict[float, list[str]] = field(default_factory=dict)


def tracks(data: torch.Tensor, batch: int, seq_len: int, offset: int) -> tuple[torch.Tensor, ...]:
    """Inputs and targets as (batch, length) tracks, length a multiple of seq_len."""
    usable = (len(data) - 1 - offset) // batch // seq_len * seq_len
    x = data[offset : offset + batch * usable].view(batch, usable)
    y = data[offset + 1 : offset + 1 + batch * usable].view(batch, usable)
    return x, y


def _detach(state: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    return state[0].detach(), state[1].detach()


@torch.no_grad()
def evaluate_sums(
    model: CharLSTM,
    data: torch.Tensor,
    seq_len: int,
    device: torch.device,
    shard: tuple[int, int] = (0, 1),
) -> tuple[float, int]:
    """(Summed loss in nats, characters) of `data` under the model, state carried across chunks.

    The data is cut into up to 32 tracks; `shard=(rank, world)` scores only every world-th of
    them, so ranks of a distributed run can split the work and add up the sums.
    """
    was_training = model.training
    model.eval()
    n_tracks = max(1, min(32, (len(data) - 1) // (seq_len * 4)))
    length = (len(data) - 1) // n_tracks
    rows = torch.arange(shard[0], n_tracks, shard[1])
    if len(rows) == 0:
        return 0.0, 0
    x = data[: n_tracks * length].view(n_tracks, length)[rows].to(device)
    y = data[1 : 1 + n_tracks * length].view(n_tracks, length)[rows].to(device)
    total, count, state = torch.zeros((), dtype=torch.float64, device=device), 0, None
    for t in range(0, length, seq_len):
        logits, state = model(x[:, t : t + seq_len], state)
        loss = nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]).float(),
            y[:, t : t + seq_len].reshape(-1),
            reduction="sum",
        )
        total += loss.double()
        count += y[:, t : t + seq_len].numel()
    model.train(was_training)
    return float(total), count


def evaluate(model: CharLSTM, data: torch.Tensor, seq_len: int, device: torch.device) -> float:
    """Mean bits per character of `data` under the model (state carried across chunks)."""
    total, count = evaluate_sums(model, data, seq_len, device)
    return total / max(1, count) / math.log(2)


def free_samples(
    model: CharLSTM, vocab: Vocab, temperature: float, n: int, max_len: int, seed: int = 0
) -> list[str]:
    """`n` lines written backwards from a line break, read forwards."""
    sampler = Sampler.from_model(model)
    newline = vocab.stoi["\n"]
    logits, state, _ = sampler.prime([[newline]] * n)
    out = sampler.continue_lines(
        logits,
        state,
        newline=newline,
        temperature=temperature,
        max_len=max_len,
        rng=np.random.default_rng(seed),
    )
    return [vocab.decode(t)[::-1] for t in out.tokens]


def _flatten_optimizer(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    sd = opt.state_dict()
    tensors = {
        f"opt.{pid}.{name}": (v if torch.is_tensor(v) else torch.tensor(v))
        for pid, st in sd["state"].items()
        for name, v in st.items()
    }
    return tensors, {"param_groups": sd["param_groups"]}


def _restore_optimizer(
    opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict
) -> None:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, v in tensors.items():
        if key.startswith("opt."):
            _, pid, name = key.split(".", 2)
            state.setdefault(int(pid), {})[name] = v
    groups = meta["param_groups"]
    # The fused/foreach choice is this machine's, not the checkpoint's.
    for group, ours in zip(groups, opt.param_groups, strict=False):
        for key in ("fused", "foreach", "capturable"):
            if key in ours:
                group[key] = ours[key]
    opt.load_state_dict({"state": state, "param_groups": groups})


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _sigterm_as_interrupt() -> Any:
    """Treat SIGTERM like Ctrl-C (save and stop); only possible from the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_interrupt)


def _settings_from(saved: dict) -> TrainSettings:
    """TrainSettings from a checkpoint's dict, ignoring keys this version does not know."""
    known = {f.name for f in fields(TrainSettings)}
    return TrainSettings(**{k: v for k, v in saved.items() if k in known})


class Trainer:
    """One training run: data, model, optimiser, schedule, checkpoints."""

    def __init__(
        self,
        corpus: Path,
        out_dir: Path,
        settings: TrainSettings,
        *,
        command: str = "",
        resume: bool = False,
    ) -> None:
        self.corpus, self.out_dir, self.command = Path(corpus), Path(out_dir), command
        lines = read_corpus(self.corpus)
        self.corpus_sha = hashlib.sha256(Path(corpus).read_bytes()).hexdigest()
        self.lines = lines
        train_lines, held_lines = heldout_split(lines)
        meta = self._read_checkpoint_meta() if resume else None
        if meta is not None:
            if meta["corpus_sha256"] != self.corpus_sha:
                raise RhymerError("The corpus changed since the checkpoint; train afresh.")
            settings = replace(
                _settings_from(meta["settings"]),
                epochs=settings.epochs,
                minutes=settings.minutes,
                device=settings.device,
                precision=settings.precision,
            )
            self.vocab = Vocab(meta["chars"])
        else:
            self.vocab = Vocab.from_text("\n".join(lines) + "\n")
        self.settings = s = settings
        device = pick_device(s.device)
        self.dist = distributed.setup(device.type)
        self.device = distributed.local_device(device, self.dist)
        self.amp = amp_dtype(self.device, s.precision)
        torch.manual_seed(s.seed)
        self.train_data = torch.tensor(self.vocab.encode(reversed_stream(train_lines)))
        self.held_data = torch.tensor(self.vocab.encode(reversed_stream(held_lines)))
        if len(self.train_data) < 2 * s.seq_len + 2:
            raise RhymerError(
                f"The corpus is too small for sequence length {s.seq_len}: it has "
                f"{len(self.train_data)} training characters; use a bigger corpus or a "
                "smaller --seq-len."
            )
        world = self.dist.world_size
        per_rank = (len(self.train_data) - 1) // (s.seq_len * 2) // world
        self.batch = max(1, min(s.batch_size, per_rank))
        cfg = ModelConfig(self.vocab.chars, s.n_layers, s.n_hidden, s.n_embd, s.dropout)
        self.model = CharLSTM(cfg).to(self.device)
        if self.device.type == "cpu" and isinstance(self.model.drop, nn.Dropout):
            self.model.drop = FastDropout(self.model.drop.p)  # same dropout, cheaper mask
        self.opt = _adam(self.model.parameters(), s.lr, self.device)
        self.scaler = _grad_scaler(self.device, self.amp)
        self.step, self.epoch, self.elapsed = 0, 0, 0.0
        self.best_bpc, self.history = math.inf, []
        self.commands = [command] if command else []
        self.stop_requested = False  # set from another thread (the TUI's Stop) to end early
        self.max_len = max_line_chars(lines)
        if meta is not None:
            self._load_checkpoint(meta)
        if self.device.type == "cuda":
            self.model.lstm.flatten_parameters()  # one cuDNN weight buffer, no per-call copy
        if self.dist.rank:  # same initial weights everywhere (DDP broadcasts them), own dropout
            torch.manual_seed(s.seed + 7919 * self.dist.rank)
        self._device_data: torch.Tensor | None = None

    def request_stop(self) -> None:
        """Ask the run to stop after the current step (safe from any thread)."""
        self.stop_requested = True

    # -- checkpoints -------------------------------------------------------------------
    def _read_checkpoint_meta(self) -> dict | None:
        path = self.out_dir / CHECKPOINT_META
        if not path.is_file():
            raise RhymerError(f"Nothing to resume: {path} does not exist.")
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RhymerError(f"{path} is damaged; train afresh without --resume.") from exc

    def _load_checkpoint(self, meta: dict) -> None:
        tensors = load_tensors(self.out_dir / CHECKPOINT)
        model_state = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
        self.model.load_state_dict(model_state)
        _restore_optimizer(self.opt, tensors, meta["optimizer"])
        self.step, self.epoch, self.elapsed = meta["step"], meta["epoch"], meta["elapsed"]
        self.best_bpc, self.history = meta["best_bpc"], meta["history"]
        self.commands = meta.get("commands", []) + self.commands

    def save_checkpoint(self) -> None:
        """The full resumable state (weights and optimiser), beside the best model."""
        if not self.dist.is_main:
            return
        opt_tensors, opt_meta = _flatten_optimizer(self.opt)
        tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()} | opt_tensors
        self.out_dir.mkdir(parents=True, exist_ok=True)
        save_tensors(self.out_dir / CHECKPOINT, tensors)
        atomic_write_json(
            self.out_dir / CHECKPOINT_META,
            {
                "settings": asdict(self.settings),
                "chars": self.vocab.chars,
                "corpus_sha256": self.corpus_sha,
                "step": self.step,
                "epoch": self.epoch,
                "elapsed": self.elapsed,
                "best_bpc": self.best_bpc,
                "history": self.history,
                "optimizer": opt_meta,
            },
        )

    def save_best(self, heldout_bpc: float, train_bpc: float) -> None:
        if not self.dist.is_main:
            return
        facts = {
            "corpus": self.corpus.name,
            "corpus_sha256": self.corpus_sha,
            "train_command": self.command,
            "heldout_bpc": round(heldout_bpc, 4),
            "train_bpc": round(train_bpc, 4),
            "epoch": self.epoch,
            "step": self.step,
            "chars_trained": self.step * self.batch * self.dist.world_size * self.settings.seq_len,
            "train_seconds": round(self.elapsed, 1),
            "device": str(self.device),
            "processes": self.dist.world_size,
            "precision": precision_name(self.amp),
            "torch": torch.__version__,
            "max_line_chars": self.max_len,
            "settings": asdict(self.settings),
        }
        save_model(self.model, self.out_dir, facts)

    def save_lexicon(self) -> None:
        """The corpus lexicon in the model folder, if it is not there yet.

        Written before the run's clock starts: building it takes ~5 s of one core on the
        2.3 MB default corpus, time a `--minutes` budget is for training, and the folder is
        then usable for couplets from the first best model on, even if the run is killed.
        """
        out = self.out_dir
        if self.dist.is_main and not (out / "lexicon.json").is_file():
            out.mkdir(parents=True, exist_ok=True)
            Lexicon.from_lines(self.lines).save(out)

    # -- the loop ----------------------------------------------------------------------
    def lr_at(self, progress: float) -> float:
        """The full lr for the first 3/4 of the run, then a linear decay to lr/10.

        Warmup-stable-decay without the warmup (Adam at this lr needs none): a cosine starts
        decaying at once, which costs most when a run is short. 2x256 on the default corpus,
        400 steps of 64 x 100 in bf16 (a 5-minute run gets 400-1,200 on 2 cores): held-out
        2.64 bits/char against 2.81 with a cosine to lr/10. Over long runs a decay over the
        last ~20% matches a cosine (Hagele et al. 2024, "Scaling Laws and Compute-Optimal
        Training Beyond Fixed Training Durations"), and a run stopped early has trained at
        the full rate.
        """
        progress = min(1.0, max(0.0, progress))
        if progress <= 1 - LR_DECAY_SHARE:
            return self.settings.lr
        return self.settings.lr * (0.1 + 0.9 * (1 - progress) / LR_DECAY_SHARE)

    def _data_on_device(self) -> torch.Tensor:
        """The encoded training stream on the training device, copied there once."""
        if self._device_data is None:
            data = self.train_data
            if self.device.type == "cuda":
                data = data.pin_memory().to(self.device, non_blocking=True)
            else:
                data = data.to(self.device)
            self._device_data = data
        return self._device_data

    def _epoch_tracks(self, data: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """This rank's tracks for the current epoch, at an offset every rank agrees on."""
        s, ctx = self.settings, self.dist
        gen = torch.Generator().manual_seed(s.seed * 1_000_003 + self.epoch)
        offset = int(torch.randint(0, s.seq_len, (1,), generator=gen))
        x, y = tracks(data, self.batch * ctx.world_size, s.seq_len, offset)
        part = slice(ctx.rank * self.batch, (ctx.rank + 1) * self.batch)
        return x[part], y[part]

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.amp is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp)

    def run(
        self,
        on_step: Callable[[dict], None] | None = None,
        on_eval: Callable[[EpochReport], None] | None = None,
    ) -> dict[str, Any]:
        """Train until the epochs or minutes run out; Ctrl-C stops early and keeps everything.

        Under torchrun only rank 0 calls `on_step` / `on_eval` and writes files.
        """
        s, device, ctx = self.settings, self.device, self.dist
        if not ctx.is_main:
            on_step = on_eval = None
        if s.epochs is None and s.minutes is None:
            s.epochs = 10
        budget = s.minutes * 60 if s.minutes is not None else None
        start_elapsed, start_epoch = self.elapsed, self.epoch
        net = distributed.wrap(self.model, ctx, device)
        data = self._data_on_device()
        per_step = self.batch * ctx.world_size * s.seq_len
        steps_per_epoch = max(1, (len(data) - 1 - s.seq_len) // per_step)
        total_steps = steps_per_epoch * s.epochs if s.epochs is not None else None
        # Reading the loss back waits for the GPU, so there it is read only now and then.
        read_every = 1 if device.type == "cpu" else 32
        stop, interrupted = False, False
        self.save_lexicon()
        t0 = time.perf_counter() - self.elapsed
        last_eval = self.elapsed
        loss_acc = torch.zeros((), device=device)
        loss_n, loss_mean, chars_since, tick = 0, 0.0, 0, time.perf_counter()
        self.model.train()
        previous = _sigterm_as_interrupt()
        try:
            while not stop:
                x, y = self._epoch_tracks(data)
                state = None
                for t in range(0, x.shape[1], s.seq_len):
                    self.elapsed = time.perf_counter() - t0
                    progress = 0.0
                    if budget is not None:  # a resumed run continues the decay, not restarts it
                        progress = self.elapsed / (start_elapsed + budget)
                    if total_steps is not None:
                        progress = max(progress, self.step / total_steps)
                    lr = self.lr_at(progress)
                    for group in self.opt.param_groups:
                        group["lr"] = lr
                    chunk = slice(t, t + s.seq_len)
                    loss, state = self._train_step(net, x[:, chunk], y[:, chunk], state)
                    self.step += 1
                    loss_acc += loss
                    loss_n += 1
                    chars_since += per_step
                    if loss_n % read_every == 0 or loss_n == 1:
                        loss_mean = float(loss_acc) / loss_n
                    if on_step:
                        now = time.perf_counter()
                        on_step(
                            {
                                "step": self.step,
                                "loss_bpc": loss_mean / math.log(2),
                                "chars_per_s": chars_since / max(1e-9, now - tick),
                                "progress": min(1.0, progress),
                                "epoch": self.epoch,
                            }
                        )
                    out_of_time = budget is not None and self.elapsed - start_elapsed >= budget
                    due = self.elapsed - last_eval >= s.eval_minutes * 60
                    stop, due = distributed.agree(ctx, [out_of_time or self.stop_requested, due])
                    if stop:
                        break
                    if due:
                        cps = chars_since / max(1e-9, time.perf_counter() - tick)
                        self._eval(float(loss_acc) / loss_n, cps, on_eval, samples=False)
                        loss_acc.zero_()
                        loss_n, last_eval = 0, self.elapsed
                if not stop:  # a run cut short mid-epoch has not finished that epoch
                    self.epoch += 1
                if s.epochs is not None and self.epoch - start_epoch >= s.epochs:
                    stop = True
                cps = chars_since / max(1e-9, time.perf_counter() - tick)
                self._eval(float(loss_acc) / max(1, loss_n), cps, on_eval, samples=True)
                loss_acc.zero_()
                loss_n, last_eval = 0, self.elapsed
                chars_since, tick = 0, time.perf_counter()
        except KeyboardInterrupt:
            interrupted = True
            self.elapsed = time.perf_counter() - t0
            if ctx.is_main and not (self.out_dir / CONFIG).is_file():
                mean = float(loss_acc) / max(1, loss_n)
                self._eval(mean, 0.0, None, samples=False, together=False)
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        self.save_checkpoint()
        del net  # DDP's reducer must go before its process group does
        distributed.teardown(ctx)
        return {
            "best_bpc": self.best_bpc,
            "steps": self.step,
            "epochs": self.epoch,
            "seconds": self.elapsed,
            "interrupted": interrupted,
            "out_dir": str(self.out_dir),
        }

    def _train_step(
        self,
        net: nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        state: tuple[torch.Tensor, torch.Tensor] | None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """One truncated-BPTT step on one chunk; the (detached) loss and the carried state."""
        s = self.settings
        with self._autocast():
            logits, state = net(x, state)
        loss = nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]).float(), y.reshape(-1)
        )
        self.opt.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.opt)
            nn.utils.clip_grad_norm_(self.model.parameters(), s.grad_clip)
            self.scaler.step(self.opt)
            self.scaler.update()
        else:
            loss.backward()
            nn.utils.clip_grad_norm_(self.model.parameters(), s.grad_clip)
            self.opt.step()
        return loss.detach(), _detach(state)

    def _eval(
        self,
        train_loss_nats: float,
        cps: float,
        on_eval: Callable[[EpochReport], None] | None,
        samples: bool,
        together: bool = True,
    ) -> None:
        """Held-out loss (split over the ranks when `together`), best model, checkpoint."""
        ctx = self.dist
        if together and ctx.enabled:
            total, count = evaluate_sums(
                self.model,
                self.held_data,
                self.settings.seq_len,
                self.device,
                (ctx.rank, ctx.world_size),
            )
            total, count, train_sum = distributed.all_sum(ctx, [total, count, train_loss_nats])
            train_loss_nats = train_sum / ctx.world_size
        else:
            total, count = evaluate_sums(
                self.model, self.held_data, self.settings.seq_len, self.device
            )
        held = total / max(1, count) / math.log(2)
        train_bpc = train_loss_nats / math.log(2)
        self.history.append(
            {"step": self.step, "train_bpc": round(train_bpc, 4), "heldout_bpc": round(held, 4)}
        )
        if held < self.best_bpc:
            self.best_bpc = held
            self.save_best(held, train_bpc)
        self.save_checkpoint()
        report = EpochReport(self.epoch, self.step, train_bpc, held, self.best_bpc, cps)
        if samples and ctx.is_main:
            cpu_model = self.model if self.device.type == "cpu" else None
            if cpu_model is None:
                cpu_model = CharLSTM(self.model.cfg)
                cpu_model.load_state_dict({k: v.cpu() for k, v in self.model.state_dict().items()})
            for temp in (0.5, 0.8, 1.0):
                report.samples[temp] = free_samples(
                    cpu_model, self.vocab, temp, 2, self.max_len, seed=self.step
                )
        self.model.train()
        if on_eval:
            on_eval(report)


def precision_name(amp: torch.dtype | None) -> str:
    """How a run's autocast dtype is shown and recorded: fp32, bf16 or fp16."""
    return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[amp]
