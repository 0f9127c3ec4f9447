"""What the loop leaves for its user after every iteration: the iteration's row of metrics.jsonl (every stage's
numbers, validation, diversity, accounting), the per-problem history, the best pointer, the pass@1 plot
(pass_at_1.png), the logger's view of it all, and (mode.keep_checkpoints) only the iteration checkpoints asked for."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from rest.artifacts import load_samples, write_jsonl
from rest.contracts import Logger
from rest.history import diversity, problem_rows, write_history
from rest.report import plot_run
from rest.stages import stage_stats
from rest.validation import mark_best

log = logging.getLogger(__name__)
TABLE_ROWS = 20  # samples per iteration in the logger's sample table


class Progress:
    """Owns metrics.jsonl, history/, best.json and pass_at_1.png of one loop run (rebuilt from the iterations'
    artifacts on resume, so a resumed run writes the same files)."""

    def __init__(self, run_dir: Path, logger: Logger, min_delta: float, keep_checkpoints: int | None = None):
        self.dir, self.logger, self.min_delta, self.keep_checkpoints = run_dir, logger, min_delta, keep_checkpoints
        self.metrics: list[dict] = []
        self.history: list[dict] = []

    def record(self, iteration: int, policy: str, threshold: float | None, engine_starts: int) -> dict:
        """Adds the iteration's row; rewrites every file the run keeps; returns the row."""
        it_dir = self.dir / f"iter_{iteration}"
        stats = stage_stats(it_dir)
        samples = load_samples(it_dir / "samples") if (it_dir / "samples").exists() else []  # read once, used twice
        rows = problem_rows(samples, iteration)
        row = {"iteration": iteration, "policy": policy, "threshold": threshold, **stats,
               **diversity(rows, stats), **accounting(stats), "engine_starts": engine_starts}
        row["policy"] = policy  # not train.json's: the run may have moved since
        self.metrics.append(row)
        self.history += rows
        mark_best(self.metrics, self.dir, self.min_delta)
        if self.keep_checkpoints is not None:
            remove_old_checkpoints(self.dir, self.metrics, self.keep_checkpoints)
        write_jsonl(self.dir / "metrics.jsonl", self.metrics)
        write_history(self.dir, self.history)
        plot_run(self.metrics, self.dir / "pass_at_1.png")
        self.logger.log_metrics(iteration, row)
        if samples:
            self.logger.log_samples(iteration, sample_table(samples))
        return row


def remove_old_checkpoints(run_dir: Path, metrics: list[dict], keep: int) -> None:
    """Removes each iteration's checkpoint (iter_N/checkpoint) that is neither the policy of one of the last `keep`
    iterations (an iteration that trained nothing keeps its predecessor's) nor the best iteration's, and each
    learning scorer's updates (iter_N/scorers/<name>/) but its last `keep`. Only the next iterations read a policy
    or an update, and only the newest; the markers still name a removed one, and a rerun skips its iteration as
    before (its stages' artifacts are all there)."""
    kept = {Path(row["policy"]).resolve() for row in metrics[-keep:] + [row for row in metrics if row.get("best")]}
    policies = [run_dir / f"iter_{row['iteration']}" / "checkpoint" for row in metrics]
    _remove([p for p in policies if p.is_dir() and p.resolve() not in kept], keep)
    updates = sorted((p for p in run_dir.glob("iter_*/scorers/*") if p.is_dir() and not p.name.endswith(".tmp")),
                     key=lambda p: int(p.parent.parent.name.removeprefix("iter_")))
    for name in sorted({p.name for p in updates}):
        _remove([p for p in updates if p.name == name][:-keep], keep)


def _remove(checkpoints: list[Path], keep: int) -> None:
    for checkpoint in checkpoints:
        shutil.rmtree(checkpoint)
        log.info("removed %s (mode.keep_checkpoints=%d)", checkpoint, keep)


def accounting(stats: dict) -> dict:
    """Kept per grown sample, and samples drawn per kept one (the cost of a training example)."""
    grown, kept = stats.get("grown"), stats.get("kept")
    if not grown or kept is None:
        return {}
    return {"yield": kept / grown, "grown_per_kept": grown / kept if kept else None}


def sample_table(samples: list) -> list[dict]:
    """The first samples of an iteration, for the logger's table."""
    return [{"problem_id": s.problem_id, "prompt": s.prompt, "completion": s.completion, "correct": s.correct,
             "kept": s.kept, "reward": s.reward} for s in samples[:TABLE_ROWS]]
