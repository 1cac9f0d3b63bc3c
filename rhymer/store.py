"""Model folders on disk: safetensors weights + config.json, written atomically, never unpickled.

A model folder holds `model.safetensors` and `config.json` (model sizes, characters, training
facts and the sha256 of the weights, so a half-replaced pair is caught on load). Reading needs
only numpy (`read_weights`), which is what making couplets uses; `load_model` builds the torch
module from the same checked arrays, for training and evaluation.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as load_numpy
from safetensors.numpy import save as save_numpy

from rhymer.atomic import atomic_write_bytes, atomic_write_json
from rhymer.config import ModelConfig
from rhymer.errors import RhymerError

if TYPE_CHECKING:
    import torch

    from rhymer.model import CharLSTM

WEIGHTS = "model.safetensors"
CONFIG = "config.json"


def save_tensors(path: Path, tensors: dict[str, torch.Tensor]) -> str:
    """Atomically write torch tensors as safetensors; returns the file's sha256."""
    from safetensors.torch import save

    data = save({k: v.detach().cpu().contiguous() for k, v in tensors.items()})
    atomic_write_bytes(path, data)
    return hashlib.sha256(data).hexdigest()


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    """Read a safetensors file as torch tensors; a clear RhymerError if missing or damaged."""
    from safetensors.torch import load

    if not path.is_file():
        raise RhymerError(f"Model file {path} is missing.")
    try:
        return load(path.read_bytes())
    except (SafetensorError, OSError, ValueError) as exc:
        raise RhymerError(f"Model file {path} is damaged or not a safetensors file.") from exc


def save_model(model: CharLSTM, out_dir: Path, facts: dict[str, Any]) -> None:
    """Write the weights, then the config that names their hash (the config is the commit)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    arrays = {
        k: v.detach().float().cpu().contiguous().numpy() for k, v in model.state_dict().items()
    }
    data = save_numpy(arrays)
    atomic_write_bytes(out_dir / WEIGHTS, data)
    digest = hashlib.sha256(data).hexdigest()
    config = {"model": model.cfg.to_dict(), "reversed": True, **facts, "weights_sha256": digest}
    atomic_write_json(out_dir / CONFIG, config)


def read_config(model_dir: Path) -> dict[str, Any]:
    """The parsed config.json of a model folder, or a clear RhymerError."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise RhymerError(
            f"Model folder {model_dir} does not exist; train one with `rhymer train`."
        )
    path = model_dir / CONFIG
    if not path.is_file():
        raise RhymerError(f"Model folder {model_dir} has no {CONFIG}; is it a rhymer model?")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RhymerError(f"{path} is not valid JSON (truncated or damaged?).") from exc
    if not isinstance(config, dict):
        raise RhymerError(f"{path} is not a rhymer model config.")
    return config


def read_weights(model_dir: Path) -> tuple[ModelConfig, dict[str, Any], dict[str, np.ndarray]]:
    """(sizes, config, float32 weights by name) of an LSTM model folder, every part checked."""
    model_dir = Path(model_dir)
    config = read_config(model_dir)
    if not isinstance(config.get("model"), dict):
        raise RhymerError(
            f"{model_dir} holds no LSTM; train one with `rhymer train --engine lstm`."
        )
    if config.get("reversed") is not True:
        raise RhymerError(
            f"{model_dir} was not trained on a reversed corpus; rhymer cannot use it."
        )
    try:
        cfg = ModelConfig(**config["model"])
    except (TypeError, ValueError) as exc:
        raise RhymerError(f"{model_dir / CONFIG} has invalid model sizes.") from exc
    path = model_dir / WEIGHTS
    if not path.is_file():
        raise RhymerError(f"Model file {path} is missing.")
    data = path.read_bytes()
    want = config.get("weights_sha256")
    if want and hashlib.sha256(data).hexdigest() != want:
        raise RhymerError(f"{path} does not match its {CONFIG} (damaged or half-written?).")
    try:
        arrays = load_numpy(data)
    except (SafetensorError, ValueError, TypeError) as exc:
        raise RhymerError(f"Model file {path} is damaged or not a safetensors file.") from exc
    shapes = {k: tuple(v.shape) for k, v in arrays.items()}
    if shapes != cfg.shapes() or any(v.dtype.kind != "f" for v in arrays.values()):
        raise RhymerError(f"{path} does not fit the sizes in {CONFIG}.")
    return cfg, config, {k: v.astype(np.float32, copy=False) for k, v in arrays.items()}


def load_model(model_dir: Path) -> tuple[CharLSTM, dict[str, Any]]:
    """Load a model folder as a torch CharLSTM on the CPU, in eval mode."""
    import torch

    from rhymer.model import CharLSTM

    cfg, config, arrays = read_weights(model_dir)
    model = CharLSTM(cfg)
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in arrays.items()})
    model.eval()
    return model, config
