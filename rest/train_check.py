"""Train's LoRA settings (`trainer.peft`, against peft.LoraConfig), and Train's settings checked against the model
and the prompts it will train on, before any work.

What only the model or the data can refuse would otherwise surface at the first Train, after Grow, and a rerun
with the corrected setting would then be refused as a change of the run's settings:
- a LoRA adapter (`trainer.peft`) whose `target_modules` or `layers_to_transform` match no module of the model:
  PEFT wraps the model once, as Train will, built from its config alone on the meta device (no weights loaded);
- `trainer.max_length` at or below a prompt's length in tokens: TRL truncates prompt + completion to max_length
  and drops an example with no completion token left, so such problems' samples are never trained on (all of
  them: Train has nothing to train on).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from rest.errors import UserError, first_line

log = logging.getLogger(__name__)


def lora_config(peft: dict[str, Any]):
    """peft.LoraConfig from `trainer.peft`; a field it lacks or a value it refuses is a one-line UserError."""
    from peft import LoraConfig

    try:
        return LoraConfig(**peft)
    except TypeError as err:
        raise UserError(f"trainer.peft: {err} (its keys are peft.LoraConfig fields)") from None
    except ValueError as err:
        raise UserError(f"trainer.peft: {first_line(err)}") from None


def peft_error(peft: Mapping[str, Any] | None) -> str | None:
    """One line saying what peft.LoraConfig refuses in `trainer.peft`, or None (also when it is null: no LoRA)."""
    if peft is None:
        return None
    if not isinstance(peft, Mapping):
        return (f"trainer.peft must be null (full fine-tuning) or a map of peft.LoraConfig fields, e.g. "
                f"trainer.peft='{{r: 16, lora_alpha: 32, target_modules: all-linear}}'; got {peft!r}")
    try:
        lora = lora_config(dict(peft))
    except UserError as err:
        return str(err)
    if lora.r < 1:  # LoraConfig accepts it; PEFT refuses it only when it wraps the model, at Train
        return f"trainer.peft.r must be >= 1, got {lora.r}"
    return None


def adapter_error(peft: dict[str, Any], model: str) -> str | None:
    """One line saying why PEFT cannot put the adapter `peft` on `model` (a path or hub name), or None."""
    from accelerate import init_empty_weights
    from peft import get_peft_model
    from transformers import AutoConfig, AutoModelForCausalLM

    lora = lora_config(peft)
    with init_empty_weights():
        skeleton = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(model))
        try:
            get_peft_model(skeleton, lora)
        except ValueError as err:
            return f"trainer.peft: {first_line(err)} (the model: {model})"
    return None


def length_error(max_length: int | None, model: str, prompts: list[str]) -> str | None:
    """One line when every prompt fills `max_length` tokens of `model`'s tokenizer (as TRL counts them); a
    warning when some do."""
    if max_length is None or not prompts:
        return None
    from transformers import AutoTokenizer

    lengths = [len(ids) for ids in AutoTokenizer.from_pretrained(model)(prompts)["input_ids"]]
    too_long = sum(length >= max_length for length in lengths)
    if too_long == len(prompts):
        return (f"trainer.max_length={max_length} leaves no completion token to train on: every prompt is at least "
                f"that long (the shortest: {min(lengths)} tokens); raise trainer.max_length")
    if too_long:
        log.warning("trainer.max_length=%d: %d of %d prompts are at least that long (the longest: %d tokens); "
                    "their samples will not be trained on", max_length, too_long, len(prompts), max(lengths))
    return None


def dropped_error(given: int, kept: int, max_length: int | None) -> str | None:
    """After TRL prepared the data: one line when it dropped every example, a warning when it dropped some."""
    if kept == 0:
        return (f"Train: TRL left none of the {given} examples: every prompt fills trainer.max_length={max_length} "
                "tokens, leaving no completion token to train on; raise trainer.max_length")
    if kept < given:
        log.warning("Train: %d of %d examples left out: their prompt fills trainer.max_length=%s tokens",
                    given - kept, given, max_length)
    return None
