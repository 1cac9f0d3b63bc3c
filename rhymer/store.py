"""Model folders on disk: safetensors weights + config.json, written atomically, never unpickled.

A model folder holds `model.safetensors` and `config.json` (model sizes, characters, training
facts and the sha256 of the weights, so a half-replaced pair is caught on load).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load, save

from rhymer.atomic import atomic_write_bytes, atomic_write_json
from rhymer.errors import RhymerError
from rhymer.model import CharLSTM, ModelConfig

WEIGHTS = "model.safetensors"
CONFIG = "config.json"


def save_tensors(path: Path, tensors: dict[str, torch.Tensor]) -> str:
    """Atomically write tensors as safetensors; returns the file's sha256."""
    data = save({k: v.detach().cpu().contiguous() for k, v in tensors.items()})
    atomic_write_bytes(path, data)
    return hashlib.sha256(data).hexdigest()


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    """Read a safetensors file; a clear RhymerError if it is missing or not safetensors."""
    if not path.is_file():
        raise RhymerError(f"Model file {path} is missing.")
    try:
        return load(path.read_bytes())
    except (SafetensorError, OSError, ValueError) as exc:
        raise RhymerError(f"Model file {path} is damaged or not a safetensors file.") from exc


def save_model(model: CharLSTM, out_dir: Path, facts: dict[str, Any]) -> None:
    """Write the weights, then the config that names their hash (the config is the commit)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    digest = save_tensors(out_dir / WEIGHTS, model.state_dict())
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


def load_model(model_dir: Path) -> tuple[CharLSTM, dict[str, Any]]:
    """Load a model folder for inference on the CPU; never unpickles anything."""
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
        model = CharLSTM(cfg)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise RhymerError(f"{model_dir / CONFIG} has invalid model sizes.") from exc
    path = model_dir / WEIGHTS
    if not path.is_file():
        raise RhymerError(f"Model file {path} is missing.")
    data = path.read_bytes()
    want = config.get("weights_sha256")
    if want and hashlib.sha256(data).hexdigest() != want:
        raise RhymerError(f"{path} does not match its {CONFIG} (damaged or half-written?).")
    try:
        state = load(data)
    except (SafetensorError, ValueError) as exc:
        raise RhymerError(f"Model file {path} is damaged or not a safetensors file.") from exc
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise RhymerError(f"{path} does not fit the sizes in {CONFIG}.") from exc
    model.eval()
    return model, config
