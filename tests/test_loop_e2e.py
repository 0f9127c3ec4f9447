"""One full smoke iteration of `python run.py` end to end, then resume (the same job in this process): finished
stages are not redone."""

import json
import subprocess
import sys
from pathlib import Path

import datasets
import pytest
from conftest import run_in_process
from transformers import AutoModelForCausalLM

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_COLUMNS = {"problem_id", "sample_index", "iteration", "prompt", "completion", "reference", "extracted",
                  "correct", "verdict", "finish_reason", "num_tokens", "cumulative_logprob", "kept", "score_exact_answer"}


def smoke(run_dir: Path, *overrides: str) -> str:
    result = subprocess.run([sys.executable, str(ROOT / "run.py"), "experiment=smoke", *overrides,
                             f"hydra.run.dir={run_dir}"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def metrics(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def results(run_dir: Path) -> list[dict]:
    """metrics.jsonl without engine starts, which count this process's (a rerun that skips every stage has none)."""
    return [{k: v for k, v in row.items() if k != "engine_starts"} for row in metrics(run_dir)]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("smoke")
    return run_dir, smoke(run_dir)


def test_smoke_iteration_writes_metrics_samples_and_checkpoint(smoke_run):
    run_dir, _ = smoke_run
    rows = metrics(run_dir)
    assert [r["iteration"] for r in rows] == [0, 1]
    for r in rows:
        assert 0 <= r["pass@1"] <= 1 and 0 <= r["maj@k"] <= r["pass@k"] <= 1 and r["seconds_eval"] > 0
    assert rows[1]["grown"] == 32 * 4 and 0 < rows[1]["kept"] <= rows[1]["correct"]
    samples = datasets.load_from_disk(str(run_dir / "iter_1" / "samples"))
    assert SAMPLE_COLUMNS <= set(samples.column_names) and len(samples) == 32 * 4
    grown = datasets.load_from_disk(str(run_dir / "iter_1" / "grown"))  # written before any scorer ran
    assert grown["completion"] == samples["completion"] and grown["correct"] == samples["correct"]
    assert all(row["correct"] for row in samples if row["kept"])
    assert rows[1]["trained_on"] == rows[1]["kept"] and rows[1]["policy"].endswith("iter_1/checkpoint")
    AutoModelForCausalLM.from_pretrained(rows[1]["policy"])  # HF format, loadable by transformers (and vLLM above)


def test_rerun_skips_finished_stages_and_redoes_only_missing_ones(smoke_run):
    run_dir, _ = smoke_run
    before = results(run_dir)
    checkpoint = run_dir / "iter_1" / "checkpoint" / "model.safetensors"
    mtime = checkpoint.stat().st_mtime_ns

    log = run_in_process(run_dir, "experiment=smoke")  # everything finished before: every stage is skipped and no engine starts
    assert log.count("skipping") == 5 and "starting vLLM engine" not in log
    assert results(run_dir) == before and checkpoint.stat().st_mtime_ns == mtime
    assert metrics(run_dir)[-1]["engine_starts"] == 0

    (run_dir / "iter_1" / "eval.json").unlink()
    log = run_in_process(run_dir, "experiment=smoke")  # only the last Evaluate is missing: Grow and Train are skipped, Evaluate runs
    assert "skipping Grow" in log and "skipping Improve" in log and "Train finished before" in log
    assert log.count("starting vLLM engine") == 1 and "Train:" not in log and "Grow:" not in log
    assert metrics(run_dir)[1]["pass@1"] == before[1]["pass@1"]  # greedy eval of the same checkpoint
    assert metrics(run_dir)[1]["engine_starts"] == 1
    assert checkpoint.stat().st_mtime_ns == mtime


def test_a_run_directory_moved_elsewhere_goes_on_from_its_new_place(tmp_path):
    """Finished stages name the policy and a learning scorer's checkpoint where they were written; a rerun in the
    moved directory reads them where they are now (the old place is gone)."""
    learning = ["scorer=[exact_answer,implicit_prm]", "mode.reward=exact_answer", "scorers.implicit_prm.update=true",
                "scorers.implicit_prm.update_settings.steps=2"]
    first, moved = tmp_path / "scratch" / "run", tmp_path / "project" / "run"
    run_in_process(first, "experiment=smoke", *learning)
    moved.parent.mkdir()
    first.rename(moved)
    log = run_in_process(moved, "experiment=smoke", *learning, "algorithm.iterations=2")
    assert "iteration 1: Train finished before" in log and f"with {moved}/iter_1/checkpoint" in log
    assert metrics(moved)[1]["policy"] == f"{moved}/iter_1/checkpoint", metrics(moved)[1]["policy"]
