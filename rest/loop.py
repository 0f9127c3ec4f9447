"""The self-training loop, top to bottom: ReST-EM (Singh et al. 2023) and ReST (Gulcehre et al. 2023).

Iteration 0 evaluates the base model. Each later iteration is one Improve + Train step (rest/schedule.py):
ReST-EM Grows anew on the `pool` split with the current policy every iteration and trains from the base
model; ReST Grows once per Grow step, then filters the same samples with rising thresholds, each step
continuing to train the previous policy (optionally mixing in the seed split with weight lambda). Every
iteration ends with Evaluate. One vLLM engine serves an Evaluate and the next Grow; it is shut down after
sampling, so scorers and training have the memory.
"""

from __future__ import annotations

import logging
from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from rest import stages
from rest.artifacts import write_jsonl
from rest.config_check import semantic_error
from rest.errors import UserError
from rest.evaluate import EvalSettings
from rest.models import resolve_base_model
from rest.report import format_table
from rest.sampler import SamplingSettings
from rest.schedule import schedule

log = logging.getLogger(__name__)


def run(cfg: DictConfig, run_dir: Path) -> list[dict]:
    problem = semantic_error(cfg)
    if problem:
        raise UserError(problem)
    steps = schedule(OmegaConf.to_container(cfg.algorithm, resolve=True), cfg.filter.get("threshold"))
    task = instantiate(cfg.task)
    for split in (cfg.algorithm.grow_split, cfg.eval.split):
        task.problems(split)  # bad data fails here, before any model is built or engine started
    base = resolve_base_model(cfg.model, task)
    verifier = instantiate(cfg.verifier)
    scorer = build_scorer(cfg.scorer, verifier, base)
    sampler, trainer = instantiate(cfg.sampler.engine), instantiate(cfg.trainer)
    grow = SamplingSettings(**OmegaConf.to_container(cfg.sampler.grow, resolve=True))
    eval_settings = EvalSettings(**OmegaConf.to_container(cfg.eval, resolve=True))
    mix = seed_examples(task) if cfg.algorithm.get("seed_mix", 0) else None
    policy, metrics, grown = base, [], None
    try:
        for step in [None, *steps]:  # None: iteration 0, the base model
            it = step.iteration if step else 0
            it_dir = run_dir / f"iter_{it}"
            if step:
                keep = build_filter(cfg, step.threshold)
                if step.grow:
                    grown = it_dir / "samples"
                    stages.grow_and_improve(grown, it, policy, task, sampler, grow, scorer, keep, verifier,
                                            split=cfg.algorithm.grow_split)  # shuts the engine down after sampling
                    if getattr(scorer, "update_enabled", False):  # the implicit PRM learns from these labels
                        stages.update_scorer(it_dir / "scorer", it, scorer, grown)
                else:
                    stages.refilter(it_dir / "samples", it, grown, keep)
                init_from = base if cfg.algorithm.restart_from_base else policy
                policy = stages.train(it_dir / "checkpoint", it, trainer, it_dir / "samples", init_from, mix,
                                      cfg.algorithm.get("seed_mix", 0.0))
            stages.evaluate_policy(it_dir / "eval.json", it, policy, task, sampler, eval_settings, verifier)
            metrics.append({"iteration": it, "policy": policy, "threshold": step and step.threshold,
                            **stages.stage_stats(it_dir)})
            write_jsonl(run_dir / "metrics.jsonl", metrics)
    finally:
        sampler.close()
        verifier.close()
    log.info("%s finished; metrics in %s\n%s", cfg.algorithm.name, run_dir / "metrics.jsonl", format_table(metrics))
    return metrics


def build_filter(cfg: DictConfig, threshold: float | None):
    """The configured filter chain; a step's own threshold (ReST) replaces `filter.threshold`."""
    if threshold is None:
        return instantiate(cfg.filter.chain)
    filter_cfg = OmegaConf.merge(cfg.filter, {"threshold": threshold})
    return instantiate(OmegaConf.merge(cfg, {"filter": filter_cfg}).filter.chain)


def seed_examples(task) -> list[dict]:
    """The seed split's worked solutions as training examples (ReST's mix-in of the original data)."""
    return [{"prompt": task.prompt(p), "completion": p.solution} for p in task.problems("seed") if p.solution]


def build_scorer(scorer_cfg: DictConfig, verifier, base_model: str | None = None):
    """The configured scorer. Run-time inputs go to the scorers that declare them: `verifier` (the run's
    verifier) and `base_model` (the resolved base model)."""
    runtime = {"verifier": verifier, "base_model": base_model}
    return instantiate(scorer_cfg, **{key: value for key, value in runtime.items() if key in scorer_cfg})
