"""`python run.py mode=merge mode.shards=[DIR_0,DIR_1,...]`: join the datasets of mode=generate shards.

Rows are put back in the unsharded order (problem position in the split, then sample index), so the merged
dataset equals what one unsharded run writes. A (problem, sample) present twice, or a shard that has not
finished, is an error naming it.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from rest.errors import UserError
from rest.modes.generate import export, read_jsonl
from rest.run import Run

log = logging.getLogger(__name__)


@dataclass
class Merge:
    """Settings: conf/mode/merge.yaml."""

    shards: list[str]

    def run(self, run: Run) -> int:
        rows = read_shards(self.shards)
        export(rows, run.dir)
        log.info("merge: %d rows from %d shards", len(rows), len(self.shards))
        return 0


def read_shards(shards: list[str]) -> list[dict]:
    """Every shard's rows in the unsharded order; a missing shard or a row in two shards is an error."""
    if not shards:
        raise UserError("mode=merge needs mode.shards=[DIR, ...]: the run directories of the generate shards")
    rows = []
    for shard in shards:
        path = Path(shard) / "dataset.jsonl"
        if not path.exists():
            raise UserError(f"merge: {shard} has no dataset.jsonl: did its mode=generate run finish?")
        rows += read_jsonl(path)
    rows.sort(key=lambda r: (r["problem_index"], r["sample_index"]))
    counts = Counter((r["problem_index"], r["sample_index"]) for r in rows)
    duplicated = {k for k, n in counts.items() if n > 1}
    if duplicated:
        raise UserError(f"merge: {len(duplicated)} (problem, sample) rows appear in more than one shard, e.g. {min(duplicated)}")
    return rows
