"""`python -m rest.report DIR` on a fabricated multirun directory and on a single run."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from rest.errors import UserError
from rest.report import collect_runs, summarize, write_report
from rest.run_settings import keep_or_refuse

ROOT = Path(__file__).resolve().parents[1]
PASS = {("0.3", "0"): [0.2, 0.30, 0.40], ("0.3", "1"): [0.2, 0.34, 0.44],
        ("0.7", "0"): [0.2, 0.25, 0.30], ("0.7", "1"): [0.2, 0.27, 0.36]}


def fabricate(root: Path) -> Path:
    for job, ((threshold, seed), curve) in enumerate(PASS.items()):
        run = root / str(job)
        (run / ".hydra").mkdir(parents=True)
        overrides = ["experiment=smoke", "algorithm=rest", f"filter.threshold={threshold}", f"seed={seed}",
                     f"hydra.run.dir=x{job}"]
        (run / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
        (run / "metrics.jsonl").write_text("".join(json.dumps({"iteration": i, "pass@1": p}) + "\n" for i, p in enumerate(curve)))
    return root


def test_settings_are_the_swept_keys_and_seeds_are_averaged(tmp_path):
    swept, rows = summarize(collect_runs(fabricate(tmp_path)))
    assert swept == ["filter.threshold"]
    by_setting = {row["setting"]["filter.threshold"]: row for row in rows}
    assert by_setting["0.3"]["runs"] == 2 and by_setting["0.3"]["seeds"] == ["0", "1"]
    mean, std, n = by_setting["0.3"]["pass@1"][2]
    assert (mean, n) == (pytest.approx(0.42), 2) and std == pytest.approx(0.02828, abs=1e-4)
    assert by_setting["0.7"]["pass@1"][1][0] == pytest.approx(0.26)


def test_report_writes_markdown_csv_and_a_plot(tmp_path):
    paths = write_report(fabricate(tmp_path))
    md = paths[0].read_text()
    assert "| filter.threshold | runs | pass@1 it0 | pass@1 it1 | pass@1 it2 |" in md
    assert "| 0.3 | 2 | 0.200 ± 0.000 | 0.320 ± 0.028 | 0.420 ± 0.028 |" in md
    rows = list(csv.reader(paths[1].open()))
    assert rows[0][:3] == ["filter.threshold", "runs", "mean_it0"] and len(rows) == 3
    assert paths[2].stat().st_size > 5000 and paths[2].read_bytes()[:4] == b"\x89PNG"


def test_a_job_that_failed_before_any_metrics_is_named_in_the_report(tmp_path):
    (fabricate(tmp_path) / "4" / ".hydra").mkdir(parents=True)
    md = write_report(tmp_path)[0].read_text()
    assert md.endswith(f"1 run(s) without metrics.jsonl (failed before their first Evaluate, or still starting) are "
                       f"left out: {tmp_path}/4\n")
    assert "without metrics.jsonl" not in write_report(fabricate(tmp_path / "whole"))[0].read_text()


def test_a_single_run_directory_and_the_command_line(tmp_path):
    run = fabricate(tmp_path) / "0"
    result = subprocess.run([sys.executable, "-m", "rest.report", str(run)], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "| runs | pass@1 it0 |" in (run / "report.md").read_text() and (run / "report.png").exists()


def test_a_directory_without_runs_is_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "rest.report", str(tmp_path)], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2 and result.stderr.strip().startswith("error: no metrics.jsonl")


def test_the_overrides_of_the_runs_last_accepted_start_label_it_not_those_of_a_refused_rerun(tmp_path):
    """Hydra rewrites .hydra/overrides.yaml at every start, before the run can refuse it (other settings, or the
    directory in use); the run keeps the overrides of its last start that was not refused."""
    root = fabricate(tmp_path)
    for job in ("0", "1"):
        run = root / job
        keep_or_refuse(run, {"filter": {"threshold": job}})  # accepted: no iteration directory yet
        (run / "iter_0").mkdir()
        with pytest.raises(UserError):
            keep_or_refuse(run, {"filter": {"threshold": "0.9"}})  # refused, after Hydra wrote its overrides
        (run / ".hydra" / "overrides.yaml").write_text("- filter.threshold=0.9\n- seed=5\n")
    swept, rows = summarize(collect_runs(root))
    assert swept == ["filter.threshold"]
    assert {row["setting"]["filter.threshold"]: row["runs"] for row in rows} == {"0.3": 2, "0.7": 2}
