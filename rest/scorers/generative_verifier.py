"""Generative verifier (GenRM; Zhang et al. 2024, arXiv 2408.15240): a judge model asked whether a completion is
correct, read as the endogenous reward of a judge prompt.

The judge reads P(x, y), the `prompt` template with the problem's prompt x and the completion y filled in, and
the score is log pi_judge(yes | P(x, y)); with `normalize`, the log of yes's share against no:
log p_yes - log(p_yes + p_no) (<= 0). `yes` and `no` must each be one token of the judge's tokenizer (the model
file names them, `model.judge`); a run checks that before any work starts (`check`). Scored on the shared
log-prob engine, one forward pass per sample: yes's and no's log-probabilities are read off the same
next-token distribution. A judge prompt longer than the judge's context is not scored (None), since the judge
would not see the whole problem.

With `update=true` the judge is trained after each Improve step by SFT with the run's trainer (loss on the
completion only) on (P(x, y), yes) for samples the verifier judged correct and (P(x, y), no) for those it
judged wrong: at most `max_examples`, drawn with a seeded RNG, and as many of each label as the rarer one has
(`balance`); `train_args` replaces the run's trainer's SFTConfig fields for this update (a pretrained judge
beside a tiny policy must not train at the policy's learning rate). Only samples whose answer the verifier
actually judged are labels (math: verdict ok; code: the program ran or failed to compile); no answer, timeouts
and sandbox errors are left out. The next iteration scores with the checkpoint and the next update continues
from it: once trained, the judge no longer follows the policy being improved.
"""

from __future__ import annotations

import logging
import math
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rest.contracts import CheckedTrainer
from rest.errors import UserError, is_whole
from rest.models import check_model_path
from rest.records import Sample
from rest.scorers.logprobs import HeldEngine
from rest.scorers.verdicts import labelled
from rest.trainer import options_error

if TYPE_CHECKING:
    from rest.contracts import ScoringContext, Trainer

log = logging.getLogger(__name__)
KEY = "scorer"  # its settings, as rest/run.py names them where the run configures this scorer
FIELDS = re.compile(r"\{(prompt|completion)\}")


@dataclass(frozen=True)
class UpdateSettings:
    max_examples: int | None  # at most this many examples per update; None = all labelled samples
    balance: bool  # as many "no" as "yes" examples, when both labels exist
    seed: int


