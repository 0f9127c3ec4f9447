"""Where the base model comes from: `model.path` (a local HF checkpoint or a hub name; made once from
`model.source` when that is set, e.g. a packaged GGUF file: rest/gguf.py), or, when it is null, the embedded
tiny model built by `model.build` (see rest/base_model.py)."""

from __future__ import annotations

import re
from pathlib import Path

from omegaconf import DictConfig

from rest.config import build
from rest.contracts import BaseModelBuilder
from rest.errors import UserError, first_line
from rest.hub import unreachable

_HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")
WEIGHTS = ("*.safetensors", "pytorch_model*.bin")
TOKENIZER = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model")


def resolve_base_model(model_cfg: DictConfig, task) -> str:
    builder: BaseModelBuilder | None = build(model_cfg.build) if model_cfg.get("build") is not None else None
    if model_cfg.get("path"):
        make_from_source(model_cfg)
        path = check_model_path(str(model_cfg.path))
        if builder is not None:  # model=tiny: its settings suit only a model of the kind its builder makes
            builder.check_kind(path)
        return path
    if builder is None:
        raise UserError("model: set model.path to a local checkpoint or hub name (or use model=tiny)")
    return builder.build(task)


def check_model_path(path: str, key: str = "model.path") -> str:
    """A local checkpoint directory with a config.json, or a hub name that resolves (cache or network); `key`: the
    setting that names it, for the one-line error."""
    path = str(path)  # a bare number on the command line (mode.policy=5) arrives as an int
    local = Path(path).expanduser()
    if local.exists():
        if not (local / "config.json").exists():
            raise UserError(f"{key} {path!r} exists but is not a Hugging Face checkpoint (no config.json)")
        missing = checkpoint_gaps(local)
        if missing:
            raise UserError(f"{key} {path!r} is not a whole Hugging Face checkpoint: it has no "
                            f"{' and no '.join(missing)}")
        return str(local.resolve())
    if not _HUB_ID.match(path):
        raise UserError(f"{key} {path!r} does not exist")
    from transformers import AutoConfig

    try:
        AutoConfig.from_pretrained(path)
    except OSError as err:
        why = unreachable(err, f"or set {key} to a local directory") or first_line(err)
        raise UserError(f"{key} {path!r} is neither a local directory nor a reachable hub model: {why}") from None
    return path


def checkpoint_gaps(directory: Path) -> list[str]:
    """What a checkpoint directory with a config.json lacks for vLLM and transformers to load it (a partial copy or
    download): its weights, its tokenizer."""
    gaps = []
    if not any(next(directory.glob(pattern), None) for pattern in WEIGHTS):
        gaps.append(f"weights ({' or '.join(WEIGHTS)})")
    if not any((directory / name).exists() for name in TOKENIZER):
        gaps.append(f"tokenizer ({', '.join(TOKENIZER)})")
    return gaps


def make_from_source(model_cfg: DictConfig) -> None:
    """Make `model.path` from `model.source` unless it exists (a no-op for a model without a source)."""
    if model_cfg.get("source") is not None:
        build(model_cfg.source).make(model_cfg.path)
