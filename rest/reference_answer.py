"""What a kept example ends with (`algorithm.answer`): `own`, the sample's completion as grown (ReST-EM), or
`reference`, LaTRO's training target z ⊕ y*: the sample's rationale z (the completion before its last answer
marker) followed by the answer template filled with the problem's reference y*. Without a verifier a kept sample's
own final answer may be wrong even when its rationale makes the reference likely ("14 + 4 = 17 / #### 18"); with
`reference` the policy never learns a wrong final answer. The marker and template are the answer_likelihood
scorer's (`scorers.answer_likelihood`), so the answer that is scored is the answer that is trained on."""

from __future__ import annotations

from dataclasses import dataclass

from rest.errors import UserError
from rest.records import Sample
from rest.scorers.answer_likelihood import filled, rationale

ANSWERS = ("own", "reference")
SCORER = "answer_likelihood"


@dataclass(frozen=True)
class ReferenceAnswer:
    """A kept sample's training completion: its rationale, then `template` with {reference} filled in."""

    marker: str | None
    template: str

    def __call__(self, sample: Sample) -> str:
        answer = filled(self.template, sample.reference)
        if answer is None:
            raise UserError(f"algorithm.answer=reference: problem {sample.problem_id} has no reference answer")
        return rationale(sample.completion, self.marker) + answer


def settings_error(answer: str, scorers: dict) -> str | None:
    """One line when `algorithm.answer` is unknown, or `reference` lacks the scorer that defines the answer."""
    if answer not in ANSWERS:
        return f"algorithm.answer must be one of {', '.join(ANSWERS)}, got {answer!r}"
    if answer == "reference" and SCORER not in scorers:
        return (f"algorithm.answer=reference takes its answer marker and template from the {SCORER} scorer: add it "
                f"(scorer={SCORER}, or experiment=verifier_free)")
    return None


def from_config(answer: str, scorers: dict) -> ReferenceAnswer | None:
    """The configured rewrite; None for `own` (examples are the samples as grown)."""
    problem = settings_error(answer, scorers)
    if problem:
        raise UserError(problem)
    if answer == "own":
        return None
    return ReferenceAnswer(scorers[SCORER].answer_marker, scorers[SCORER].answer_template)
