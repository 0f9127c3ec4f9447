"""Can a checkpoint be loaded into an engine that runs another one? Only when everything vLLM fixed at start
(architecture and shapes, vocabulary and special tokens, chat template, generation defaults) is the same: then
only the weights differ. Both sides are read through transformers, so a checkpoint saved by the trainer compares
equal to the hub original it was trained from although its files are written differently.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache

# Config keys that change from one save to the next without changing what the engine runs.
VOLATILE = {"_name_or_path", "transformers_version", "use_cache", "_commit_hash", "_from_model_config"}


@lru_cache(maxsize=64)
def engine_identity(path: str) -> str:
    """A digest of what must match for a weight reload to equal a fresh engine. Cached: a checkpoint
    directory is never rewritten once written (each iteration saves to a new one)."""
    from transformers import AutoConfig, AutoTokenizer, GenerationConfig

    config = {k: v for k, v in AutoConfig.from_pretrained(path).to_dict().items() if k not in VOLATILE}
    tokenizer = AutoTokenizer.from_pretrained(path)
    try:
        generation = GenerationConfig.from_pretrained(path).to_diff_dict()
    except OSError:  # no generation_config.json: vLLM uses the model config's ids
        generation = None
    parts = {"config": config, "vocab": tokenizer.get_vocab(), "special": tokenizer.special_tokens_map,
             "chat_template": tokenizer.chat_template, "generation": _stable(generation)}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _stable(settings: dict | None) -> dict | None:
    return None if settings is None else {k: v for k, v in settings.items() if k not in VOLATILE}
