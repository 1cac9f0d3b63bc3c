"""Training a CharLSTM on a corpus read backwards, with held-out loss, checkpoints and resume.

The corpus is one character stream, reversed, cut into `batch` contiguous tracks and read in
`seq_len` chunks with the LSTM state carried from chunk to chunk (truncated BPTT), so every
character is a target once per epoch and the model sees context far longer than one chunk.
"""

from __future__ import annotations

import hashlib
import json
import math
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rhymer.atomic import atomic_write_json
from rhymer.corpus import heldout_split, read_corpus
from rhymer.errors import RhymerError
from rhymer.lexicon import Lexicon
from rhymer.model import CharLSTM, ModelConfig, Vocab
from rhymer.store import CONFIG, load_tensors, save_model, save_tensors

CHECKPOINT = "checkpoint.safetensors"
CHECKPOINT_META = "checkpoint.json"


@dataclass
class TrainSettings:
    """Everything that shapes a training run; presets fill it from the corpus size."""

    n_layers: int = 2
    n_hidden: int = 256
    n_embd: int = 64
    dropout: float = 0.1
    seq_len: int = 100
    batch_size: int = 64
    lr: float = 2e-3
    epochs: int | None = None
    minutes: float | None = None
    device: str = "auto"
    seed: int = 0
    grad_clip: float = 5.0
    eval_minutes: float = 5.0


# (largest corpus in characters, preset name, sizes): after ml5 / char-rnn's advice table.
PRESETS: list[tuple[int, str, dict[str, Any]]] = [
    (300_000, "tiny", dict(n_layers=2, n_hidden=128, seq_len=64, dropout=0.2)),
    (1_000_000, "small", dict(n_layers=2, n_hidden=192, seq_len=64, dropout=0.2)),
    (6_000_000, "medium", dict(n_layers=2, n_hidden=256, seq_len=100, dropout=0.1)),
    (25_000_000, "large", dict(n_layers=2, n_hidden=512, seq_len=100, dropout=0.1)),
    (10**12, "huge", dict(n_layers=3, n_hidden=512, seq_len=128, dropout=0.1)),
]


def preset_for(n_chars: int) -> tuple[str, dict[str, Any]]:
    """The preset name and sizes for a corpus of `n_chars` characters."""
    for limit, name, sizes in PRESETS:
        if n_chars <= limit:
            return name, dict(sizes)
    return PRESETS[-1][1], dict(PRESETS[-1][2])


