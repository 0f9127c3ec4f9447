"""Held-out pass@1 of finished arithmetic runs on every problem outside their seed and pool splits: the 300-problem
test split and every other problem the task can generate (1,900 on the default task), so that a difference
between two runs is measured with about 2.5 times less noise than the test split alone gives.

    .venv/bin/python bench/wide_eval.py RUN [RUN ...] [--iterations 0 3] [--out bench/results/wide_eval.json]

Each run's task is rebuilt from its .hydra/config.yaml, and iteration N's policy (iter_N/checkpoint; iteration 0:
the run's base model) answers greedily with the run's Grow settings (max_tokens, stop), judged by the run's verifier,
exactly as Evaluate does (rest/evaluate.py), on one engine for all runs (they must share sampler and verifier
settings). Reported per run and iteration: pass@1 on the wide held-out set, on
its test-split part (which should equal iter_N/eval.json's pass@1, a check that the evaluation is the loop's), and
on the problems outside every split. Runs from this checkout's directory (the base model cache is ./data/models).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

from omegaconf import OmegaConf

from rest.artifacts import read_json
from rest.config import build
from rest.evaluate import EvalSettings, evaluate
from rest.models import resolve_base_model
from rest.records import Problem
from rest.run import Run
from rest.tasks.arithmetic import ArithmeticTask

log = logging.getLogger("bench")


@dataclass
class HeldOut:
    """The Task contract over a fixed list of problems, prompted as `task` prompts them."""

    task: ArithmeticTask
    held_out: list[Problem]

    @property
    def answer_fallback(self) -> str | None:
        return self.task.answer_fallback

    @property
    def step_delimiter(self) -> str:
        return self.task.step_delimiter

    def problems(self, split: str) -> list[Problem]:
        return self.held_out

    def prompt(self, problem: Problem) -> str:
        return self.task.prompt(problem)


def held_out(task: ArithmeticTask) -> tuple[list[Problem], set[str]]:
    """Every problem of the task's space in neither the seed nor the pool split, and the test split's questions."""
    trained = {p.question for split in ("seed", "pool") for p in task.problems(split)}
    return [p for p in task.space() if p.question not in trained], {p.question for p in task.problems("test")}


def pass_rate(rows: list[dict]) -> dict:
    n = len(rows)
    rate = sum(r["greedy_correct"] for r in rows) / n
    return {"pass@1": round(rate, 4), "problems": n, "se": round(math.sqrt(rate * (1 - rate) / n), 4)}


def evaluate_run(run: Run, run_dir: Path, iterations: list[int], done: dict[str, list[dict]]) -> dict:
    """`run` holds the engine and verifier shared by every run directory (loaded policies change, the engine
    stays); `done` keeps each policy's rows, so a base model shared by several runs is evaluated once."""
    cfg = OmegaConf.load(run_dir / ".hydra" / "config.yaml")
    shared = [(c.sampler.engine, c.sampler.grow.max_tokens, c.sampler.grow.stop, c.verifier) for c in (cfg, run.cfg)]
    if shared[0] != shared[1]:  # what greedy answers and their verdicts depend on
        raise SystemExit(f"{run_dir}: other sampler or verifier settings than the first run; evaluate it separately")
    task = build(cfg.task)
    problems, test = held_out(task)
    result = {"overrides": list(OmegaConf.load(run_dir / ".hydra" / "overrides.yaml")), "iterations": {}}
    for iteration in iterations:
        policy = resolve_base_model(cfg.model, task) if iteration == 0 else str(
            run_dir / f"iter_{iteration}" / "checkpoint")
        if policy not in done:
            _, done[policy] = evaluate(run.sampler, policy, HeldOut(task, problems), EvalSettings("wide", k=0),
                                       run.grow_settings, run.verifier)
        rows = done[policy]
        figures = {"wide": pass_rate(rows),
                   "test_part": pass_rate([r for r, p in zip(rows, problems) if p.question in test]),
                   "outside_splits": pass_rate([r for r, p in zip(rows, problems) if p.question not in test]),
                   "eval_json_pass@1": read_json(run_dir / f"iter_{iteration}" / "eval.json")["pass@1"]}
        log.info("%s iteration %d: %s", run_dir.name, iteration, figures)
        result["iterations"][str(iteration)] = figures
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--iterations", nargs="+", type=int, default=[0, 3])
    parser.add_argument("--out", type=Path, default=Path("bench/results/wide_eval.json"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    results, done = {}, {}
    with tempfile.TemporaryDirectory() as scratch, Run(OmegaConf.load(args.runs[0] / ".hydra" / "config.yaml"),
                                                      Path(scratch)) as run:
        for run_dir in args.runs:
            results[str(run_dir)] = evaluate_run(run, run_dir, args.iterations, done)
            args.out.write_text(json.dumps(results, indent=2) + "\n")  # after each run: a long bench keeps its part
    log.info("written to %s", args.out)


if __name__ == "__main__":
    main()
