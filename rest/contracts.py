"""The seams of the framework, as Protocols: what the run hands each stage, and what a new part must offer.

A new part is a class with these methods and a YAML file naming it by `_target_` (rest/conf/<group>/<name>.yaml);
it inherits from nothing. Runtime inputs (the verifier, the base model, the current policy) reach scorers
through `ScoringContext`, handed over by the run on every call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import EllipsisType
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from rest.budget import Request, Tally
from rest.records import Problem, Sample
from rest.sampler.settings import Completion, SamplingSettings
from rest.verifier import Verdict

if TYPE_CHECKING:
    from rest.run import Run


class Task(Protocol):
    """Where problems come from: splits `seed` (worked solutions), `pool` (to self-train on), `test`.

    `step_delimiter` ends one step of a worked solution ("\n" for one step per line, "\n\n" for paragraphs).
    `answer_fallback` is how the verifier reads a completion of this task that has no marked final answer (the
    values of `verifier.fallback`): None where the task teaches a marker and an unmarked answer is wrong."""

    answer_fallback: str | None
    step_delimiter: str  # where one reasoning step of a solution ends (process rewards split steps there)

    def problems(self, split: str) -> list[Problem]: ...

    def prompt(self, problem: Problem) -> str: ...


class Judge(Protocol):
    """Judges completions against their problems' references: the exact-answer verifier (rest/verifier/, a math
    reference) or the unit-test verifier (rest/code/verifier.py, a code problem's tests as JSON); `verifier=` in
    the config picks it, and a code task picks code_tests itself. `verify` extracts each completion's answer (or
    program; `fallback`: a task's reading of unmarked answers) and judges it; `judge` judges extracted answers."""

    def verify(self, completions: list[str], references: list[str], fallback: str | None | EllipsisType = ...
               ) -> list[Verdict]: ...

    def judge(self, answers: list[str | None], references: list[str]) -> list[Verdict]: ...

    def close(self) -> None: ...


class Sampler(Protocol):
    """Samples completions from a policy checkpoint; `release` frees the accelerator, `close` everything;
    `engine_starts` counts the engine starts so far (the costly event a run's accounting reports)."""

    engine_starts: int

    def generate(self, policy: str, prompts: list[str], settings: SamplingSettings,
                 seeds: list[int] | None = None) -> list[list[Completion]]: ...

    def stream(self, policy: str, batches: Iterable[tuple[list[str], list[int] | None]],
               settings: SamplingSettings) -> Iterator[list[list[Completion]]]: ...

    def release(self) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ScoringContext:
    """What a scorer may need besides the samples, given by the run. `policy` is the model being improved (the
    default judge); `base_model` the run's base model; `trainer` the run's SFT trainer (a scorer that learns by
    SFT, the generative verifier, trains with it); `step_delimiter` the task's. Each is resolved on first use:
    scoring with the verifier alone needs no model."""

    verifier: Judge
    policy: Callable[[], str]
    base_model: Callable[[], str]
    trainer: Callable[[], Trainer]
    step_delimiter: Callable[[], str]


class Scorer(Protocol):
    """`score` returns one value per sample; None means "could not be scored" (counted and logged, never 0).
    `bounded`: scores already lie in [0, 1]; otherwise thresholds see their percentile rank."""

    bounded: bool

    def score(self, samples: list[Sample], context: ScoringContext) -> list[float | None]: ...

    def release(self) -> None:
        """Free what scoring holds (a judge model's memory) before Train; the next `score` loads it again."""


@runtime_checkable
class LearningScorer(Scorer, Protocol):
    """A scorer trained online on the verifier's labels (the implicit PRM). `learns` is its configured switch;
    `update` trains on one iteration's samples and saves to `out`; `use` adopts a finished update on resume."""

    learns: bool

    def update(self, samples: list[Sample], context: ScoringContext, out: Path) -> dict: ...

    def use(self, checkpoint: str) -> None: ...


@runtime_checkable
class ReferenceScorer(Scorer, Protocol):
    """A scorer that reads each sample's reference answer (answer likelihood): a run whose problems have none is
    refused in one line before any work (`rest.stages.improve.check_references`)."""

    needs_references: bool


@runtime_checkable
class CheckedScorer(Scorer, Protocol):
    """A scorer whose settings can only be checked against run-time inputs (that a judge named by path exists; the
    generative verifier's answer words against its judge's tokenizer). The run calls `check` when it builds its
    scorers, before any Grow or scoring, with the base model as policy (it shares the policy's tokenizer); bad
    settings raise one UserError line."""

    def check(self, context: ScoringContext) -> None: ...


class Budget(Protocol):
    """How many samples the loop's Grow draws of each problem (rest/budget.py, rest/conf/budget/): `plan` returns the
    next round's requests from what each problem has so far, or nothing when Grow is done; `total` is the most
    samples it draws of `problems` problems."""

    def total(self, problems: int, settings: SamplingSettings) -> int: ...

    def plan(self, problems: list[Problem], tallies: dict[str, Tally], round_: int, settings: SamplingSettings,
             iteration: int) -> list[Request]: ...


class Filter(Protocol):
    """Pure and order-preserving: returns the kept samples, in their input order."""

    def __call__(self, samples: list[Sample]) -> list[Sample]: ...


@runtime_checkable
class ScoreFilter(Filter, Protocol):
    """A filter that thresholds or ranks by one score: `reward` (the Improve score normalised) or a scorer's name."""

    score: str


class Trainer(Protocol):
    """Fine-tunes `init_from` on prompt/completion examples; writes a checkpoint to `out_dir`, returns its path.
    `report`: extra trl.SFTConfig fields from the run's logger (`Logger.trainer_args`), None: reports nowhere."""

    def train(self, examples: list[dict[str, str]], init_from: str, out_dir: Path,
              report: dict | None = None) -> str: ...

    def with_args(self, args: dict) -> Trainer:
        """The same trainer with these trl.SFTConfig fields replaced."""


@runtime_checkable
class CheckedTrainer(Trainer, Protocol):
    """A trainer whose settings can only be checked against the model and the prompts it will train on (a LoRA
    adapter's target modules, a max_length the prompts fill): the loop calls `check` with the base model and the
    grow split's prompts before any work; bad settings raise one UserError line."""

    def check(self, model: str, prompts: list[str]) -> None: ...


class BaseModelBuilder(Protocol):
    """What `model.build` names (model=tiny: rest.base_model.TinyBaseModel): `build` makes the base model the task
    needs, or finds it made, and returns its path; `check_kind` refuses, in one UserError line, a checkpoint given
    as `model.path` instead that the model file's settings do not suit."""

    def build(self, task: Task) -> str: ...

    def check_kind(self, path: str) -> None: ...


class Logger(Protocol):
    """An experiment logger (rest/conf/logger/, rest/loggers.py), built once per run with `run_dir` and the run's
    resolved config as `run_config` (logged at start). `log_metrics` logs the numbers of one iteration's metrics
    (step = iteration); `log_samples` a table of its samples' rows (Sample.to_row()); `trainer_args` the SFTConfig
    fields that make TRL report its loss curve to the same place (handed to `Trainer.train` as `report`)."""

    def log_metrics(self, iteration: int, metrics: dict) -> None: ...

    def log_samples(self, iteration: int, rows: list[dict]) -> None: ...

    def trainer_args(self, iteration: int) -> dict: ...

    def close(self) -> None: ...


class Mode(Protocol):
    """What `python run.py mode=NAME` runs: built from rest/conf/mode/NAME.yaml (its settings), then given the run.
    Returns the exit status."""

    def run(self, run: Run) -> int: ...
