"""The experiment loggers (rest/conf/logger/): what each writes where, offline, and a missing package as one line."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from conftest import PLAIN_SFT, config, make_task
from omegaconf import OmegaConf

from rest.config import build
from rest.errors import UserError
from rest.loggers import make_logger
from rest.stages.train import seed_examples
from rest.trainer import SFT

ROWS = [{"prompt": "1+1=", "completion": "2", "correct": True, "kept": True, "reward": 1.0, "score_x": 0.3},
        {"prompt": "2+3=", "completion": "6|7\nno", "correct": False, "kept": False, "reward": None}]
METRICS = {"iteration": 1, "pass@1": 0.25, "kept": 12, "early_stop": False, "note": None, "name": "rest_em"}


def logger_for(name: str, run_dir, *overrides: str):
    """The logger `logger=NAME` builds, as the run builds it."""
    cfg = config(f"logger={name}", *overrides)
    return make_logger(cfg.logger, run_dir, OmegaConf.to_container(cfg, resolve=True))


def scalars(directory) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(directory))
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def test_the_default_logger_logs_nothing_and_adds_no_trainer_args(tmp_path):
    logger = logger_for("none", tmp_path)
    logger.log_metrics(0, METRICS)
    logger.log_samples(0, ROWS)
    assert config().logger._target_ == "rest.loggers.NoLogger"
    assert logger.trainer_args(0) == {}
    logger.close()
    assert list(tmp_path.iterdir()) == []


def test_tensorboard_holds_the_iteration_metrics_at_their_iteration(tmp_path):
    logger = logger_for("tensorboard", tmp_path)
    logger.log_metrics(0, {"iteration": 0, "pass@1": 0.125, "kept": 3})
    logger.log_metrics(1, METRICS)
    logger.log_samples(1, ROWS)
    logger.close()
    found = scalars(tmp_path / "tensorboard")
    assert found["iteration/pass@1"] == [(0, 0.125), (1, 0.25)]
    assert found["iteration/kept"] == [(0, 3.0), (1, 12.0)]
    assert set(found) == {"iteration/pass@1", "iteration/kept"}  # no bool, None, string, nor iteration itself


@pytest.mark.parametrize("processes", [1, 2])
def test_tensorboard_receives_the_trainers_loss_curve(tmp_path, tiny_model, processes, machine_cores):
    """From Train in the run's process, and from rank 0 of a process group."""
    logger = logger_for("tensorboard", tmp_path / "run")
    report = logger.trainer_args(2)
    assert report["logging_dir"] == str(tmp_path / "run" / "tensorboard" / "train" / "iter_2")
    sft = SFT(**{**PLAIN_SFT, "processes": processes}, logging_steps=1,
              max_steps=3, per_device_train_batch_size=2, learning_rate=1e-3, use_cpu=True)
    examples = [{"prompt": f"{a}+{a}=", "completion": f"{2 * a}"} for a in range(6)]
    try:
        sft.train(examples, tiny_model, tmp_path / "policy", report=report)
    finally:
        logger.close()
    losses = scalars(tmp_path / "run" / "tensorboard" / "train" / "iter_2")["train/loss"]
    assert [step for step, _ in losses] == [1, 2, 3] and all(loss > 0 for _, loss in losses)
    assert not list((tmp_path / "policy").rglob("events.out.tfevents.*"))  # not inside the checkpoint


def test_trainer_reports_nowhere_without_a_logger(tmp_path, tiny_model):
    sft = SFT(**PLAIN_SFT, use_cpu=True)
    trainer = sft.build([{"prompt": "1+1=", "completion": "2"}], tiny_model, tmp_path)
    assert trainer.args.report_to == []


def test_wandb_offline_writes_its_run_under_the_run_dir(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    for name, value in {"WANDB_SILENT": "true", "WANDB_MODE": "offline", "WANDB_API_KEY": "",
                        "WANDB_DISABLE_GIT": "true", "WANDB_CONSOLE": "off"}.items():
        monkeypatch.setenv(name, value)
    logger = logger_for("wandb", tmp_path, "logger.mode=offline")
    run_id = (tmp_path / "wandb" / "run_id").read_text()
    assert logger.trainer_args(0) == {"report_to": ["wandb"], "run_name": f"{run_id}-train-iter_0"}
    logger.log_metrics(0, METRICS)
    logger.log_samples(0, ROWS)
    logger.close()
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and runs[0].name.endswith(run_id)
    assert list(runs[0].glob("run-*.wandb")) and (runs[0] / "files").is_dir()


def test_a_wandb_project_or_name_that_hydra_reads_as_a_number_is_taken_as_text(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    for name, value in {"WANDB_SILENT": "true", "WANDB_DISABLE_GIT": "true", "WANDB_CONSOLE": "off"}.items():
        monkeypatch.setenv(name, value)
    logger = logger_for("wandb", tmp_path, "logger.mode=offline", "logger.project=2024", "logger.name=7")
    assert (logger.run.project, logger.run.name) == ("2024", "7")
    logger.close()


@pytest.mark.parametrize("name", ["tensorboard", "wandb"])
def test_a_missing_logger_package_is_one_line_naming_the_install(name, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, name, None)  # `import name` now raises ImportError
    with pytest.raises(UserError) as err:
        logger_for(name, tmp_path)
    message = str(err.value)
    assert "\n" not in message and f"logger={name} needs the {name} package: pip install {name}" in message
    assert list(tmp_path.iterdir()) == []  # before any work


def test_the_run_config_reaches_the_logger_unbuilt(tmp_path):
    """A `_target_` inside the run's config is logged as text, not instantiated (Hydra would build it)."""
    pytest.importorskip("tensorboard")
    cfg = config("logger=tensorboard")
    logger = make_logger(cfg.logger, tmp_path, {"mode": {"_target_": "no.such.Class"}, "note": "${not.resolved}"})
    logger.close()
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))


