"""Evaluate: the policy's held-out metrics (rest/evaluate.py), written to iter_N/eval.json with per-problem rows
beside it (eval_problems.jsonl); and Validate: greedy pass@1 on the validation split (iter_N/validation.json,
validation_problems.jsonl), the number that chooses the best iteration (rest/validation.py)."""

from __future__ import annotations

import logging
from pathlib import Path

from rest.artifacts import read_json, write_json, write_jsonl
from rest.contracts import Judge, Sampler, Task
from rest.evaluate import EvalSettings, evaluate
from rest.sampler import SamplingSettings
from rest.validation import METRIC

log = logging.getLogger(__name__)


def evaluate_stage(out: Path, iteration: int, policy: str, task: Task, sampler: Sampler, settings: EvalSettings,
                   sampling: SamplingSettings, verifier: Judge) -> dict:
    if out.exists():
        log.info("iteration %d: eval exists at %s, skipping Evaluate", iteration, out)
        return read_json(out)
    log.info("iteration %d: Evaluate %s on %s", iteration, policy, settings.split)
    metrics, rows = evaluate(sampler, policy, task, settings, sampling, verifier)
    write_jsonl(out.with_name("eval_problems.jsonl"), rows)
    write_json(out, metrics)
    return metrics


def validate_stage(out: Path, iteration: int, policy: str, task: Task, split: str, sampler: Sampler,
                   sampling: SamplingSettings, verifier: Judge) -> dict:
    """Greedy pass@1 of `policy` on the validation `split`, as `val_pass@1`."""
    if out.exists():
        log.info("iteration %d: validation exists at %s, skipping Validate", iteration, out)
        return read_json(out)
    log.info("iteration %d: Validate %s on %s", iteration, policy, split)
    metrics, rows = evaluate(sampler, policy, task, EvalSettings(split=split, k=0), sampling, verifier)
    result = {METRIC: metrics["pass@1"], "val_problems": metrics["eval_problems"],
              "tokens_validate": metrics["tokens_eval"], "seconds_validate": metrics["seconds_eval"]}
    write_jsonl(out.with_name("validation_problems.jsonl"), rows)
    write_json(out, result)
    log.info("iteration %d: validation pass@1 %.3f", iteration, result[METRIC])
    return result
