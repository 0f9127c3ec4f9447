"""The embedded default base model: a tiny Llama with a byte-level tokenizer, both built here, then
trained with the project's own SFT trainer on the task's `seed` split (worked solutions).

The result is cached under `cache_dir` by a hash of everything that shapes it (architecture,
tokenizer, training settings, the seed data and prompts), so a fresh clone builds it once, on first use.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from rest.artifacts import atomic_dir, one_maker
from rest.contracts import Task
from rest.errors import UserError
from rest.process_group import IN_PROCESS
from rest.stages.train import seed_examples
from rest.templates import check_template
from rest.trainer import SFT

log = logging.getLogger(__name__)

SPECIAL_TOKENS = {"pad_token": "<pad>", "bos_token": "<s>", "eos_token": "</s>"}


def byte_level_tokenizer():
    """A 259-token byte-level tokenizer (256 bytes + pad/bos/eos): no merges, so every digit is a token."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    symbols = list(SPECIAL_TOKENS.values()) + sorted(pre_tokenizers.ByteLevel.alphabet())
    tokenizer = Tokenizer(models.BPE(vocab={s: i for i, s in enumerate(symbols)}, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tokenizer.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, **SPECIAL_TOKENS)


def init_tiny_llama(out: str | Path, architecture: dict[str, Any], seed: int) -> None:
    """Save a randomly initialised Llama of the given shape, with the byte-level tokenizer, to `out`."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = byte_level_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        **{"tie_word_embeddings": True, **architecture},
    )
    torch.manual_seed(seed)
    LlamaForCausalLM(config).save_pretrained(out)
    tokenizer.save_pretrained(out)


class TinyBaseModel:
    """Builds (or finds in the cache) the seed-trained tiny base model; `build(task)` returns its path."""

    def __init__(self, *, cache_dir: str, architecture: dict[str, Any], train: dict[str, Any], seed: int,
                 hinted_share: float, hint_template: str | None):
        if not 0.0 <= hinted_share <= 1.0:
            raise UserError(f"model.build.hinted_share must be in [0, 1], got {hinted_share}")
        if hinted_share:
            check_template(hint_template or "", "model.build.hint_template", ("question", "answer"))
        self.cache_dir = Path(cache_dir)
        self.architecture = dict(architecture)
        self.train_args = dict(train)
        self.seed = seed
        self.hinted_share = hinted_share
        self.hint_template = hint_template

    def build(self, task: Task) -> str:
        examples = self.examples(task)
        out = self.cache_dir / f"tiny-llama-{self._fingerprint(examples)}"
        if not (out / "config.json").exists():
            with one_maker(out):  # parallel jobs on a fresh checkout build it once; the others wait for it
                if not (out / "config.json").exists():
                    self._make(examples, out)
        log.info("base model: %s", out)
        return str(out)

    def check_kind(self, path: str) -> None:
        """A checkpoint given as model.path under model=tiny must be a tiny model (its byte-level tokenizer):
        model=tiny's settings (sampling, a learning rate of 1e-3) would wreck a pretrained one."""
        from transformers import AutoConfig

        vocabulary, tiny = AutoConfig.from_pretrained(path).vocab_size, len(byte_level_tokenizer())
        if vocabulary != tiny:
            raise UserError(f"model.path {path!r} is not a tiny model (a vocabulary of {vocabulary} tokens, not the "
                            f"byte-level {tiny}): model=tiny's sampling and training settings would wreck it; use "
                            f"model=hf model.path={path} (or a model file of its own, as model=smollm2 is)")

    def _make(self, examples: list[dict[str, str]], out: Path) -> None:
        log.info("base model: building a tiny Llama and training it on %d seed problems", len(examples))
        init = out.with_name(f"{out.name}.init")
        with atomic_dir(init) as tmp:
            init_tiny_llama(tmp, self.architecture, self.seed)
        try:
            trainer = SFT(seed=self.seed, peft=None, **IN_PROCESS, **{"save_strategy": "no", **self.train_args})
            trainer.train(examples, str(init), out)  # a minute's Train: no state of its own to resume from
        finally:
            shutil.rmtree(init, ignore_errors=True)

    def examples(self, task: Task) -> list[dict[str, str]]:
        """What the model is trained on: the seed split's worked solutions, then the hinted share of them again."""
        return seed_examples(task) + self._hinted_examples(task)

    def _hinted_examples(self, task: Task) -> list[dict[str, str]]:
        """The first `hinted_share` of the seed problems with the reference answer as a hint in the question, so the
        model learns to read a hint, as instruction-following models have (what STaR's rationalization relies on)."""
        problems = [p for p in task.problems("seed") if p.solution and p.answer]
        hinted = problems[: round(self.hinted_share * len(problems))]
        return [{"prompt": task.prompt(replace(p, question=self.hint_template.format(question=p.question,
                                                                                    answer=p.answer))),
                 "completion": p.solution} for p in hinted]

    def _fingerprint(self, examples: list[dict[str, str]]) -> str:
        recipe = [self.architecture, self.train_args, self.seed, examples]
        return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]
