"""`python run.py mode=score scorer=NAME input=IN.jsonl output=OUT.jsonl`: score existing rows.

Each row needs `prompt` and a non-empty `completion` (and `reference` for scorer=exact_answer); all other
fields are kept, rows stay in order, and `score` is added (with `token_rewards` when the scorer keeps them,
and the verifier's `extracted`, `correct`, `status` when it judged the row). A bad row is reported on stderr
with its line number and written back with `score: null` and its `error`; the exit status is then 1.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig

from rest.artifacts import write_text
from rest.errors import UserError
from rest.loop import build_scorer
from rest.models import resolve_base_model
from rest.records import Sample
from rest.rows import Row, read_rows, report_bad_rows

log = logging.getLogger(__name__)
CHUNK = 4096  # rows scored per batch; progress is logged after each


def run(cfg: DictConfig, run_dir: Path) -> int:
    if not (cfg.get("input") and cfg.get("output")):
        raise UserError("mode=score needs input=IN.jsonl and output=OUT.jsonl")
    verifier = instantiate(cfg.verifier)
    base = None if "verifier" in cfg.scorer else resolve_base_model(cfg.model, instantiate(cfg.task))
    scorer = build_scorer(cfg.scorer, verifier, base)
    required = {"prompt": (str,), "completion": (str,)}
    if "verifier" in cfg.scorer:
        required["reference"] = (str, int, float)
    rows = read_rows(cfg.input, required, non_empty=("completion",))
    bad = report_bad_rows(rows)
    policy = base  # the judge of a model-based scorer that names no model
    try:
        good = [row for row in rows if not row.problem]
        for start in range(0, len(good), CHUNK):
            _score_chunk(scorer, good[start : start + CHUNK], policy)
            log.info("mode=score: scored %d / %d rows with %s", min(start + CHUNK, len(good)), len(good), scorer.name)
    finally:
        scorer.close()
        verifier.close()
    for row in rows:
        if row.problem:
            row.data.update(score=None, error=row.problem)
    write_text(Path(cfg.output), "".join(json.dumps(row.data, ensure_ascii=False) + "\n" for row in rows))
    log.info("mode=score: %d rows (%d bad) written to %s", len(rows), bad, cfg.output)
    return 1 if bad else 0


def _score_chunk(scorer, rows: list[Row], policy: str | None) -> None:
    samples = [_sample(row) for row in rows]
    for row, sample, score in zip(rows, samples, scorer.score(samples, policy)):
        row.data["score"] = score
        if sample.token_rewards is not None:
            row.data["token_rewards"] = sample.token_rewards
        if sample.step_rewards is not None:
            row.data["step_rewards"] = sample.step_rewards
        if sample.verdict is not None:
            row.data.update(extracted=sample.extracted, correct=sample.correct, status=sample.verdict)


def _sample(row: Row) -> Sample:
    data = row.data
    return Sample(problem_id=str(row.number), sample_index=0, iteration=0, prompt=data["prompt"], completion=data["completion"],
                  reference=str(data.get("reference", "")), finish_reason=str(data.get("finish_reason", "")),
                  num_tokens=0)