def test_an_unknown_wandb_mode_is_one_line(tmp_path):
    pytest.importorskip("wandb")
    with pytest.raises(UserError, match="logger.mode must be one of"):
        logger_for("wandb", tmp_path, "logger.mode=cloud")


@pytest.mark.parametrize("name", ["tensorboard", "wandb"])
@pytest.mark.parametrize("samples", ["-1", "2.5", "true"])
def test_a_sample_table_size_that_is_not_a_whole_number_is_one_line(tmp_path, name, samples):
    pytest.importorskip(name)
    with pytest.raises(UserError, match=r"^logger.samples must be a whole number >= 0"):
        logger_for(name, tmp_path, f"logger.samples={samples}", *["logger.mode=offline"] * (name == "wandb"))


def test_wandb_keeps_one_run_through_train(tmp_path, tiny_model, monkeypatch):
    """HF's WandbCallback reuses the logger's run (no second run) and leaves it open for the next iteration."""
    wandb = pytest.importorskip("wandb")
    for name, value in {"WANDB_SILENT": "true", "WANDB_DISABLE_GIT": "true", "WANDB_CONSOLE": "off"}.items():
        monkeypatch.setenv(name, value)
    logger = logger_for("wandb", tmp_path / "run", "logger.mode=offline")
    sft = SFT(**PLAIN_SFT, logging_steps=1,
              max_steps=2, per_device_train_batch_size=2, use_cpu=True)
    sft.train([{"prompt": f"{a}+1=", "completion": f"{a + 1}"} for a in range(4)], tiny_model, tmp_path / "policy",
              report=logger.trainer_args(0))
    assert wandb.run is logger.run and "train/loss" in dict(logger.run.summary)
    logger.log_metrics(0, METRICS)  # still open
    logger.close()
    assert len(list((tmp_path / "run" / "wandb").glob("offline-run-*"))) == 1


def test_a_train_in_other_processes_logs_to_its_own_wandb_run_in_the_runs_group(tmp_path, tiny_model, monkeypatch,
                                                                                    machine_cores):
    """Rank 0's W&B run (HF's callback starts it) lands beside the logger's: same directory, mode and project,
    in its group, named for the iteration; the W&B settings the logger exported are gone after close."""
    wandb = pytest.importorskip("wandb")
    for name, value in {"WANDB_SILENT": "true", "WANDB_DISABLE_GIT": "true", "WANDB_CONSOLE": "off"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("WANDB_PROJECT", raising=False)
    logger = logger_for("wandb", tmp_path / "run", "logger.mode=offline")
    sft = build(config().trainer, processes=2, max_steps=2, logging_steps=1, per_device_train_batch_size=2)
    try:
        sft.train(seed_examples(make_task())[:8], tiny_model, tmp_path / "policy", report=logger.trainer_args(3))
    finally:
        logger.close()  # takes back the W&B settings it exported, which later tests' runs would inherit
    wandb.teardown()  # the W&B service, which the ranks' run used too, writes out every record
    run_id = logger.run.id
    runs = {path.name.rsplit("-", 1)[1]: records(path) for path in (tmp_path / "run" / "wandb").glob("offline-run-*")}
    assert len(runs) == 2 and run_id in runs
    train = next(data for key, data in runs.items() if key != run_id)
    assert f"{run_id}-train-iter_3".encode() in train and run_id.encode() in train and b"train/loss" in train
    assert b"train/loss" not in runs[run_id]
    assert "WANDB_RUN_GROUP" not in os.environ and "WANDB_PROJECT" not in os.environ


def records(run: Path) -> bytes:
    """An offline W&B run's records as raw bytes (its strings, group and name among them, are stored as is)."""
    return b"".join(path.read_bytes() for path in run.glob("run-*.wandb"))


def test_the_loop_logs_every_iteration_to_tensorboard(tmp_path, tiny_model):
    from conftest import curve_loop
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    metrics = curve_loop(tmp_path, tiny_model, lambda prompt, iteration, j: j == 0, "logger=tensorboard",
                         "algorithm.iterations=2")
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    kept = [(e.step, e.value) for e in events.Scalars("iteration/kept")]
    assert kept == [(m["iteration"], m["kept"]) for m in metrics[1:]]
    assert [e.step for e in events.Scalars("iteration/pass@1")] == [0, 1, 2]
