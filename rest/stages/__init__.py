"""The loop's stages. Each is a plain function of the artifacts it reads and the resources the run hands it;
it writes one artifact atomically and is skipped when that artifact exists, so rerunning a command resumes
where it stopped. A stage opens and closes nothing it does not own.

grow.py      Grow: sample a split with the policy, judge every sample with the verifier   -> iter_N/grown/
improve.py   Improve: score, normalise the reward, filter (ReST: filter again)             -> iter_N/samples/
             and the online update of learning scorers                                     -> iter_N/scorers/
retry.py     Retry: unsolved problems sampled again with a hint or a wrong attempt shown   -> iter_N/retry/
train.py     Train: SFT on the kept samples                                                -> iter_N/checkpoint/
evaluate.py  Evaluate: held-out pass@1 / pass@k / maj@k                                    -> iter_N/eval.json
             and validation (greedy pass@1 on the validation split, chooses the iteration)   -> iter_N/validation.json
"""

from __future__ import annotations

from pathlib import Path

from rest.artifacts import STATS, read_json


def stage_stats(iteration_dir: Path) -> dict:
    """Merged numbers of an iteration's finished stages (for metrics.jsonl)."""
    merged = {}
    markers = [iteration_dir / "grown" / STATS, iteration_dir / "samples" / STATS, iteration_dir / "retry" / STATS,
               *sorted((iteration_dir / "scorers").glob("*.json")), iteration_dir / "train.json",
               iteration_dir / "eval.json", iteration_dir / "validation.json"]
    for path in markers:
        if path.exists():
            merged.update(read_json(path))
    return merged
