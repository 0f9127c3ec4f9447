"""What `python run.py mode=...` runs. Each mode is `run(cfg, run_dir)`; an int it returns is the exit status."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from omegaconf import DictConfig

from rest.errors import UserError

MODES = {
    "loop": "rest.loop:run",  # ReST-EM: Grow, Improve, Train, Evaluate (the default)
    "score": "rest.modes.score:run",  # score an existing JSONL of (prompt, completion) rows
    "rm_eval": "rest.modes.rm_eval:run",  # how well scorers rank samples (pairs, best-of-N)
    "generate": "rest.modes.generate:run",  # Grow + score a split into a dataset, resumable and shardable
    "merge": "rest.modes.merge:run",  # join mode=generate shard outputs into one dataset
}


def run_mode(cfg: DictConfig, run_dir: Path) -> int:
    if cfg.mode not in MODES:
        raise UserError(f"mode must be one of {sorted(MODES)}, got {cfg.mode!r}")
    module, function = MODES[cfg.mode].split(":")
    status = getattr(import_module(module), function)(cfg, run_dir)
    return status if isinstance(status, int) else 0
