"""Answer likelihood (LaTRO; Chen et al. 2024, arXiv 2411.04282): a rationale is as good as it makes the
reference answer likely. No verifier is involved, so it scores free-text answers that no checker can compare.

The rationale z is the completion before its LAST `answer_marker` (all of it when the marker does not occur, or
when the marker is null); the answer y* is `answer_template` with `{reference}` replaced by the sample's reference.
With pi the judge model (`model`; null: the policy being improved), the score is

    R(z) = sum_t log pi(y*_t | x + z + y*_<t)        (reduction=sum; reduction=mean divides by the token count)

and with `kl_coef` c > 0 LaTRO's regularised reward R(z) - c * (log pi(z | x) - log pi_0(z | x)), pi_0 the run's
base model; the drift term is always the sequence log-ratio (a sum), whatever the reduction. Tokenization: the prompt
is encoded as the log-prob engine encodes prompts (with the tokenizer's BOS where it adds one, as the sampler
does); the rationale and the answer are encoded separately, without special tokens, and the ids concatenated, so
the score does not depend on how the tokenizer would merge text across either boundary. pi_0's terms use pi_0's
own tokenizer. A sample with an empty reference cannot be scored (None, logged); a batch in which no sample has a
reference is a UserError before any model is loaded (the task has no references: no answer to be likely).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from rest.errors import UserError
from rest.models import check_model_path
from rest.records import Sample
from rest.scorers.logprobs import HeldEngine, LogProbEngine

if TYPE_CHECKING:
    from rest.contracts import ScoringContext

log = logging.getLogger(__name__)
REDUCTIONS = ("sum", "mean")
PLACEHOLDER = "{reference}"


def rationale(completion: str, marker: str | None) -> str:
    """The completion before its last `marker`; the whole completion when it has none (or `marker` is empty)."""
    cut = completion.rfind(marker) if marker else -1
    return completion if cut < 0 else completion[:cut]


def filled(template: str, reference: str | None) -> str | None:
    """y*: `template` with the reference filled in; None without a reference."""
    if reference is None or not str(reference).strip():
        return None
    return template.replace(PLACEHOLDER, str(reference).strip())


def sequence_logprobs(engine: LogProbEngine, rows: list[tuple[str, str, str]]) -> list[list[float] | None]:
    """For each (prompt, context, target): log pi(target token | prompt + context + earlier target tokens) per
    target token, the three parts tokenized separately (the prompt as the engine does, the others without special
    tokens). None where nothing precedes the target or the target lost tokens to max_length; [] for an empty target."""
    if not rows:
        return []
    prompts, contexts, targets = (list(part) for part in zip(*rows))
    prompt_ids = engine.encode_prompts(prompts)
    context_ids = engine.tokenizer(contexts, add_special_tokens=False)["input_ids"]
    target_ids = engine.tokenizer(targets, add_special_tokens=False)["input_ids"]
    encoded = [(p + c, t) for p, c, t in zip(prompt_ids, context_ids, target_ids)]
    scored = [i for i, (state, target) in enumerate(encoded) if state and target]  # else nothing to run
    out: list[list[float] | None] = [[] if state else None for state, _ in encoded]
    for i, result in zip(scored, engine.score_ids([encoded[i] for i in scored])):
        out[i] = result.logprobs if len(result.logprobs) == len(encoded[i][1]) else None
    if any(v is None for v in out):
        log.warning("answer likelihood: %d of %d rows are empty before their target or lost target tokens to "
                    "max_length=%d, and are not scored", sum(v is None for v in out), len(out), engine.max_length)
    return out


class AnswerLikelihoodScorer:
    """Scores a sample's rationale by the judge's log-likelihood of its reference answer. Settings:
    rest/conf/scorer/answer_likelihood.yaml."""

    bounded = False  # log-probs: thresholds see their percentile rank within the Improve step
    needs_references = True

    def __init__(self, *, model: str | None, answer_marker: str | None, answer_template: str, reduction: str,
                 kl_coef: float, batch_tokens: int, max_length: int | None):
        if answer_marker is not None and not (isinstance(answer_marker, str) and answer_marker):
            raise UserError(f"scorer.answer_marker must be null (the whole completion is the rationale) or non-empty "
                            f"text, got {answer_marker!r}")
        if not isinstance(answer_template, str) or PLACEHOLDER not in answer_template:
            raise UserError(f"scorer.answer_template must contain {PLACEHOLDER} (where the reference goes), "
                            f"got {answer_template!r}")
        if reduction not in REDUCTIONS:
            raise UserError(f"scorer.reduction must be one of {REDUCTIONS}, got {reduction!r}")
        if not kl_coef >= 0:
            raise UserError(f"scorer.kl_coef must be >= 0, got {kl_coef}")
        self.model, self.answer_marker, self.answer_template = model, answer_marker, answer_template
        self.reduction, self.kl_coef = reduction, kl_coef
        self._judge = HeldEngine(batch_tokens, max_length)
        self._base = HeldEngine(batch_tokens, max_length)  # pi_0, held only when kl_coef > 0

    def check(self, context: ScoringContext) -> None:
        """Before any work: a judge named by path exists."""
        if self.model:
            check_model_path(self.model, "scorer.model")

    def answer(self, reference: str | None) -> str | None:
        """y*: the template with the reference filled in; None without a reference."""
        return filled(self.answer_template, reference)

    def score(self, samples: list[Sample], context: ScoringContext) -> list[float | None]:
        answers = [self.answer(s.reference) for s in samples]
        todo = [i for i, a in enumerate(answers) if a is not None]
        if samples and not todo:
            raise UserError("scorer answer_likelihood needs each sample's reference answer, and none of these "
                            f"{len(samples)} samples has one: use a task with references (or, in mode=score, a "
                            "`reference` field per row), or another scorer")
        if len(todo) < len(samples):
            log.warning("answer likelihood: %d of %d samples have no reference and cannot be scored",
                        len(samples) - len(todo), len(samples))
        judge = self.model or context.policy()
        parts = [(samples[i].prompt, rationale(samples[i].completion, self.answer_marker), answers[i]) for i in todo]
        values = [self.reduce(lp) for lp in sequence_logprobs(self._judge.get(judge), parts)]
        if self.kl_coef > 0:
            values = [None if v is None or d is None else v - self.kl_coef * d
                      for v, d in zip(values, self.drift(judge, context.base_model(), parts))]
        scores: list[float | None] = [None] * len(samples)
        for i, value in zip(todo, values):
            scores[i] = value
        return scores

    def drift(self, judge: str, base: str, parts: list[tuple[str, str, str]]) -> list[float | None]:
        """log pi(z | x) - log pi_0(z | x) per (prompt, rationale, answer); 0 when the judge is the base model."""
        if judge == base:
            return [0.0] * len(parts)
        rows = [(prompt, "", z) for prompt, z, _ in parts]
        ours = sequence_logprobs(self._judge.get(judge), rows)
        theirs = sequence_logprobs(self._base.get(base), rows)
        return [None if a is None or b is None else sum(a) - sum(b) for a, b in zip(ours, theirs)]

    def reduce(self, logprobs: list[float] | None) -> float | None:
        if not logprobs:
            return None
        return sum(logprobs) if self.reduction == "sum" else sum(logprobs) / len(logprobs)

    def release(self) -> None:
        self._judge.release()
        self._base.release()
