"""Preference pairs for DPO from the same samples SFT trains on: per problem, a chosen completion against a
rejected one, in TRL's standard (non-conversational) preference layout `{"prompt", "chosen", "rejected"}`, with
audit columns (`problem_id`, `chosen_index`, `rejected_index`, `chosen_score`, `rejected_score`).

`by="verifier"`: a verified-correct sample (`correct is True`) against a wrong one (`correct is False`; samples
the verifier could not judge, `correct is None`, are never used). After dropping repeated completion texts, the
i-th correct is paired with the i-th wrong (in sample order), so every completion appears in at most one pair.
`by=<scorer name>`: samples ranked by `scores[name]` (None excluded), the i-th best against the i-th worst while
the best scores strictly higher. Either way at most `max_per_problem` pairs per problem; a problem that gives none
is counted (by reason) and logged.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

from rest.artifacts import STATS, atomic_dir, write_json
from rest.errors import UserError, is_whole
from rest.records import Sample

log = logging.getLogger(__name__)
VERIFIER = "verifier"
COLUMNS = {"prompt": "string", "chosen": "string", "rejected": "string", "problem_id": "string",
           "chosen_index": "int64", "rejected_index": "int64", "chosen_score": "float64", "rejected_score": "float64"}


class Pairs(list):
    """The pairs (dicts), plus how many problems gave none, by reason (for the stats written beside them)."""

    def __init__(self, rows: list[dict], without: dict[str, int]):
        super().__init__(rows)
        self.without = without


def check_pairs(by: str, scorers, per_problem: int) -> None:
    """Before any work: a one-line UserError unless `by` is "verifier" or a configured scorer name and
    `per_problem` is at least 1."""
    if not is_whole(per_problem, 1):
        raise UserError(f"mode.pairs_per_problem must be a whole number >= 1, got {per_problem!r}")
    if by != VERIFIER and by not in scorers:
        choices = ", ".join([VERIFIER, *map(str, scorers)])
        raise UserError(f"mode.pairs_by={by!r} is not a configured scorer; choose one of: {choices}")


def preference_pairs(samples: list[Sample], by: str, max_per_problem: int) -> Pairs:
    """Chosen/rejected pairs of every problem of `samples` (module docstring), problems in first-seen order."""
    if max_per_problem < 1:
        raise UserError(f"pairs_per_problem must be at least 1, got {max_per_problem}")
    groups: dict[str, list[Sample]] = {}
    for sample in samples:
        groups.setdefault(sample.problem_id, []).append(sample)
    rows, without = [], Counter()
    for group in groups.values():
        group = sorted(group, key=lambda s: s.sample_index)
        found, reason = _verifier_pairs(group) if by == VERIFIER else _score_pairs(group, by)
        if not found:
            without[reason] += 1
        rows += [_pair(chosen, rejected, by) for chosen, rejected in found[:max_per_problem]]
    if without:
        log.info("pairs: %d of %d problems gave no pair (%s)", sum(without.values()), len(groups),
                 ", ".join(f"{k}: {v}" for k, v in sorted(without.items())))
    log.info("pairs by %s: %d pairs from %d problems", by, len(rows), len(groups) - sum(without.values()))
    return Pairs(rows, dict(without))


def _verifier_pairs(group: list[Sample]) -> tuple[list[tuple[Sample, Sample]], str]:
    correct = _distinct([s for s in group if s.correct is True])
    texts = {s.completion for s in correct}
    wrong = _distinct([s for s in group if s.correct is False and s.completion not in texts])
    if not correct:
        return [], "no_correct"
    if not wrong:
        return [], "no_wrong"
    return list(zip(correct, wrong)), ""


def _score_pairs(group: list[Sample], name: str) -> tuple[list[tuple[Sample, Sample]], str]:
    scored = _distinct([s for s in group if s.scores.get(name) is not None])
    if len(scored) < 2:
        return [], "fewer_than_two_scored"
    ranked = sorted(scored, key=lambda s: -s.scores[name])  # stable: ties stay in sample order
    found = []
    for i in range(len(ranked) // 2):
        best, worst = ranked[i], ranked[-1 - i]
        if best.scores[name] <= worst.scores[name]:
            break
        found.append((best, worst))
    return found, "" if found else "all_scored_alike"


def _distinct(samples: list[Sample]) -> list[Sample]:
    """The first sample of each completion text, in order."""
    seen: dict[str, Sample] = {}
    for sample in samples:
        seen.setdefault(sample.completion, sample)
    return list(seen.values())


def _pair(chosen: Sample, rejected: Sample, by: str) -> dict:
    def score(sample: Sample) -> float:
        return float(sample.correct) if by == VERIFIER else float(sample.scores[by])

    return {"prompt": chosen.prompt, "chosen": chosen.completion, "rejected": rejected.completion,
            "problem_id": chosen.problem_id, "chosen_index": chosen.sample_index,
            "rejected_index": rejected.sample_index, "chosen_score": score(chosen), "rejected_score": score(rejected)}


def write_pairs(out: Path, pairs: list[dict]) -> None:
    """`pairs` as a `datasets` dataset at `out` (datasets.load_from_disk), with their counts in `out/stats.json`,
    in one rename (an existing `out/stats.json` means the pairs are complete)."""
    import datasets

    features = datasets.Features({name: datasets.Value(kind) for name, kind in COLUMNS.items()})
    table = datasets.Dataset.from_dict({c: [p[c] for p in pairs] for c in COLUMNS}, features=features)
    with_pair = len({p["problem_id"] for p in pairs})
    without = pairs.without if isinstance(pairs, Pairs) else {}  # a plain list does not count problems without one
    stats = {"pairs": len(pairs), "problems_with_pair": with_pair, "problems_without_pair": sum(without.values()),
             **{f"problems_without_pair_{reason}": count for reason, count in without.items()}}
    with atomic_dir(out) as tmp:
        table.save_to_disk(str(tmp), num_shards=None if pairs else 1)  # an empty one as one shard: zero would not load
        write_json(tmp / STATS, stats)
    log.info("pairs: %d pairs (%d problems) -> %s", len(pairs), with_pair, out)
