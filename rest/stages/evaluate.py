"""Evaluate: the policy's held-out metrics (rest/evaluate.py), written to iter_N/eval.json with per-problem rows
beside it (eval_problems.jsonl)."""

from __future__ import annotations

import logging
from pathlib import Path

from rest.artifacts import read_json, write_json, write_jsonl
from rest.contracts import Judge, Sampler, Task
from rest.evaluate import EvalSettings, evaluate
from rest.sampler import SamplingSettings

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