def pick_device(name: str) -> torch.device:
    """'auto' picks CUDA, then Apple MPS, then the CPU; an unavailable choice is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RhymerError("--device cuda was asked for, but no CUDA GPU is available.")
    if name == "mps" and not torch.backends.mps.is_available():
        raise RhymerError("--device mps was asked for, but Apple MPS is not available.")
    if name not in ("cpu", "cuda", "mps"):
        raise RhymerError(f"Unknown device {name!r}; use auto, cpu, cuda or mps.")
    return torch.device(name)


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
def evaluate(model: CharLSTM, data: torch.Tensor, seq_len: int, device: torch.device) -> float:
    """Mean bits per character of `data` under the model (state carried across chunks)."""
    was_training = model.training
    model.eval()
    n_tracks = max(1, min(32, (len(data) - 1) // (seq_len * 4)))
    length = (len(data) - 1) // n_tracks
    x = data[: n_tracks * length].view(n_tracks, length).to(device)
    y = data[1 : 1 + n_tracks * length].view(n_tracks, length).to(device)
    total, count, state = 0.0, 0, None
    for t in range(0, length, seq_len):
        logits, state = model(x[:, t : t + seq_len], state)
        loss = nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]),
            y[:, t : t + seq_len].reshape(-1),
            reduction="sum",
        )
        total += float(loss)
        count += y[:, t : t + seq_len].numel()
    model.train(was_training)
    return total / max(1, count) / math.log(2)


def free_samples(
    model: CharLSTM, vocab: Vocab, temperature: float, n: int, max_len: int, seed: int = 0
) -> list[str]:
    """`n` lines written backwards from a line break, read forwards."""
    from rhymer.sampler import Sampler

    sampler = Sampler(model)
    newline = vocab.stoi["\n"]
    logits, state, _ = sampler.prime([[newline]] * n)
    out = sampler.continue_lines(
        logits,
        state,
        newline=newline,
        temperature=temperature,
        max_len=max_len,
        generator=torch.Generator().manual_seed(seed),
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
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _sigterm_as_interrupt() -> Any:
    """Treat SIGTERM like Ctrl-C (save and stop); only possible from the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_interrupt)


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
                TrainSettings(**meta["settings"]),
                epochs=settings.epochs,
                minutes=settings.minutes,
                device=settings.device,
            )
            self.vocab = Vocab(meta["chars"])
        else:
            self.vocab = Vocab.from_text("\n".join(lines) + "\n")
        self.settings = s = settings
        self.device = pick_device(s.device)
        torch.manual_seed(s.seed)
        self.train_data = torch.tensor(self.vocab.encode(reversed_stream(train_lines)))
        self.held_data = torch.tensor(self.vocab.encode(reversed_stream(held_lines)))
        if len(self.train_data) < 2 * s.seq_len + 2:
            raise RhymerError(
                f"The corpus is too small for sequence length {s.seq_len}: it has "
                f"{len(self.train_data)} training characters; use a bigger corpus or a "
                "smaller --seq-len."
            )
        self.batch = max(1, min(s.batch_size, (len(self.train_data) - 1) // (s.seq_len * 2)))
        cfg = ModelConfig(self.vocab.chars, s.n_layers, s.n_hidden, s.n_embd, s.dropout)
        self.model = CharLSTM(cfg).to(self.device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=s.lr)
        self.step, self.epoch, self.elapsed = 0, 0, 0.0
        self.best_bpc, self.history = math.inf, []
        self.commands = [command] if command else []
        self.stop_requested = False  # set from another thread (the TUI's Stop) to end early
        self.max_len = max_line_chars(lines)
        if meta is not None:
            self._load_checkpoint(meta)

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
        facts = {
            "corpus": self.corpus.name,
            "corpus_sha256": self.corpus_sha,
            "train_command": self.command,
            "heldout_bpc": round(heldout_bpc, 4),
            "train_bpc": round(train_bpc, 4),
            "epoch": self.epoch,
            "step": self.step,
            "chars_trained": self.step * self.batch * self.settings.seq_len,
            "train_seconds": round(self.elapsed, 1),
            "device": str(self.device),
            "torch": torch.__version__,
            "max_line_chars": self.max_len,
            "settings": asdict(self.settings),
        }
        save_model(self.model, self.out_dir, facts)
        if not (self.out_dir / "lexicon.json").is_file():
            Lexicon.from_lines(self.lines).save(self.out_dir)

    # -- the loop ----------------------------------------------------------------------
    def lr_at(self, progress: float) -> float:
        """Cosine decay from lr to lr/10 over the run."""
        progress = min(1.0, max(0.0, progress))
        return self.settings.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))

    def run(
        self,
        on_step: Callable[[dict], None] | None = None,
        on_eval: Callable[[EpochReport], None] | None = None,
    ) -> dict[str, Any]:
        """Train until the epochs or minutes run out; Ctrl-C stops early and keeps everything."""
        s, model, device = self.settings, self.model, self.device
        if s.epochs is None and s.minutes is None:
            s.epochs = 10
        budget = s.minutes * 60 if s.minutes is not None else None
        start_elapsed, start_epoch = self.elapsed, self.epoch
        x_all = self.train_data
        steps_per_epoch = max(1, (len(x_all) - 1 - s.seq_len) // self.batch // s.seq_len)
        total_steps = steps_per_epoch * s.epochs if s.epochs is not None else None
        stop, interrupted = False, False
        t0 = time.perf_counter() - self.elapsed
        last_eval = self.elapsed
        loss_sum, loss_n, chars_since, tick = 0.0, 0, 0, time.perf_counter()
        model.train()
        previous = _sigterm_as_interrupt()
        try:
            while not stop:
                offset = int(torch.randint(0, s.seq_len, (1,)))
                x, y = tracks(x_all, self.batch, s.seq_len, offset)
                x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                state = None
                for t in range(0, x.shape[1], s.seq_len):
                    self.elapsed = time.perf_counter() - t0
                    progress = 0.0
                    if budget is not None:  # a resumed run continues the decay, not restarts it
                        progress = self.elapsed / (start_elapsed + budget)
                    if total_steps is not None:
                        progress = max(progress, self.step / total_steps)
                    for group in self.opt.param_groups:
                        group["lr"] = self.lr_at(progress)
                    logits, state = model(x[:, t : t + s.seq_len], state)
                    loss = nn.functional.cross_entropy(
                        logits.reshape(-1, logits.shape[-1]), y[:, t : t + s.seq_len].reshape(-1)
                    )
                    self.opt.zero_grad(set_to_none=True)
                    loss.backward()
                    nn.utils.clip_grad_norm_(model.parameters(), s.grad_clip)
                    self.opt.step()
                    state = _detach(state)
                    self.step += 1
                    loss_sum += float(loss.detach())
                    loss_n += 1
                    chars_since += x.shape[0] * s.seq_len
                    now = time.perf_counter()
                    cps = chars_since / max(1e-9, now - tick)
                    if on_step:
                        on_step(
                            {
                                "step": self.step,
                                "loss_bpc": loss_sum / loss_n / math.log(2),
                                "chars_per_s": cps,
                                "progress": min(1.0, progress),
                                "epoch": self.epoch,
                            }
                        )
                    out_of_time = budget is not None and self.elapsed - start_elapsed >= budget
                    if out_of_time or self.stop_requested:
                        stop = True
                        break
                    if self.elapsed - last_eval >= s.eval_minutes * 60:
                        self._eval(loss_sum / loss_n, cps, on_eval, samples=False)
                        loss_sum, loss_n, last_eval = 0.0, 0, self.elapsed
                if not stop:  # a run cut short mid-epoch has not finished that epoch
                    self.epoch += 1
                if s.epochs is not None and self.epoch - start_epoch >= s.epochs:
                    stop = True
                now = time.perf_counter()
                cps = chars_since / max(1e-9, now - tick)
                self._eval(loss_sum / max(1, loss_n), cps, on_eval, samples=True)
                loss_sum, loss_n, last_eval = 0.0, 0, self.elapsed
                chars_since, tick = 0, time.perf_counter()
        except KeyboardInterrupt:
            interrupted = True
            self.elapsed = time.perf_counter() - t0
            if not (self.out_dir / CONFIG).is_file():
                self._eval(loss_sum / max(1, loss_n), 0.0, None, samples=False)
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        self.save_checkpoint()
        return {
            "best_bpc": self.best_bpc,
            "steps": self.step,
            "epochs": self.epoch,
            "seconds": self.elapsed,
            "interrupted": interrupted,
            "out_dir": str(self.out_dir),
        }

    def _eval(
        self,
        train_bpc_nats: float,
        cps: float,
        on_eval: Callable[[EpochReport], None] | None,
        samples: bool,
    ) -> None:
        train_bpc = train_bpc_nats / math.log(2)
        held = evaluate(self.model, self.held_data, self.settings.seq_len, self.device)
        self.history.append(
            {"step": self.step, "train_bpc": round(train_bpc, 4), "heldout_bpc": round(held, 4)}
        )
        if held < self.best_bpc:
            self.best_bpc = held
            self.save_best(held, train_bpc)
        self.save_checkpoint()
        report = EpochReport(self.epoch, self.step, train_bpc, held, self.best_bpc, cps)
        if samples:
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
