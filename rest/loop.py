"""mode=loop, the self-training loop, top to bottom: ReST-EM (Singh et al. 2023) and ReST (Gulcehre et al. 2023).

Iteration 0 evaluates the base model. Each later iteration is one Improve + Train step (rest/schedule.py):
ReST-EM Grows anew on the `pool` split with the current policy every iteration and trains from the base
model; ReST Grows once per Grow step, then filters the same samples with rising thresholds, each step
continuing to train the previous policy (optionally mixing in the seed split with weight lambda). Every
iteration ends with Evaluate (and, with a validation split, Validate: its greedy pass@1 marks the best
iteration in metrics.jsonl and `best`, and `early_stop` ends the loop once it stops improving; rest/validation.py).
After every iteration rest/progress.py writes metrics.jsonl, the per-problem history, pass_at_1.png and the
logger's view; with `mode.pairs` each Grow's samples also become DPO pairs (iter_N/pairs). The run owns the engine: it frees the accelerator before every Improve, Train and
scorer update, and loads each new policy into the same engine for the next Evaluate and Grow. A Grow step's
unsolved problems may be sampled again, while the engine is up, with a hint (STaR's rationalization) or with a wrong
attempt shown (Re-ReST's reflection); after Improve the scorers score them too, and the verified ones are trained on
with the plain prompt (rest/stages/retry.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from rest.artifacts import STATS, load_samples
from rest.config import build
from rest.config_check import semantic_error
from rest.contracts import CheckedTrainer, Filter, Scorer, Task
from rest.errors import UserError, is_whole
from rest.evaluate import EvalSettings
from rest.history import previous_pass_rates
from rest.pairs import check_pairs, preference_pairs, write_pairs
from rest.progress import Progress
from rest.reference_answer import from_config as trained_answer
from rest.report import format_table
from rest.run import Run
from rest.run_settings import keep_or_refuse
from rest.schedule import Step, schedule
from rest.stages.evaluate import evaluate_stage, validate_stage
from rest.stages.grow import grow_stage
from rest.stages.improve import check_references, improve, refilter, update_scorers
from rest.stages.retry import Rationalize, Reflect, check_hints, draw_retries, from_settings, keep_retried
from rest.stages.train import seed_examples, train_stage
from rest.stop import raise_if_stopped
from rest.tasks import problems_of
from rest.validation import Validation, check_disjoint, should_stop
from rest.weighting import from_trainer as weighting_from

log = logging.getLogger(__name__)


@dataclass
class Loop:
    """Settings: rest/conf/mode/loop.yaml (`eval`, `reward`, `rationalize`, `reflect`, `validation`, `pairs*`,
    `keep_checkpoints`); the algorithm, filter, budget, scorers and logger are config groups."""

    eval: dict
    reward: str | None
    rationalize: Rationalize
    reflect: Reflect
    validation: Validation
    pairs: bool
    pairs_by: str
    pairs_per_problem: int
    keep_checkpoints: int | None

    def __post_init__(self):  # from the config: dicts, checked here (one line each) before the run starts
        self.eval_settings = EvalSettings(**self.eval)
        if self.keep_checkpoints is not None and not is_whole(self.keep_checkpoints, 1):
            raise UserError("mode.keep_checkpoints must be null (keep every checkpoint) or a whole number >= 1, got "
                            f"{self.keep_checkpoints!r}")
        if isinstance(self.validation, dict):
            self.validation = Validation.from_config(self.validation)
        self.rationalize = from_settings(Rationalize, self.rationalize) if isinstance(self.rationalize, dict) else self.rationalize
        self.reflect = from_settings(Reflect, self.reflect) if isinstance(self.reflect, dict) else self.reflect

    def run(self, run: Run) -> int:
        cfg, grow_split = run.cfg, run.cfg.algorithm.grow_split
        problem = semantic_error(cfg) or self.validation.error(grow_split, self.eval_settings.split)
        if problem:
            raise UserError(problem)
        task = self.validation.task(run.task, grow_split)
        steps = schedule(OmegaConf.to_container(cfg.algorithm, resolve=True), cfg.filter.get("threshold"))
        self.check_data(task, grow_split)  # bad data fails here: before any model is built or engine started
        reward = reward_scorer(self.reward, run.scorers)
        check_references(run.scorers, task.problems(grow_split), grow_split)
        if self.pairs:
            check_pairs(self.pairs_by, run.scorers, self.pairs_per_problem)
        keep_or_refuse(run.dir, OmegaConf.to_container(cfg))  # a rerun resumes the same run
        progress = Progress(run.dir, run.logger, self.validation.early_stop.min_delta, self.keep_checkpoints)
        policy = run.base_model
        if isinstance(run.trainer, CheckedTrainer):  # before any work: a corrected rerun would be refused
            run.trainer.check(policy, [task.prompt(p) for p in task.problems(grow_split)])
        for step in [None, *steps]:  # None: iteration 0, the base model
            raise_if_stopped()
            iteration = step.iteration if step else 0
            if step:
                policy = self.improve_and_train(run, task, step, policy, reward, progress.history)
            self.evaluate(run, task, iteration, policy)
            raise_if_stopped()
            progress.record(iteration, policy, step and step.threshold, run.sampler.engine_starts)
            warn_if_worse(progress.metrics)
            if should_stop(progress.metrics, self.validation.early_stop):
                log.info("iteration %d: validation pass@1 has not improved for %d iteration(s): stopping early",
                         iteration, self.validation.early_stop.patience)
                break
        log.info("%s finished; metrics in %s\n%s", cfg.algorithm.name, run.dir / "metrics.jsonl",
                 format_table(progress.metrics))
        return 0

    def check_data(self, task: Task, grow_split: str) -> None:
        """Every split the run reads loads and has problems, hints have references, and validation is disjoint
        from test."""
        test = problems_of(task, self.eval_settings.split, "evaluate on")
        check_hints(self.rationalize, problems_of(task, grow_split, "grow from"), grow_split)
        validation = self.validation.split_name(grow_split)
        if validation:
            check_disjoint(task.problems(validation), test)

    def evaluate(self, run: Run, task: Task, iteration: int, policy: str) -> None:
        """Held-out metrics, and validation pass@1 when a validation split is set."""
        it_dir = run.dir / f"iter_{iteration}"
        validation = self.validation.split_name(run.cfg.algorithm.grow_split)
        if not (it_dir / "eval.json").exists() or (validation and not (it_dir / "validation.json").exists()):
            require_policy(policy, run.dir, f"iteration {iteration}'s Evaluate", iteration)
        evaluate_stage(it_dir / "eval.json", iteration, policy, task, run.sampler, self.eval_settings,
                       run.grow_settings, run.verifier)
        if validation:
            validate_stage(it_dir / "validation.json", iteration, policy, task, validation, run.sampler,
                           run.grow_settings, run.verifier)

    def improve_and_train(self, run: Run, task: Task, step: Step, policy: str, reward: str,
                          history: list[dict]) -> str:
        """Grow (or reuse ReST's last Grow), Improve, Train, update learning scorers: returns the new policy.
        Scorers learn after Train, so one that follows the policy (the implicit PRM's model=policy) starts its
        update from the policy that samples the next iteration, whose samples it scores."""
        cfg, it_dir, it = run.cfg, run.dir / f"iter_{step.iteration}", step.iteration
        if not (it_dir / "train.json").exists():  # Grow, Improve or Train still to run: they read the policy
            require_policy(policy, run.dir, f"iteration {it}", it - 1)
        keep = keep_filter(cfg, step.threshold)
        if step.grow:
            self.grow_and_improve(run, task, it, policy, reward, keep, previous_pass_rates(history, it))
        else:
            refilter(it_dir / "samples", it, run.dir / f"iter_{step.source}" / "samples", keep,
                     weighting_from(cfg.trainer))
        run.free_accelerator()
        raise_if_stopped()
        init_from = run.base_model if cfg.algorithm.restart_from_base else policy
        mix = seed_examples(task) if cfg.algorithm.seed_mix else None
        trained = train_stage(it_dir / "checkpoint", it, run.trainer, it_dir / "samples", init_from, mix,
                              cfg.algorithm.seed_mix, it_dir / "retry", run.logger.trainer_args(it),
                              trained_answer(cfg.algorithm.answer, cfg.scorers))
        raise_if_stopped()
        if step.grow:
            update_scorers(it_dir / "scorers", it, run.scorers, it_dir / "samples", run.context(trained))
        if self.pairs and not (it_dir / "pairs" / STATS).exists():
            write_pairs(it_dir / "pairs", preference_pairs(load_samples(it_dir / "samples"), self.pairs_by,
                                                           self.pairs_per_problem))
        return trained

    def grow_and_improve(self, run: Run, task: Task, it: int, policy: str, reward: str, keep: Filter,
                         previous_rates: dict[str, float]) -> None:
        """Grow; Retry's draws while the engine is up; Improve the grown samples, then the retried ones."""
        cfg, it_dir, split = run.cfg, run.dir / f"iter_{it}", run.cfg.algorithm.grow_split
        sources = (self.rationalize, self.reflect)
        grow_stage(it_dir / "grown", it, policy, task, split, run.sampler, run.grow_settings, run.verifier, run.budget)
        retried = draw_retries(it_dir / "retry", it, sources, it_dir / "grown", policy, task, split, run.sampler,
                               run.grow_settings, run.verifier)
        run.free_accelerator()
        context = run.context(policy)
        improve(it_dir / "samples", it, it_dir / "grown", run.scorers, reward, keep, context, previous_rates,
                weighting_from(cfg.trainer))
        keep_retried(it_dir / "retry", it, sources, retried, run.scorers, reward, context, cfg.filter.get("cap"))




def require_policy(policy: str, run_dir: Path, needed_by: str, trained_in: int) -> None:
    """A checkpoint of this run that a stage still to run reads is there: else one line, not vLLM's traceback."""
    if Path(policy).exists() or not Path(policy).is_relative_to(run_dir):
        return
    raise UserError(f"{needed_by} needs the policy {policy}, which is gone (deleted, or a copy cut short): restore "
                    f"it, or train iteration {trained_in} again: delete all of iter_{trained_in}/ but grown/, samples/ "
                    "and retry/, and the iterations after it")


def warn_if_worse(metrics: list[dict]) -> None:
    """Self-training can make a policy worse (too high a learning rate, too few kept samples): say so."""
    if len(metrics) > 1 and metrics[-1]["pass@1"] < metrics[-2]["pass@1"]:
        log.warning("iteration %d: held-out greedy pass@1 fell from %.3f to %.3f; check the kept samples and the "
                    "model's training settings (rest/conf/model/)", metrics[-1]["iteration"], metrics[-2]["pass@1"],
                    metrics[-1]["pass@1"])


def keep_filter(cfg: DictConfig, threshold: float | None) -> Filter:
    """The configured filter chain; a step's own threshold (ReST) replaces `filter.threshold`."""
    if threshold is None:
        return build(cfg.filter.chain)
    return build(OmegaConf.merge(cfg, {"filter": {"threshold": threshold}}).filter.chain)


def reward_scorer(name: str | None, scorers: dict[str, Scorer]) -> str:
    """The scorer whose normalised score is each sample's `reward` (what ReST's thresholds see)."""
    if name is None and len(scorers) == 1:
        return next(iter(scorers))
    if name is None:
        raise UserError(f"mode.reward: this run has {len(scorers)} scorers ({', '.join(sorted(scorers))}); name the one "
                        f"whose score is each sample's reward, what ReST's thresholds see (mode.reward={min(scorers)})")
    if name not in scorers:
        raise UserError(f"mode.reward={name} is not a scorer of this run; name one of {', '.join(sorted(scorers))}")
    return name
