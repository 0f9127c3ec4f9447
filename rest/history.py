"""Per-problem history: one row per problem and iteration (samples drawn, correct, kept, solved, distinct correct
completions), kept as a `datasets` dataset at <run dir>/history, and the diversity of what an iteration kept.

Curricula and accuracy bands read a problem's pass rate of the previous iteration from it
(`previous_pass_rates`, the `rates: previous` option of rest.filters.AccuracyBand).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from rest.artifacts import atomic_dir
from rest.records import Sample

HISTORY = "history"  # under the run directory


def problem_rows(samples: list[Sample], iteration: int) -> list[dict]:
    """This iteration's row per problem. `drawn` counts the samples grown in this iteration (0 on a ReST step
    that filters an earlier Grow's samples again); `kept` what Improve kept."""
    by_problem: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_problem[sample.problem_id].append(sample)
    rows = []
    for problem_id, group in by_problem.items():
        correct = [s for s in group if s.correct]
        rows.append({"problem_id": problem_id, "iteration": iteration,
                     "drawn": sum(s.iteration == iteration for s in group), "correct": len(correct),
                     "kept": sum(s.kept for s in group), "solved": bool(correct),
                     "distinct_correct": len({s.completion for s in correct}),
                     "pass_rate": len(correct) / len(group)})
    return rows


def diversity(rows: list[dict], metrics: dict) -> dict:
    """Distinct correct completions per solved problem (collapse shows as a fall towards 1), and the gap between
    held-out pass@k and greedy pass@1."""
    solved = [r for r in rows if r["solved"]]
    stats = {"problems_solved": len(solved),
             "distinct_correct_per_solved": sum(r["distinct_correct"] for r in solved) / len(solved) if solved else None}
    if metrics.get("pass@k") is not None and metrics.get("pass@1") is not None:
        stats["pass@k_minus_pass@1"] = metrics["pass@k"] - metrics["pass@1"]
    return stats


def write_history(run_dir: Path, rows: list[dict]) -> None:
    """Every iteration's rows so far, as one dataset (rewritten whole, atomically, after each iteration)."""
    import datasets

    if not rows:
        return
    with atomic_dir(run_dir / HISTORY) as tmp:
        datasets.Dataset.from_list(rows).save_to_disk(str(tmp))


def previous_pass_rates(rows: list[dict], iteration: int) -> dict[str, float]:
    """Each problem's pass rate in the latest iteration before `iteration` that grew it."""
    rates = {}
    for row in sorted(rows, key=lambda r: r["iteration"]):
        if row["iteration"] < iteration and row["drawn"]:
            rates[row["problem_id"]] = row["pass_rate"]
    return rates
