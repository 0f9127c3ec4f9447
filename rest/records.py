"""Typed records that flow through the loop: a Problem in, Samples out, kept as `datasets` rows on disk."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from rest.sampler.settings import Completion


@dataclass(frozen=True)
class Problem:
    """One checkable problem. `solution` is a worked solution (seed split only); `answer` the final answer."""

    id: str
    question: str
    answer: str
    solution: str | None = None


@dataclass
class Sample:
    """One completion of one problem (one row per problem x sample index)."""

    problem_id: str
    sample_index: int
    iteration: int
    prompt: str
    completion: str
    reference: str
    finish_reason: str
    num_tokens: int
    cumulative_logprob: float | None = None
    token_ids: list[int] = field(default_factory=list)
    extracted: str | None = None
    correct: bool | None = None
    verdict: str | None = None  # the verifier's status: ok / no_answer / timeout / parse_error / error; code: pass /
    # wrong_answer / runtime_error / timeout / memory / syntax_error / no_code / error (rest/code/judge.py)
    kept: bool = False
    scores: dict[str, float | None] = field(default_factory=dict)
    reward: float | None = None  # the Improve score normalised to [0, 1] (rest/scorers/rewards.py): what thresholds see
    token_rewards: list[float] | None = None  # per-token rewards, when a scorer is asked to keep them
    step_rewards: list[float] | None = None  # per-step rewards (implicit PRM), when asked to keep them
    previous_pass_rate: float | None = None  # the problem's pass rate in the previous Grow (rest/history.py)
    weight: float = 1.0  # the SFT loss weight of the sample when kept (trainer.weighting, rest/weighting.py)
    answer_entropy: float | None = None  # its problem's normalised answer entropy (trainer.weighting=east)

    @classmethod
    def grown(cls, problem: Problem, prompt: str, index: int, completion: Completion, iteration: int) -> Sample:
        """Sample `index` of `problem`, as the sampler returned it (not yet judged or scored)."""
        return cls(problem_id=problem.id, sample_index=index, iteration=iteration, prompt=prompt,
                   completion=completion.text, reference=problem.answer, finish_reason=completion.finish_reason,
                   num_tokens=len(completion.token_ids), cumulative_logprob=completion.cumulative_logprob,
                   token_ids=completion.token_ids)

    def to_row(self) -> dict:
        """Flat row for a `datasets` table: scores become `score_<name>` columns."""
        row = asdict(self)
        for name, value in row.pop("scores").items():
            row[f"score_{name}"] = value
        return row

    @classmethod
    def from_row(cls, row: dict) -> Sample:
        scores = {k[len("score_"):]: v for k, v in row.items() if k.startswith("score_")}
        fields = {k: v for k, v in row.items() if not k.startswith("score_")}
        return cls(**fields, scores=scores)


def ids_digest(problem_ids: Iterable[str]) -> str:
    """One hash of a problem list, in order: what resumable chunks record to recognise their problems."""
    return hashlib.sha256("\n".join(problem_ids).encode()).hexdigest()
