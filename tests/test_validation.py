"""Choosing the iteration on a validation split: the best iteration, early stopping, the `best` pointer, and the
checks that keep the held-out test split out of the choice."""

import json

import pytest
from conftest import curve_loop, make_task, sampling
from fakes import ScriptedSampler

from rest.errors import UserError
from rest.evaluate import EvalSettings
from rest.stages.evaluate import evaluate_stage, validate_stage
from rest.validation import CarvedTask, EarlyStop, Validation, best_iteration, check_disjoint, mark_best, should_stop


def rows(*values):
    return [{"iteration": i, "val_pass@1": v} for i, v in enumerate(values)]


def test_the_best_iteration_is_the_last_that_beat_the_best_before_it_by_more_than_min_delta():
    assert best_iteration(rows(0.1, 0.3, 0.3, 0.2)) == 1  # a tie does not move the choice
    assert best_iteration(rows(0.1, 0.3, 0.32), min_delta=0.05) == 1
    assert best_iteration(rows(0.1, 0.3, 0.4), min_delta=0.05) == 2
    assert best_iteration([{"iteration": 0, "pass@1": 0.9}]) is None  # test metrics never choose


def test_early_stop_waits_patience_iterations_after_the_best():
    stop = EarlyStop(patience=2, min_delta=0.0)
    assert not should_stop(rows(0.1, 0.3, 0.2), stop)
    assert should_stop(rows(0.1, 0.3, 0.2, 0.3), stop)
    assert not should_stop(rows(0.1, 0.3, 0.2, 0.4), stop)
    assert not should_stop(rows(0.1, 0.3, 0.2, 0.1), EarlyStop(patience=None, min_delta=0.0))


def test_a_carved_validation_split_leaves_the_pool():
    task = make_task("task.sizes.pool=10")
    carved = CarvedTask(task, "pool", 3)
    pool, validation = carved.problems("pool"), carved.problems("validation")
    assert [p.id for p in pool + validation] == [p.id for p in task.problems("pool")]
    assert len(validation) == 3 and not {p.id for p in pool} & {p.id for p in validation}
    assert carved.problems("test") == task.problems("test")
    with pytest.raises(UserError, match="would take all 10 problems"):
        CarvedTask(task, "pool", 10).problems("validation")


def validation(split, patience=None, size=4, min_delta=0.0):
    return Validation.from_config({"split": split, "size": size,
                                   "early_stop": {"patience": patience, "min_delta": min_delta}})


@pytest.mark.parametrize(("settings", "message"), [
    (validation(None, patience=2), "early_stop needs a validation split"),
    (validation("test"), "is the held-out split 'test'"),
    (validation("pool", size=0), "mode.validation.size must be a whole number >= 1"),
    (validation("pool", size=2.5), ("mode.validation.size must be a whole number >= 1 to carve a validation split off "
                                   "pool, got 2.5")),
    (validation("pool", patience=0), "patience must be a whole number >= 1 (or null: off), got 0"),
    (validation("pool", patience="abc"), "patience must be a whole number >= 1 (or null: off), got 'abc'"),
    (validation("pool", patience=1.5), "patience must be a whole number >= 1 (or null: off), got 1.5"),
    (validation("pool", min_delta=-0.1), ("min_delta must be a number >= 0 (the gain over the best that counts as "
                                         "better), got -0.1")),
])
def test_bad_validation_settings_are_one_line(settings, message):
    error = settings.error("pool", "test")
    assert message in error and "\n" not in error


def test_good_validation_settings_pass():
    assert validation("pool", patience=2, size=4, min_delta=0.01).error("pool", "test") is None
    assert validation(None).error("pool", "test") is None


def test_a_validation_split_that_shares_questions_with_test_is_refused():
    task = make_task()
    with pytest.raises(UserError, match="shares 2 question"):
        check_disjoint(task.problems("test")[:2] + task.problems("pool")[:3], task.problems("test"))


