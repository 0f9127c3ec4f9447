"""mode.keep_checkpoints=K: only the last K iterations' policies and the best one stay on disk; the run and its reruns
go on as before."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, config, run_in_process

from rest.config import build
from rest.errors import UserError
from rest.progress import remove_old_checkpoints


def iteration_checkpoints(run_dir: Path) -> list[str]:
    found = [*run_dir.glob("iter_*/checkpoint"), *(p for p in run_dir.glob("iter_*/scorers/*") if p.is_dir())]
    return sorted(str(p.relative_to(run_dir)) for p in found)


@pytest.mark.parametrize("keep, stay", [
    (1, ["iter_1/checkpoint", "iter_4/checkpoint"]),  # the last, and the best
    (2, ["iter_1/checkpoint", "iter_2/checkpoint", "iter_4/checkpoint"]),  # iteration 3 trained nothing: its policy
    (5, ["iter_1/checkpoint", "iter_2/checkpoint", "iter_4/checkpoint"]),  # is iteration 2's
])
def test_only_the_last_iterations_policies_and_the_best_one_stay(tmp_path, keep, stay):
    base, run_dir = tmp_path / "base", tmp_path / "run"
    for checkpoint in (base, *(run_dir / f"iter_{i}" / "checkpoint" for i in (1, 2, 4))):
        checkpoint.mkdir(parents=True)
        (checkpoint / "model.safetensors").write_text("weights")
    policies = [base, *(run_dir / f"iter_{i}" / "checkpoint" for i in (1, 2, 2, 4))]
    metrics = [{"iteration": i, "policy": str(p), "best": i == 1} for i, p in enumerate(policies)]
    remove_old_checkpoints(run_dir, metrics, keep)
    assert iteration_checkpoints(run_dir) == stay
    assert (base / "model.safetensors").exists()  # the base model is not the run's


@pytest.mark.parametrize("keep, stay", [(1, ["iter_10/scorers/implicit_prm"]),
                                        (2, ["iter_10/scorers/implicit_prm", "iter_9/scorers/implicit_prm"])])
def test_only_a_learning_scorers_last_updates_stay(tmp_path, keep, stay):
    """Iteration 3's update learned nothing (no directory); iteration 10 sorts after 9 by number."""
    for iteration in (1, 2, 9, 10):
        (tmp_path / f"iter_{iteration}" / "scorers" / "implicit_prm").mkdir(parents=True)
        (tmp_path / f"iter_{iteration}" / "scorers" / "implicit_prm.json").write_text("{}")
    remove_old_checkpoints(tmp_path, [{"iteration": i, "policy": "base"} for i in range(11)], keep)
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.glob("iter_*/scorers/*") if p.is_dir()) == stay
    assert len(list(tmp_path.glob("iter_*/scorers/implicit_prm.json"))) == 4  # the markers stay


@pytest.mark.parametrize("value", [0, -1, 1.5, "abc"])
def test_a_count_that_is_not_a_whole_number_of_at_least_one_is_one_line(value):
    with pytest.raises(UserError, match=r"^mode.keep_checkpoints must be null \(keep every checkpoint\) or a whole "
                                        rf"number >= 1, got {value!r}$"):
        build(config(f"mode.keep_checkpoints={value}").mode)


def smoke(run_dir: Path, *overrides: str) -> str:
    """The smoke experiment's job, in this process; what it logged."""
    return run_in_process(run_dir, "experiment=smoke", *overrides)


LEARNING = ["scorer=[exact_answer,implicit_prm]", "mode.reward=exact_answer", "scorers.implicit_prm.update=true",
            "scorers.implicit_prm.update_settings.steps=2", "mode.keep_checkpoints=1"]


def test_a_run_that_keeps_one_checkpoint_goes_on_and_reruns_as_before(tmp_path):
    """The rerun scores iteration 3 with iteration 2's PRM update, the only one left."""
    run_dir = tmp_path / "run"
    log = smoke(run_dir, "algorithm.iterations=2", *LEARNING)
    assert iteration_checkpoints(run_dir) == ["iter_2/checkpoint", "iter_2/scorers/implicit_prm"] and "removed " in log
    before = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    log = smoke(run_dir, "algorithm.iterations=3", *LEARNING)  # extended: iterations 1 and 2 are skipped, 3 runs
    assert "iteration 2: Train finished before" in log and "iteration 3: Train:" in log
    assert iteration_checkpoints(run_dir) == ["iter_3/checkpoint", "iter_3/scorers/implicit_prm"]
    after = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [row["pass@1"] for row in after[:3]] == [row["pass@1"] for row in before] and len(after) == 4


def test_a_checkpoint_deleted_by_hand_is_one_line_only_when_a_stage_still_to_run_needs_it(tmp_path):
    run_dir = tmp_path / "run"
    smoke(run_dir, "algorithm.iterations=2")
    shutil.rmtree(run_dir / "iter_1" / "checkpoint")
    smoke(run_dir, "algorithm.iterations=2")  # iteration 2 is done: nothing reads it
    shutil.rmtree(run_dir / "iter_2")
    result = subprocess.run([sys.executable, "run.py", "experiment=smoke", "algorithm.iterations=2",
                             f"hydra.run.dir={run_dir}"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    said = [line for line in (result.stdout + result.stderr).splitlines() if "ERROR" in line or "Traceback" in line]
    assert result.returncode == 2 and len(said) == 1, said
    assert said[0].endswith(f"error: iteration 2 needs the policy {run_dir}/iter_1/checkpoint, which is gone (deleted, "
                            "or a copy cut short): restore it, or train iteration 1 again: delete all of iter_1/ but "
                            "grown/, samples/ and retry/, and the iterations after it"), said
