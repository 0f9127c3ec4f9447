"""algorithm=rest: one Grow, then Improve steps at rising thresholds, each continuing from the previous policy."""

import json
from pathlib import Path

import pytest
from conftest import config
from omegaconf import OmegaConf

from rest.errors import UserError
from rest.loop import reward_scorer
from rest.run import execute


def rest_run(run_dir: Path, tiny_model: str, *overrides: str) -> list[dict]:
    cfg = config("algorithm=rest", "algorithm.thresholds=[0.0,0.5,0.9]", f"model.path={tiny_model}",
                 "task.sizes.pool=4", "task.sizes.test=3", "sampler.engine._target_=fakes.ScriptedSampler",
                 "sampler.grow.n=6", "mode.eval.k=2", "trainer._target_=fakes.RecordingTrainer", *overrides)
    OmegaConf.set_struct(cfg, False)
    cfg.scorers = {"length": {"_target_": "fakes.LengthScorer"}}  # unbounded: thresholds see its percentile rank
    assert execute(cfg, run_dir) == 0
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_kept_sets_shrink_as_the_threshold_rises_and_each_step_continues(tmp_path, tiny_model):
    from fakes import ScriptedSampler

    ScriptedSampler.calls.clear()
    metrics = rest_run(tmp_path, tiny_model)
    assert [m["iteration"] for m in metrics] == [0, 1, 2, 3]
    assert [m["threshold"] for m in metrics[1:]] == [0.0, 0.5, 0.9]
    kept = [m["kept"] for m in metrics[1:]]
    assert kept[0] > kept[1] > kept[2] > 0
    assert [m["grown"] for m in metrics[1:]] == [4 * 6, 0, 0]  # one Grow, then the same samples filtered again
    assert ScriptedSampler.calls.count(6) == 1
    trained_from = [(tmp_path / f"iter_{i}" / "checkpoint" / "trained_from.txt").read_text() for i in (1, 2, 3)]
    assert trained_from[1:] == [str(tmp_path / "iter_1" / "checkpoint"), str(tmp_path / "iter_2" / "checkpoint")]
    assert metrics[3]["policy"] == str(tmp_path / "iter_3" / "checkpoint")


def test_floor_threshold_and_seed_mix(tmp_path, tiny_model):
    metrics = rest_run(tmp_path, tiny_model, "filter.threshold=0.5", "algorithm.seed_mix=0.5")
    assert [m["threshold"] for m in metrics[1:]] == [0.5, 0.5, 0.9]  # max(tau_i, filter.threshold)
    for m in metrics[1:]:
        assert m["trained_on"] == 2 * m["kept"]  # lambda = 0.5: as many seed examples as kept samples
    assert all(m["policy"] == str(tmp_path / f"iter_{m['iteration']}" / "checkpoint") for m in metrics[1:])


def test_a_policy_that_got_worse_is_reported(caplog):
    from rest.loop import warn_if_worse

    with caplog.at_level("WARNING", logger="rest.loop"):
        warn_if_worse([{"iteration": 0, "pass@1": 0.3}, {"iteration": 1, "pass@1": 0.4}])
        assert not caplog.records
        warn_if_worse([{"iteration": 0, "pass@1": 0.3}, {"iteration": 1, "pass@1": 0.1}])
    assert "fell from 0.300 to 0.100" in caplog.text


@pytest.mark.parametrize(("name", "message"), [
    (None, ("mode.reward: this run has 2 scorers (endogenous, exact_answer); name the one whose score is each sample's "
            "reward, what ReST's thresholds see (mode.reward=endogenous)")),
    ("prm", "mode.reward=prm is not a scorer of this run; name one of endogenous, exact_answer")])
def test_a_reward_of_several_scorers_left_unnamed_or_misnamed_is_one_line_naming_them(name, message):
    with pytest.raises(UserError) as error:
        reward_scorer(name, {"exact_answer": object(), "endogenous": object()})
    assert str(error.value) == message
