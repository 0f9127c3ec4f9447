"""`python run.py mode=merge merge.shards=[DIR_0,DIR_1,...]`: join the datasets of mode=generate shards.

Rows are put back in the unsharded order (problem position in the split, then sample index), so the merged
dataset equals what one unsharded run writes. A (problem, sample) present twice, or a shard that has not
finished, is an error naming it.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path

from omegaconf import DictConfig

from rest.errors import UserError
from rest.modes.generate import export

log = logging.getLogger(__name__)


def run(cfg: DictConfig, run_dir: Path) -> int:
    if not cfg.merge.shards:
        raise UserError("mode=merge needs merge.shards=[DIR, ...]: the run directories of the generate shards")
    rows = []
    for shard in cfg.merge.shards:
        path = Path(shard) / "dataset.jsonl"
        if not path.exists():
            raise UserError(f"merge: {shard} has no dataset.jsonl: did its mode=generate run finish?")
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    rows.sort(key=lambda r: (r["problem_index"], r["sample_index"]))
    counts = Counter((r["problem_index"], r["sample_index"]) for r in rows)
    duplicated = {k for k, n in counts.items() if n > 1}
    if duplicated:
        raise UserError(f"merge: {len(duplicated)} (problem, sample) rows appear in more than one shard, e.g. {min(duplicated)}")
    export(rows, run_dir)
    log.info("merge: %d rows from %d shards", len(rows), len(cfg.merge.shards))
    return 0
