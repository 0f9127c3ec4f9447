"""`python run.py task=code`: one smoke iteration of self-training on programs, judged by unit tests."""

import json
import subprocess
import sys

import datasets
from conftest import ROOT, run_in_process

from rest.code.judge import VERDICTS


def test_a_code_smoke_iteration_grows_judges_trains_and_evaluates_programs(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "run.py"), "task=code", "experiment=smoke",
                             f"hydra.run.dir={tmp_path}"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in rows] == [0, 1] and rows[1]["grown"] == 32 * 4
    assert 0 < rows[1]["kept"] <= rows[1]["correct"] and all(0 <= r["pass@1"] <= 1 for r in rows)
    samples = datasets.load_from_disk(str(tmp_path / "iter_1" / "samples"))
    assert set(samples["verdict"]) <= set(VERDICTS) and "pass" in samples["verdict"]
    assert all(row["correct"] == (row["verdict"] == "pass") for row in samples)
    assert all(row["score_code_tests"] == 1.0 for row in samples if row["kept"])
    problems = [json.loads(line) for line in (tmp_path / "iter_1" / "eval_problems.jsonl").read_text().splitlines()]
    assert all(p["greedy_verdict"] in VERDICTS for p in problems)


def test_mode_generate_on_the_code_task_writes_programs_with_verdicts_and_scores(tmp_path):
    run_in_process(tmp_path, "mode=generate", "task=code", "task.limits.pool=6", "sampler.grow.n=2")  # the job only
    rows = [json.loads(line) for line in (tmp_path / "dataset.jsonl").read_text().splitlines()]
    assert len(rows) == 12 and {r["verdict"] for r in rows} <= set(VERDICTS)
    assert all(r["score_code_tests"] == float(r["verdict"] == "pass") for r in rows)
