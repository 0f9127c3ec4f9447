"""Implicit process reward (PRIME, Cui et al. 2025; "Free Process Rewards without Process Labels", Yuan et al.
2024): step-level rewards from a model trained on outcome labels only.

Token reward r_t = beta * (log pi_phi(y_t | y_<t) - log pi_ref(y_t | y_<t)); q_t = sum_{i<=t} r_i. The
completion is split into steps at `step_delimiter` (the delimiter ends its step; empty steps merge into the
next); a step's reward is q at its last token minus q at the previous step's last token. A response's score
is the `min` step reward (the paper's default), their `sum` (= the final q), the `last` step's, or the `mean`.

pi_phi starts as `model` (the base model when null) and, with `update=true`, is trained on each iteration's verifier
labels (prm_update.py); the next iteration scores with it, as PRIME does. With `model=policy`, pi_phi is the policy
being improved, which differs from pi_ref once self-training has moved it (so it ranks before any update), and each
update starts again from the newly trained policy, as ReST-EM's Train starts again from the base model. pi_ref
(`ref_model`, default: the base model) stays frozen.
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING

from rest.errors import UserError
from rest.models import check_model_path
from rest.records import Sample
from rest.scorers.logprobs import HeldEngine
from rest.scorers.prm_update import update_settings_error
from rest.scorers.verdicts import labelled

if TYPE_CHECKING:
    from rest.contracts import ScoringContext

log = logging.getLogger(__name__)
AGGREGATIONS = ("min", "sum", "last", "mean")
POLICY = "policy"  # `model: policy`: pi_phi starts as the policy being improved (an SFT policy, as in PRIME)


def step_ends(text: str, offsets: list[tuple[int, int]], delimiter: str) -> list[int]:
    """Index of the last token of each step of `text` (tokens given by their character offsets)."""
    if not offsets:
        return []
    char_ends, start = [], 0
    found = text.find(delimiter, start) if delimiter else -1
    while found >= 0:
        end = found + len(delimiter)
        if text[start:found].strip():
            char_ends.append(end)
        start = end
        found = text.find(delimiter, start)
    if text[start:].strip() or not char_ends:
        char_ends.append(len(text))
    else:
        char_ends[-1] = len(text)  # trailing whitespace belongs to the last step
    token_starts = [s for s, _ in offsets]
    ends = [max(bisect_left(token_starts, e) - 1, 0) for e in char_ends]
    return sorted(set(ends))


def step_rewards(token_rewards: list[float], ends: list[int]) -> list[float]:
    """Differences of q = cumsum(token rewards) at consecutive step ends (ends past the scored tokens are clipped)."""
    if not token_rewards:
        return []
    q = list(accumulate(token_rewards))
    ends = sorted({min(e, len(q) - 1) for e in ends}) or [len(q) - 1]
    previous = [0.0] + [q[e] for e in ends[:-1]]
    return [q[e] - p for e, p in zip(ends, previous)]


def aggregate(rewards: list[float], how: str) -> float | None:
    if not rewards:
        return None
    return {"min": min, "sum": sum, "last": lambda r: r[-1], "mean": lambda r: sum(r) / len(r)}[how](rewards)


class ImplicitPRMScorer:
    """pi_phi starts as `model` (None: the base model) and pi_ref is `ref_model` (None: the base model).
    Settings: rest/conf/scorer/implicit_prm.yaml."""

    bounded = False  # unbounded: thresholds see its percentile rank within the Improve step

    def __init__(self, *, model: str | None, ref_model: str | None, beta: float, step_delimiter: str | None,
                 aggregation: str, keep_step_rewards: bool, update: bool, update_settings: dict, batch_tokens: int,
                 max_length: int | None):
        if not beta > 0:
            raise UserError(f"scorer.beta must be > 0, got {beta}")
        if aggregation not in AGGREGATIONS:
            raise UserError(f"scorer.aggregation must be one of {AGGREGATIONS}, got {aggregation!r}")
        if step_delimiter is not None and not (isinstance(step_delimiter, str) and step_delimiter):
            raise UserError(f"scorer.step_delimiter must be null (the task's) or non-empty text, got {step_delimiter!r}")
        problem = update_settings_error(dict(update_settings))
        if problem:
            raise UserError(problem)
        self.model, self.ref_model = model, ref_model
        self.beta, self.step_delimiter, self.aggregation = beta, step_delimiter, aggregation
        self.keep_step_rewards, self.learns = keep_step_rewards, update
        self.update_settings = dict(update_settings)
        self.batch_tokens, self.max_length = batch_tokens, max_length
        self._phi = HeldEngine(batch_tokens, max_length)  # both held across calls (mode=score's chunks) until
        self._ref = HeldEngine(batch_tokens, max_length)  # release(): before Train, and before this update
        self.updated: str | None = None  # the checkpoint of the last online update

    def current(self, context: ScoringContext) -> str:
        """pi_phi now: the last update's checkpoint, else `model` ("policy": the policy being improved), else the
        base model."""
        if self.updated:
            return self.updated
        return context.policy() if self.model == POLICY else self.model or context.base_model()

    def check(self, context: ScoringContext) -> None:
        """Before any work: pi_phi and pi_ref, where named by path, exist and share a tokenizer; the task's step
        delimiter, when used, is text."""
        if self.model and self.model != POLICY:
            check_model_path(self.model, "scorer.model")
        if self.ref_model:
            check_model_path(self.ref_model, "scorer.ref_model")
        delimiter = self.step_delimiter or context.step_delimiter()
        if not (isinstance(delimiter, str) and delimiter):
            raise UserError(f"task.step_delimiter must be non-empty text (where a step ends for the implicit PRM), "
                            f"got {delimiter!r}")
        phi, ref = self.current(context), self.reference(context)
        if phi != ref and _vocabulary(phi) != _vocabulary(ref):
            raise UserError(f"scorer.model {phi!r} and scorer.ref_model {ref!r} have different tokenizers: the log-ratio "
                            "log pi_phi / pi_ref compares the two models on the same tokens, so they must share one")

    def reference(self, context: ScoringContext) -> str:
        return self.ref_model or context.base_model()

    def score(self, samples: list[Sample], context: ScoringContext) -> list[float | None]:
        scores, delimiter = [], self.step_delimiter or context.step_delimiter()
        for sample, tokens in zip(samples, self.token_rewards(samples, context)):
            _ids, offsets, rewards = tokens
            if rewards is None:  # an empty prompt: the engine could not score it (and logged it)
                scores.append(None)
                continue
            steps = step_rewards(rewards, step_ends(sample.completion, offsets[: len(rewards)], delimiter))
            if self.keep_step_rewards:
                sample.token_rewards, sample.step_rewards = rewards, steps
            scores.append(aggregate(steps, self.aggregation))
        return scores

    def token_rewards(self, samples: list[Sample],
                      context: ScoringContext) -> list[tuple[list[int], list[tuple[int, int]], list[float] | None]]:
        """(completion ids, their character offsets, beta * log-ratio per scored token) for each sample; None for
        the log-ratio of a sample the engine cannot score (an empty prompt)."""
        if _same_model(self.current(context), self.reference(context)):
            log.warning("implicit PRM: pi_phi and pi_ref are both %s, so every reward is 0 and ranks nothing; give "
                        "the scorer a trained policy as its `model` (in the loop, model=policy is the policy trained "
                        "so far)", self.current(context))
        phi = self._phi.get(self.current(context))
        encoded = phi.tokenizer([s.completion for s in samples], add_special_tokens=False, return_offsets_mapping=True)
        ids, offsets = encoded["input_ids"], encoded["offset_mapping"]
        prompts = [s.prompt for s in samples]
        policy_scores = phi.score(prompts, ids)
        ref_scores = self._ref.get(self.reference(context)).score(prompts, ids)
        return [(i, o, None if p is None or r is None else [self.beta * (a - b) for a, b in zip(p.logprobs, r.logprobs)])
                for i, o, p, r in zip(ids, offsets, policy_scores, ref_scores)]

    def update(self, samples: list[Sample], context: ScoringContext, out: Path) -> dict:
        """Train pi_phi on these samples' verifier labels; the next score() uses the checkpoint saved at `out`.
        It starts from the last update's checkpoint, or with model=policy from the context's policy every time
        (the loop updates after Train: the policy that samples, and is scored, next)."""
        from rest.scorers.prm_update import train_implicit_prm

        examples = [(s.prompt, s.completion, bool(s.correct)) for s in samples if labelled(s) and s.completion]
        if not examples:
            log.warning("implicit PRM: no sample has a verifier label this iteration; pi_phi stays as it was")
            return {"examples": 0}
        start = context.policy() if self.model == POLICY else self.current(context)  # model=policy: the new policy
        self.release()  # the update needs the memory
        stats = train_implicit_prm(start, self.reference(context), examples, out, beta=self.beta,
                                   batch_tokens=self.batch_tokens, max_length=self.max_length, **self.update_settings)
        if stats["examples"]:  # else nothing was trained (every prompt empty) and nothing saved
            self.use(str(out))
        return stats

    def use(self, checkpoint: str) -> None:
        self.updated = checkpoint

    def release(self) -> None:
        self._phi.release()
        self._ref.release()


def _same_model(a: str, b: str) -> bool:
    """One checkpoint (by its resolved path), or one hub name."""
    return Path(a).resolve() == Path(b).resolve() if Path(a).exists() and Path(b).exists() else a == b


def _vocabulary(model: str) -> dict[str, int]:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model).get_vocab()
