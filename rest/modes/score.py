"""`python run.py mode=score mode.input=IN.jsonl mode.output=OUT.jsonl [scorer=NAME]`: score existing rows.

Each row needs `prompt` and a non-empty `completion`; all other fields are kept, rows stay in order, and each
scorer in `scorers` adds `score_<name>` (with `token_rewards` / `step_rewards` when a scorer keeps them, and the
verifier's `extracted`, `correct`, `status` when it judged the row). The verifier needs a `reference`: a row
without one gets `score_exact_answer: null` (cannot judge). For a code task (verifier=code_tests) a row gives its
`tests` instead, as `python -m rest.verify_code` takes them (a list of asserts with optional `entry_point` and
`setup`, or {"inputs": [...], "outputs": [...]}). A bad row is reported on stderr with its line
number and written back with its `error` and null scores; the exit status is then 1.

Rows are scored `mode.chunk_size` at a time; each scored chunk is kept in `OUT.jsonl.parts/` until OUT.jsonl is
written, so a rerun of a killed or interrupted command scores only the rest. The chunks are reused only for the
same input file (its SHA-256), chunk size, scorers, verifier, model and task (`parts/plan.json`); otherwise they are
scored again.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from rest.artifacts import cannot_create, sha256_of, write_text
from rest.code.tests import BadTests, CodeTests
from rest.errors import UserError, is_whole
from rest.records import Sample
from rest.rows import Row, read_rows, report_bad_rows
from rest.run import Run
from rest.stages.grow import keep_parts_of
from rest.stages.improve import score_all

log = logging.getLogger(__name__)


@dataclass
class Score:
    """Settings: rest/conf/mode/score.yaml."""

    input: str | None
    output: str | None
    chunk_size: int

    def run(self, run: Run) -> int:
        self.check_paths()
        if not is_whole(self.chunk_size, 1):
            raise UserError(f"mode.chunk_size must be a whole number >= 1, got {self.chunk_size!r}")
        rows = read_rows(self.input, {"prompt": (str,), "completion": (str,)}, non_empty=("completion",))
        for row in rows:
            _read_tests(row)
        bad = report_bad_rows(rows)
        parts = Path(f"{self.output}.parts")
        keep_parts_of(parts, self.plan(run.cfg))
        self.score_in_chunks(run, [row for row in rows if not row.problem], parts)
        for row in rows:
            if row.problem:
                row.data.update({f"score_{name}": None for name in run.scorers}, error=row.problem)
        write_text(Path(self.output), "".join(json.dumps(row.data, ensure_ascii=False) + "\n" for row in rows))
        shutil.rmtree(parts)  # the output holds every chunk now
        log.info("mode=score: %d rows (%d bad) written to %s", len(rows), bad, self.output)
        return 1 if bad else 0

    def check_paths(self) -> None:
        """Both files are named, and the output can be written beside its chunks without replacing the input."""
        if not (self.input and self.output):
            raise UserError("mode=score needs mode.input=IN.jsonl and mode.output=OUT.jsonl")
        output = Path(self.output)
        if output.expanduser().absolute() == Path(self.input).expanduser().absolute():
            raise UserError(f"mode.output is mode.input ({self.input}): name another file; the input stays as it is")
        problem = "it is a directory" if output.is_dir() else cannot_create(Path(f"{self.output}.parts"))
        if problem:
            raise UserError(f"mode.output={self.output}: {problem}")

    def score_in_chunks(self, run: Run, good: list[Row], parts: Path) -> None:
        """Each chunk's scored rows are written to `parts` at once; a chunk found there is read, not scored."""
        for k, start in enumerate(range(0, len(good), self.chunk_size)):
            chunk, path = good[start : start + self.chunk_size], parts / f"{k:05d}.jsonl"
            if path.exists():
                for row, line in zip(chunk, path.read_text(encoding="utf-8").splitlines()):
                    row.data = json.loads(line)
                continue
            _score_chunk(run, chunk)
            write_text(path, "".join(json.dumps(row.data, ensure_ascii=False) + "\n" for row in chunk))
            log.info("mode=score: scored %d / %d rows with %s", start + len(chunk), len(good), ", ".join(run.scorers))

    def plan(self, cfg: DictConfig) -> dict:
        """What the kept chunks were scored from and with."""
        settings = {key: OmegaConf.to_container(cfg[key], resolve=True) for key in ("scorers", "verifier", "model", "task")}
        return {"input_sha256": sha256_of(self.input), "chunk_size": self.chunk_size, **settings}


def _score_chunk(run: Run, rows: list[Row]) -> None:
    samples = [_sample(row) for row in rows]
    for name, scorer in run.scorers.items():
        score_all(samples, name, scorer, run.context())  # model-based scorers with no `model` judge with the base model
    for row, sample in zip(rows, samples):
        row.data.update({f"score_{name}": value for name, value in sample.scores.items()})
        if sample.token_rewards is not None:
            row.data["token_rewards"] = sample.token_rewards
        if sample.step_rewards is not None:
            row.data["step_rewards"] = sample.step_rewards
        if sample.verdict is not None:
            row.data.update(extracted=sample.extracted, correct=sample.correct, status=sample.verdict)


def _read_tests(row: Row) -> None:
    """Tests that cannot run make a bad row."""
    if row.problem or "tests" not in row.data:
        return
    try:
        _reference(row.data)
    except BadTests as err:
        row.problem = f"`tests`: {err}"


def _reference(data: dict) -> str | None:
    """A code row's tests as JSON (the unit-test verifier's reference), else its `reference`."""
    if "tests" in data:
        return CodeTests.parse(data["tests"], data.get("entry_point"), data.get("setup")).to_json()
    return data.get("reference")


def _sample(row: Row) -> Sample:
    data = row.data
    reference = _reference(data)
    return Sample(problem_id=str(row.number), sample_index=0, iteration=0, prompt=data["prompt"],
                  completion=data["completion"], reference="" if reference is None else str(reference),
                  finish_reason=str(data.get("finish_reason", "")), num_tokens=0)