def test_validation_that_peaks_early_stops_the_run_and_names_that_checkpoint(tmp_path, tiny_model):
    task = make_task("task.sizes.pool=8", "task.sizes.test=3")
    validation_prompts = {task.prompt(p) for p in task.problems("pool")[-4:]}
    test_prompts = {task.prompt(p) for p in task.problems("test")}

    def right(prompt, iteration, j):  # validation peaks at iteration 1; test keeps rising after it
        if prompt in validation_prompts:
            return iteration == 1
        if prompt in test_prompts:
            return iteration >= 2
        return True

    metrics = curve_loop(tmp_path, tiny_model, right, "algorithm.iterations=5", "mode.validation.split=pool",
                       "mode.validation.size=4", "mode.validation.early_stop.patience=2")
    assert [m["iteration"] for m in metrics] == [0, 1, 2, 3]  # stopped 2 iterations after the best
    assert [m["val_pass@1"] for m in metrics] == [0.0, 1.0, 0.0, 0.0]
    assert [m["pass@1"] for m in metrics] == [0.0, 0.0, 1.0, 1.0]  # test would have chosen 2
    assert [m["best"] for m in metrics] == [False, True, False, False]
    best = json.loads((tmp_path / "best.json").read_text())
    assert best["iteration"] == 1 and best["policy"] == str(tmp_path / "iter_1" / "checkpoint")
    assert (tmp_path / "best").resolve() == (tmp_path / "iter_1" / "checkpoint").resolve()
    assert metrics[1]["grown"] == 4 * 2  # the 4 validation problems are never grown on
    assert (tmp_path / "pass_at_1.png").stat().st_size > 0


@pytest.mark.parametrize("best_is_base", [False, True])
def test_the_best_link_follows_a_moved_run_directory_and_points_outside_it_absolutely(tmp_path, best_is_base):
    base, run = tmp_path / "base_model", tmp_path / "run"
    policies = [base, run / "iter_1" / "checkpoint", run / "iter_2" / "checkpoint"]
    for policy in policies:
        policy.mkdir(parents=True)
    values = (0.5, 0.1, 0.2) if best_is_base else (0.0, 0.3, 0.2)
    metrics = [{**row, "policy": str(p)} for row, p in zip(rows(*values), policies)]
    mark_best(metrics, run, min_delta=0.0)
    moved = run.rename(tmp_path / "moved")
    expected = base if best_is_base else moved / "iter_1" / "checkpoint"
    assert (moved / "best").resolve() == expected.resolve()


def test_early_stop_without_validation_is_one_line_before_work(tmp_path, tiny_model):
    with pytest.raises(UserError, match="early_stop needs a validation split"):
        curve_loop(tmp_path, tiny_model, lambda prompt, iteration, j: True, "mode.validation.early_stop.patience=1")
    assert not (tmp_path / "iter_0").exists()


def test_evaluate_and_validate_count_the_tokens_they_generate(tmp_path, verifier):
    task = make_task("task.sizes.test=3", "task.sizes.pool=8")
    sampler = ScriptedSampler(["#### 0", "x"])  # a completion has as many token ids as characters
    metrics = evaluate_stage(tmp_path / "eval.json", 0, "policy", task, sampler, EvalSettings("test", k=2), sampling(),
                             verifier)
    validation = validate_stage(tmp_path / "validation.json", 0, "policy", task, "test", sampler, sampling(), verifier)
    # per problem: the greedy "#### 0" (6), and k = 2 samples "#### 0", "x" (7); validation: greedy only
    assert (metrics["tokens_eval"], validation["tokens_validate"]) == (3 * (6 + 7), 3 * 6)


def test_a_base_model_given_by_hub_name_gets_no_best_link_and_a_stale_one_goes(tmp_path, monkeypatch, caplog):
    """`best` -> <cwd>/Qwen/... would point nowhere: best.json names the hub model instead."""
    monkeypatch.chdir(tmp_path)
    run, hub = tmp_path / "run", "Qwen/Qwen2.5-0.5B-Instruct"
    (run / "iter_1" / "checkpoint").mkdir(parents=True)
    metrics = [{**row, "policy": p} for row, p in zip(rows(0.1, 0.3), [hub, str(run / "iter_1" / "checkpoint")])]
    mark_best(metrics, run, min_delta=0.0)
    assert (run / "best").exists()  # iteration 1 is the best: linked
    metrics[0]["val_pass@1"] = 0.5  # a rerun with iteration 0 the best
    with caplog.at_level("INFO", logger="rest.validation"):
        mark_best(metrics, run, min_delta=0.0)
    assert not (run / "best").is_symlink() and json.loads((run / "best.json").read_text())["policy"] == hub
    assert "no `best` symlink" in caplog.text and hub in caplog.text