class GenerativeVerifierScorer:
    """Scores samples by a judge's yes to "is this correct?". Settings: rest/conf/scorer/generative_verifier.yaml."""

    bounded = False  # unbounded (log-probabilities): thresholds see its percentile rank within the Improve step

    def __init__(self, *, model: str | None, prompt: str, yes: str, no: str, normalize: bool, update: bool,
                 update_settings: dict, train_args: dict | None, batch_tokens: int, max_length: int | None):
        if not isinstance(prompt, str):
            raise UserError(f"{KEY}.prompt must be text with {{prompt}} and {{completion}}, got {prompt!r}")
        missing = [f"{{{name}}}" for name in ("prompt", "completion") if f"{{{name}}}" not in prompt]
        if missing:
            raise UserError(f"{KEY}.prompt={prompt!r} lacks {' and '.join(missing)}: the judge prompt must show the "
                            "problem ({prompt}) and the completion to judge ({completion})")
        if not (isinstance(yes, str) and isinstance(no, str)) or not yes or not no or yes == no:
            raise UserError(f"{KEY}.yes={yes!r} and {KEY}.no={no!r} must be two different, non-empty words (text: "
                            f"quote a number, \"{KEY}.yes='1'\")")
        self.model, self.template, self.yes, self.no, self.normalize = model, prompt, yes, no, normalize
        self.learns, self.settings = update, _update_settings(update_settings)
        if train_args is not None and not isinstance(train_args, Mapping):
            raise UserError(f"{KEY}.train_args must be null (the run's trainer) or a map of trl.SFTConfig fields, e.g. "
                            f"'{{learning_rate: 2.0e-5, num_train_epochs: 2}}'; got {train_args!r}")
        self.train_args = dict(train_args) if train_args else None
        problem = options_error(self.train_args, f"{KEY}.train_args") if self.train_args else None
        if problem:
            raise UserError(problem)
        self.updated: str | None = None  # the checkpoint of the last online update
        self._judge = HeldEngine(batch_tokens, max_length)

    def judge_prompt(self, prompt: str, completion: str) -> str:
        """P(x, y): the template with {prompt} and {completion} filled in (in one pass: braces in them stay)."""
        return FIELDS.sub(lambda m: prompt if m.group(1) == "prompt" else completion, self.template)

    def current(self, context: ScoringContext) -> str:
        """The judge now: the last update's checkpoint, else `model`, else the policy being improved."""
        return self.updated or self.model or context.policy()

    def check(self, context: ScoringContext) -> None:
        """Before any work: each answer word is one token of the judge's tokenizer; a judge other than the policy
        that `update` trains takes the trainer's LoRA adapter (`trainer.peft`)."""
        from transformers import AutoTokenizer

        judge = self.current(context)
        if self.model:
            check_model_path(self.model, f"{KEY}.model")
        try:
            tokenizer = AutoTokenizer.from_pretrained(judge)
        except (OSError, ValueError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise UserError(f"{KEY}: cannot load the judge's tokenizer from {judge!r}: {first}") from None
        self.word_ids(tokenizer)
        if self.learns and self.model and not self.train_args:
            self.check_train_args(len(tokenizer), len(AutoTokenizer.from_pretrained(context.policy())))
        trainer = self.trainer(context) if self.learns and self.model else None  # the loop checks the policy's
        if isinstance(trainer, CheckedTrainer):
            trainer.check(self.model, [])

    def check_train_args(self, judge_vocabulary: int, policy_vocabulary: int) -> None:
        """A judge of another kind than the policy (another tokenizer) is not trained with the policy's settings."""
        if judge_vocabulary != policy_vocabulary:
            raise UserError(f"{KEY}.update=true would train the judge {self.model!r} with the run's trainer settings, "
                            f"which are the policy's (its vocabulary: {policy_vocabulary} tokens, the judge's: "
                            f"{judge_vocabulary}): set {KEY}.train_args to the judge's own, e.g. "
                            "'{learning_rate: 2.0e-5, num_train_epochs: 2}'")

    def trainer(self, context: ScoringContext) -> Trainer:
        """The run's trainer, with `train_args` replacing its SFTConfig fields for the judge's update."""
        trainer = context.trainer()
        return trainer.with_args(self.train_args) if self.train_args else trainer

    def word_ids(self, tokenizer) -> tuple[int, int]:
        """The token ids of `yes` and `no`; a UserError naming what a word tokenizes to when it is not one token."""
        ids = []
        for name, word in (("yes", self.yes), ("no", self.no)):
            tokens = tokenizer(word, add_special_tokens=False)["input_ids"]
            if len(tokens) != 1:
                raise UserError(f"{KEY}.{name}={word!r} is {len(tokens)} tokens of the judge's tokenizer ({tokens}); "
                                "it must be one (set it, or model.judge in the model file, to a one-token word)")
            ids.append(tokens[0])
        if ids[0] == ids[1]:
            raise UserError(f"{KEY}.yes={self.yes!r} and {KEY}.no={self.no!r} are the same token ({ids[0]})")
        return ids[0], ids[1]

    def score(self, samples: list[Sample], context: ScoringContext) -> list[float | None]:
        if not samples:
            return []
        engine = self._judge.get(self.current(context))
        yes_id, no_id = self.word_ids(engine.tokenizer)
        prompts = [self.judge_prompt(s.prompt, s.completion) for s in samples]
        results = engine.next_token_logprobs(engine.encode_prompts(prompts), [yes_id, no_id])
        unfit = results.count(None)
        if unfit:
            log.warning("generative verifier: %d judge prompts longer than the judge's context (or empty) were not "
                        "scored", unfit)
        return [None if r is None else self.value(*r) for r in results]

    def value(self, yes: float, no: float) -> float | None:
        """log p_yes, or with `normalize` log p_yes - log(p_yes + p_no)."""
        value = yes - _logaddexp(yes, no) if self.normalize else yes
        return value if math.isfinite(value) else None

    def update(self, samples: list[Sample], context: ScoringContext, out: Path) -> dict:
        """SFT the judge on this iteration's verifier labels; the next score() uses the checkpoint saved at `out`."""
        examples = self.examples(samples)
        yes = sum(e["completion"] == self.yes for e in examples)
        if not examples:
            log.warning("generative verifier: no sample has a verifier label this iteration; the judge stays as it was")
            return {"examples": 0, "yes": 0, "no": 0}
        judge = self.current(context)
        self.release()  # the trainer needs the memory
        log.info("generative verifier: training the judge %s on %d examples (%d yes, %d no)", judge, len(examples),
                 yes, len(examples) - yes)
        self.trainer(context).train(examples, init_from=judge, out_dir=out)
        self.use(str(out))
        return {"examples": len(examples), "yes": yes, "no": len(examples) - yes}

    def examples(self, samples: list[Sample]) -> list[dict[str, str]]:
        """{"prompt": P(x, y), "completion": yes or no} for the labelled samples, capped and balanced."""
        judged = [s for s in samples if labelled(s)]
        good = [s for s in judged if s.correct]
        bad = [s for s in judged if not s.correct]
        chosen = pick(good, bad, self.settings.max_examples, self.settings.balance, random.Random(self.settings.seed))
        return [{"prompt": self.judge_prompt(s.prompt, s.completion), "completion": self.yes if s.correct else self.no}
                for s in chosen]

    def use(self, checkpoint: str) -> None:
        self.updated = checkpoint

    def release(self) -> None:
        self._judge.release()


def pick(good: list[Sample], bad: list[Sample], cap: int | None, balance: bool, rng: random.Random) -> list[Sample]:
    """Samples to train on, shuffled: as many correct as incorrect when `balance` and both exist; at most `cap`."""
    if balance and good and bad:
        n = min(len(good), len(bad), cap // 2 if cap else len(good))
        chosen = rng.sample(good, n) + rng.sample(bad, n)
    else:
        both = good + bad
        chosen = rng.sample(both, min(cap, len(both))) if cap else both
    rng.shuffle(chosen)
    return chosen


def _update_settings(settings: dict) -> UpdateSettings:
    try:
        parsed = UpdateSettings(**settings)
    except TypeError as err:
        raise UserError(f"{KEY}.update_settings: {err} (its keys are max_examples, balance, seed)") from None
    if parsed.max_examples is not None and not is_whole(parsed.max_examples, 2):
        raise UserError(f"{KEY}.update_settings.max_examples must be null (every labelled sample) or a whole number "
                        f">= 2, got {parsed.max_examples!r}")
    if not isinstance(parsed.balance, bool):
        raise UserError(f"{KEY}.update_settings.balance must be true or false, got {parsed.balance!r}")
    if not is_whole(parsed.seed, 0):
        raise UserError(f"{KEY}.update_settings.seed must be a whole number >= 0, got {parsed.seed!r}")
    return parsed


def _logaddexp(a: float, b: float) -> float:
    high = max(a, b)
    return high + math.log(math.exp(a - high) + math.exp(b - high))
