"""algorithm=rest: one Grow, then Improve steps at rising thresholds, each continuing from the previous policy."""

import json
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from rest.loop import run

ROOT = Path(__file__).resolve().parents[1]


def rest_run(run_dir: Path, tiny_model: str, *overrides: str) -> list[dict]:
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base=None):
        cfg = compose("config", overrides=[
            "algorithm=rest", "algorithm.thresholds=[0.0,0.5,0.9]", f"model.path={tiny_model}",
            "task.sizes.pool=4", "task.sizes.test=3", "sampler.engine._target_=fakes.ScriptedEngine",
            "sampler.grow.n=6", "eval.k=2", "trainer._target_=fakes.RecordingTrainer", *overrides])
    OmegaConf.set_struct(cfg, False)
    cfg.scorer = {"_target_": "fakes.LengthScorer"}  # an unbounded score: thresholds see its percentile rank
    return run(cfg, run_dir)


def test_kept_sets_shrink_as_the_threshold_rises_and_each_step_continues(tmp_path, tiny_model):
    from fakes import ScriptedEngine

    ScriptedEngine.calls.clear()
    metrics = rest_run(tmp_path, tiny_model)
    assert [m["iteration"] for m in metrics] == [0, 1, 2, 3]
    assert [m["threshold"] for m in metrics[1:]] == [0.0, 0.5, 0.9]
    kept = [m["kept"] for m in metrics[1:]]
    assert kept[0] > kept[1] > kept[2] > 0
    assert [m["grown"] for m in metrics[1:]] == [4 * 6, 0, 0]  # one Grow, then the same samples filtered again
    assert ScriptedEngine.calls.count(6) == 1
    trained_from = [(tmp_path / f"iter_{i}" / "checkpoint" / "trained_from.txt").read_text() for i in (1, 2, 3)]
    assert trained_from[1:] == [str(tmp_path / "iter_1" / "checkpoint"), str(tmp_path / "iter_2" / "checkpoint")]
    assert metrics[3]["policy"] == str(tmp_path / "iter_3" / "checkpoint")


def test_floor_threshold_and_seed_mix(tmp_path, tiny_model):
    metrics = rest_run(tmp_path, tiny_model, "filter.threshold=0.5", "algorithm.seed_mix=0.5")
    assert [m["threshold"] for m in metrics[1:]] == [0.5, 0.5, 0.9]  # max(tau_i, filter.threshold)
    for m in metrics[1:]:
        assert m["trained_on"] == 2 * m["kept"]  # lambda = 0.5: as many seed examples as kept samples
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert rows == json.loads(json.dumps(metrics))
