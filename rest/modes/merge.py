"""`python run.py mode=merge mode.shards=[DIR_0,DIR_1,...]`: join the datasets of mode=generate shards.

Rows are put back in the unsharded order (problem position in the split, then sample index), so the merged
dataset equals what one unsharded run writes; shards that wrote DPO pairs (`mode.pairs=true`) give the pairs of the
merged rows, as the unsharded run writes them. A (problem, sample) present twice, a shard that has not finished,
a shard missing from the list (each run records its `mode.shard` in .hydra/config.yaml), or shards made with
different settings (model, split, sampling, scorers: their chunks/plan.json; task: .hydra/config.yaml) are errors
naming them.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from rest.artifacts import read_json
from rest.config import dotted
from rest.errors import UserError
from rest.modes.generate import PLAN, export, read_jsonl, to_sample
from rest.pairs import preference_pairs, write_pairs
from rest.run import Run

log = logging.getLogger(__name__)
PER_SHARD = ("shard", "chunk_size", "problems")  # what chunks/plan.json records that differs between shards


@dataclass
class Merge:
    """Settings: rest/conf/mode/merge.yaml."""

    shards: list[str]

    def run(self, run: Run) -> int:
        rows = read_shards(self.shards)
        pairing = pairs_settings([recorded_mode(Path(shard)) for shard in self.shards])
        export(rows, run.dir, scorer_names(self.shards, rows))
        if pairing:
            write_pairs(run.dir / "pairs", preference_pairs([to_sample(r) for r in rows], *pairing))
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
    check_complete([shard_of(Path(shard)) for shard in shards])
    check_same_settings(shards)
    check_same_sampling(rows)
    check_same_columns(rows)
    rows.sort(key=lambda r: (r["problem_index"], r["sample_index"]))
    counts = Counter((r["problem_index"], r["sample_index"]) for r in rows)
    duplicated = {k for k, n in counts.items() if n > 1}
    if duplicated:
        raise UserError(f"merge: {len(duplicated)} (problem, sample) rows appear in more than one shard, e.g. {min(duplicated)}")
    return rows


def recorded_mode(run_dir: Path) -> DictConfig | None:
    """The `mode` settings that a generate run recorded in its .hydra/config.yaml (None: not recorded)."""
    recorded = run_dir / ".hydra" / "config.yaml"
    return OmegaConf.load(recorded).mode if recorded.exists() else None


def shard_of(run_dir: Path) -> tuple[int, int] | None:
    """(mode.shard.index, mode.shard.count) of a generate run (None: not recorded)."""
    mode = recorded_mode(run_dir)
    if mode is not None and "shard" not in mode:
        raise UserError(f"merge: {run_dir} was not made by mode=generate (it ran {mode.get('_target_')}); "
                        "list the generate shards' run directories")
    return None if mode is None else (int(mode.shard.index), int(mode.shard.count))


def pairs_settings(modes: list[DictConfig | None]) -> tuple[str, int] | None:
    """(pairs_by, pairs_per_problem) of shards that all wrote DPO pairs; None when none did (or none recorded it).
    Shards that made pairs differently, or some without, are an error: the merge could not write what one run does."""
    pairing = {None if mode is None or not mode.get("pairs") else (str(mode.pairs_by), int(mode.pairs_per_problem))
               for mode in modes}
    if len(pairing) > 1:
        made = "; ".join("no pairs" if p is None else f"pairs_by={p[0]}, pairs_per_problem={p[1]}"
                         for p in sorted(pairing, key=str))
        raise UserError(f"merge: the shards wrote DPO pairs differently ({made}); merge shards of one generate command")
    return pairing.pop()


def check_complete(shards: list[tuple[int, int] | None]) -> None:
    """Every shard of one sharding, each once (shards that did not record theirs are not checked)."""
    known = [s for s in shards if s is not None]
    counts = {count for _, count in known}
    if len(counts) > 1:
        raise UserError(f"merge: the shards split the problems differently (mode.shard.count {sorted(counts)})")
    if known:
        missing = sorted(set(range(known[0][1])) - {index for index, _ in known})
        if missing and len(known) == len(shards):
            raise UserError(f"merge: shard(s) {missing} of {known[0][1]} are not in mode.shards; list every "
                            "shard's run directory")


def check_same_sampling(rows: list[dict]) -> None:
    """One model and one set of sampling settings across the shards' rows."""
    settings = {(r.get("model"), r.get("sampling")) for r in rows}
    if len(settings) > 1:
        models = sorted({str(model) for model, _ in settings})
        raise UserError(f"merge: the shards were sampled from different models or with different sampling settings "
                        f"(models: {models}); merge shards of one generate command")


def made_with(run_dir: Path) -> dict | None:
    """What a shard's rows depend on beyond its share of the problems: its chunks/plan.json without the per-shard
    entries, and its recorded task (None: a shard that recorded neither)."""
    plan, recorded = run_dir / "chunks" / PLAN, run_dir / ".hydra" / "config.yaml"
    settings = {k: v for k, v in read_json(plan).items() if k not in PER_SHARD} if plan.exists() else {}
    if recorded.exists():
        settings["task"] = OmegaConf.to_container(OmegaConf.load(recorded).get("task") or {})
    return dotted(settings) or None


def check_same_settings(shards: list[str]) -> None:
    """One model, split, sampling, scorers and task across the shards that recorded theirs."""
    recorded = [(shard, made) for shard in shards if (made := made_with(Path(shard))) is not None]
    if not recorded:
        return
    first, settings = recorded[0]
    for shard, made in recorded[1:]:
        changed = sorted(key for key in settings.keys() | made.keys() if settings.get(key) != made.get(key))
        if changed:
            raise UserError(f"merge: {first} and {shard} were made with different {changed[0]} ({settings.get(changed[0])!r} "
                            f"and {made.get(changed[0])!r}); merge shards of one generate command")


def check_same_columns(rows: list[dict]) -> None:
    """Rows of one layout: a column some rows lack would be dropped from dataset/ and kept in dataset.jsonl."""
    layouts = {tuple(sorted(row)) for row in rows}
    if len(layouts) > 1:
        differ = sorted(set.union(*map(set, layouts)) - set.intersection(*map(set, layouts)))
        raise UserError(f"merge: the shards' rows have different columns ({', '.join(differ)} only in some); merge "
                        "shards of one generate command")


def scorer_names(shards: list[str], rows: list[dict]) -> list[str]:
    """The score_<name> columns: the rows', or with no rows the scorers the first shard recorded."""
    if rows:
        return [key.removeprefix("score_") for key in rows[0] if key.startswith("score_")]
    plan = Path(shards[0]) / "chunks" / PLAN
    return list(read_json(plan).get("scorers", {})) if plan.exists() else []
