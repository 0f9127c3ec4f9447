"""`sampler.max_prompt_tokens`: leave out the problems whose prompt is too long to sample from (verl's
`filter_overlong_prompts`). A prompt longer than the engine's context stops Grow or Evaluate in one line when it
is reached; with a limit, such problems are dropped from the sampled splits when they are first read, and counted
in the log. The seed split (worked solutions, trained on, never sampled) is kept whole: the tiny model is built
from it before there is a tokenizer to count with."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cache

from rest.contracts import Task
from rest.records import Problem

log = logging.getLogger(__name__)
UNSAMPLED = ("seed",)


class PromptLengthLimit:
    """A `Task` whose sampled splits keep only problems with a prompt of at most `max_tokens` tokens of the
    policy's tokenizer (as vLLM counts them: special tokens added); `tokenizer_path` is called on first need."""

    def __init__(self, task: Task, max_tokens: int, tokenizer_path: Callable[[], str]):
        self.task, self.max_tokens, self.tokenizer_path = task, max_tokens, tokenizer_path
        self.answer_fallback, self.step_delimiter = task.answer_fallback, task.step_delimiter
        self.problems = cache(self._problems)

    def prompt(self, problem: Problem) -> str:
        return self.task.prompt(problem)

    def _problems(self, split: str) -> list[Problem]:
        problems = self.task.problems(split)
        if split in UNSAMPLED:
            return problems
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(self.tokenizer_path())
        lengths = [len(ids) for ids in tokenizer([self.prompt(p) for p in problems])["input_ids"]]
        kept = [p for p, length in zip(problems, lengths) if length <= self.max_tokens]
        if len(kept) < len(problems):
            log.warning("task: left out %d of %d %s problems whose prompt is longer than sampler.max_prompt_tokens"
                        "=%d (the longest: %d tokens)", len(problems) - len(kept), len(problems), split,
                        self.max_tokens, max(lengths))
        return kept
