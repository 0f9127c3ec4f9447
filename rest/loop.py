"""The ReST-EM loop (Singh et al. 2023), top to bottom.

iteration 0 evaluates the base model. Each later iteration: Grow samples on the `pool` split with the
current policy, Improve (score, filter), Train from the base model (ReST-EM) or from the previous policy
(`algorithm.restart_from_base=false`), Evaluate. One vLLM engine serves an iteration's Evaluate and the
next iteration's Grow; it is shut down before training.
"""

from __future__ import annotations

import logging
from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from rest import stages
from rest.artifacts import write_jsonl
from rest.evaluate import EvalSettings
from rest.models import resolve_base_model
from rest.report import format_table
from rest.sampler import SamplingSettings

log = logging.getLogger(__name__)


def run(cfg: DictConfig, run_dir: Path) -> list[dict]:
    task = instantiate(cfg.task)
    for split in (cfg.algorithm.grow_split, cfg.eval.split):
        task.problems(split)  # bad data fails here, before any model is built or engine started
    base = resolve_base_model(cfg.model, task)
    verifier = instantiate(cfg.verifier)
    scorer = build_scorer(cfg.scorer, verifier, base)
    sampler, trainer = instantiate(cfg.sampler.engine), instantiate(cfg.trainer)
    keep = instantiate(cfg.filter.chain)
    grow = SamplingSettings(**OmegaConf.to_container(cfg.sampler.grow, resolve=True))
    eval_settings = EvalSettings(**OmegaConf.to_container(cfg.eval, resolve=True))
    policy, metrics = base, []
    try:
        for it in range(cfg.algorithm.iterations + 1):
            it_dir = run_dir / f"iter_{it}"
            if it > 0:
                stages.grow_and_improve(it_dir / "samples", it, policy, task, sampler, grow, scorer, keep, verifier,
                                        split=cfg.algorithm.grow_split)  # shuts the engine down after sampling
                if getattr(scorer, "update_enabled", False):  # the implicit PRM learns from this iteration's labels
                    stages.update_scorer(it_dir / "scorer", it, scorer, it_dir / "samples")
                init_from = base if cfg.algorithm.restart_from_base else policy
                policy = stages.train(it_dir / "checkpoint", it, trainer, it_dir / "samples", init_from)
            stages.evaluate_policy(it_dir / "eval.json", it, policy, task, sampler, eval_settings, verifier)
            metrics.append({"iteration": it, "policy": policy, **stages.stage_stats(it_dir)})
            write_jsonl(run_dir / "metrics.jsonl", metrics)
    finally:
        sampler.close()
        verifier.close()
    log.info("ReST-EM finished; metrics in %s\n%s", run_dir / "metrics.jsonl", format_table(metrics))
    return metrics


def build_scorer(scorer_cfg: DictConfig, verifier, base_model: str | None = None):
    """The configured scorer. Run-time inputs go to the scorers that declare them: `verifier` (the run's
    verifier) and `base_model` (the resolved base model)."""
    runtime = {"verifier": verifier, "base_model": base_model}
    return instantiate(scorer_cfg, **{key: value for key, value in runtime.items() if key in scorer_cfg})
