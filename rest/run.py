"""One run and everything it owns (the shape of torchtune's recipes: set up, run, clean up).

A `Run` creates each resource once, on first use: the task, the base model, the verifier, the sampler (the vLLM
engine), the scorers and the trainer. Modes and stages receive the resources they need by name; they open and
close nothing they do not own. `free_accelerator()` is called before any Train or model-based scoring (the
engine sleeps or stops, scorers drop their models); `close()` releases everything, once, at the end.
"""

from __future__ import annotations

import logging
import multiprocessing
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from rest import run_dir_lock
from rest.artifacts import remove_leftovers
from rest.config import build, mode_settings
from rest.contracts import Budget, CheckedScorer, Judge, Logger, Mode, Sampler, Scorer, ScoringContext, Task, Trainer
from rest.errors import UserError
from rest.loggers import make_logger
from rest.models import make_from_source, resolve_base_model
from rest.sampler import SamplingSettings
from rest.tasks.prompt_length import PromptLengthLimit

log = logging.getLogger(__name__)


class Run:
    def __init__(self, cfg: DictConfig, run_dir: Path):
        self.cfg, self.dir = cfg, Path(run_dir)
        self._release: list[Callable[[], None]] = []  # in creation order; run backwards by close()
        self._holders: list[Sampler | Scorer] = []  # what may hold accelerator memory between stages

    def __enter__(self) -> Run:  # noqa: PYI034  (typing.Self is 3.11+; we support 3.10)
        self._release.append(run_dir_lock.hold(self.dir))  # first: the leftovers must be this run's to remove
        for leftover in remove_leftovers(self.dir):
            log.info("removed %s, left half-written by an interrupted run", leftover)
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc is None:
            self.close()
            return
        try:
            self.close()
        except Exception as failure:  # noqa: BLE001  (the run's own error is the one to report; this one is logged)
            log.error("releasing the run's resources after that error failed too: %s", failure)

    @cached_property
    def task(self) -> Task:
        make_from_source(self.cfg.model)  # first: a chat task reads the model's tokenizer
        task = build(self.cfg.task)
        limit = self.cfg.sampler.get("max_prompt_tokens")
        return task if limit is None else PromptLengthLimit(task, limit, lambda: self.base_model)

    @cached_property
    def base_model(self) -> str:
        return resolve_base_model(self.cfg.model, self.task)

    @cached_property
    def verifier(self) -> Judge:
        verifier = build(self.cfg.verifier)
        self._release.append(verifier.close)
        return verifier

    @cached_property
    def sampler(self) -> Sampler:
        sampler = build(self.cfg.sampler.engine)
        self._release.append(sampler.close)
        self._holders.append(sampler)
        return sampler

    @cached_property
    def scorers(self) -> dict[str, Scorer]:
        """`scorers` in the config: each scorer's name is its key."""
        return self.build_scorers(self.cfg.scorers)

    @cached_property
    def trainer(self) -> Trainer:
        return build(self.cfg.trainer)

    @cached_property
    def budget(self) -> Budget:
        """How many samples the loop's Grow draws per problem (rest/conf/budget/)."""
        return build(self.cfg.budget)

    @cached_property
    def logger(self) -> Logger:
        """Where metrics, sample tables and loss curves go (rest/conf/logger/): none, TensorBoard or W&B."""
        logger = make_logger(self.cfg.logger, self.dir, OmegaConf.to_container(self.cfg, resolve=True))
        self._release.append(logger.close)
        return logger

    @cached_property
    def grow_settings(self) -> SamplingSettings:
        settings = OmegaConf.to_container(self.cfg.sampler.grow, resolve=True)
        return SamplingSettings(**{**settings, "stop": tuple(settings["stop"])})

    def build_scorers(self, nodes: DictConfig, key: str = "scorers") -> dict[str, Scorer]:
        """The scorers configured under `key` (mode=rm_eval: mode.scorers), each named by its key there."""
        scorers = {}
        for name, node in nodes.items():
            with _named(f"{key}.{name}"):
                scorers[str(name)] = build(node)
        self._release += [scorer.release for scorer in scorers.values()]
        self._holders += scorers.values()
        for name, scorer in scorers.items():
            if isinstance(scorer, CheckedScorer):
                with _named(f"{key}.{name}"):
                    scorer.check(self.context())  # checked against the judge here, before any sampling or scoring
        return scorers

    def context(self, policy: str | None = None) -> ScoringContext:
        """What scorers get at run time; `policy` None stands for the base model."""
        return ScoringContext(verifier=self.verifier, policy=lambda: policy or self.base_model,
                              base_model=lambda: self.base_model, trainer=lambda: self.trainer,
                              step_delimiter=lambda: self.task.step_delimiter)

    def free_accelerator(self) -> None:
        """Before Train or a model-based scorer: the engine sleeps, stops or (CPU, when memory allows) stays."""
        for holder in self._holders:
            holder.release()

    def close(self) -> None:
        """Every release runs, last created first, even after one fails (the run directory's lock is the first
        created, so the last released); the first failure is raised once all have run."""
        failures = []
        while self._release:
            try:
                self._release.pop()()
            except Exception as failure:  # noqa: BLE001  (raised below, after the other resources are released)
                failures.append(failure)
        for failure in failures[1:]:
            log.error("releasing the run's resources failed more than once; also: %s", failure)
        if failures:
            raise failures[0]


def execute(cfg: DictConfig, run_dir: Path) -> int:
    """Build the configured mode (rest/conf/mode/) and run it inside one `Run`; returns the exit status."""
    standard_start_method()
    mode: Mode = build(mode_settings(cfg), _recursive_=False, _convert_="all")
    with Run(cfg, run_dir) as run:
        return mode.run(run)


def standard_start_method() -> None:
    """Under Hydra's joblib launcher a job runs in a loky worker, whose default start method is "loky": the
    processes vLLM and the verifier spawn restore it first and fail ("cannot find context for 'loky'"). They get
    the standard library's "spawn" instead."""
    if multiprocessing.get_start_method(allow_none=True) not in (None, *multiprocessing.get_all_start_methods()):
        multiprocessing.set_start_method("spawn", force=True)


@contextmanager
def _named(key: str) -> Iterator[None]:
    """A scorer's one-line errors name its settings as `scorer.<field>`: here they name where the run sets them
    (`scorers.generative_verifier.yes`, in mode=rm_eval `mode.scorers.judge_trained.yes`)."""
    try:
        yield
    except UserError as err:
        raise UserError(re.sub(r"(?<![\w.])scorer\.", f"{key}.", str(err))) from None
