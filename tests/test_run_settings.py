"""A run directory keeps the settings it was started with: a rerun with other settings is refused in one line
before any work (it would keep the old stages' results under the new settings); settings that say how the run
computes or how far it goes may change."""

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT, config
from omegaconf import OmegaConf

from rest.config import build
from rest.errors import UserError
from rest.run import Run
from rest.run_settings import FILE, keep_or_refuse


def settings(*overrides: str) -> dict:
    return OmegaConf.to_container(config(*overrides))


def started(run_dir, *overrides: str):
    """`run_dir` as a run started with `overrides` leaves it after its first iteration directory."""
    keep_or_refuse(run_dir, settings(*overrides))
    (run_dir / "iter_0").mkdir()


def test_a_rerun_with_another_setting_is_refused_in_one_line_naming_it(tmp_path):
    started(tmp_path, "filter.cap=10", "seed=0")
    with pytest.raises(UserError) as err:
        keep_or_refuse(tmp_path, settings("filter.cap=5", "seed=1"))
    message = str(err.value)
    assert "\n" not in message and "filter.cap=10 (now 5), seed=0 (now 1);" in message
    assert message.endswith(f"(to reuse them under the new settings on purpose, delete {FILE})")
    assert json.loads((tmp_path / FILE).read_text())["filter"]["cap"] == 10  # the record stays the first start's


def test_a_changed_item_of_a_list_is_named_by_its_position(tmp_path):
    started(tmp_path)
    with pytest.raises(UserError, match=r"filter\.chain\.filters\.2\.cap='\$\{filter\.cap\}' \(now 3\)"):
        keep_or_refuse(tmp_path, settings("filter.chain.filters.2.cap=3"))


@pytest.mark.parametrize("override", ["algorithm.iterations=8", "logger=tensorboard", "trainer.processes=2",
                                      "sampler.engine.gpu_memory_utilization=0.5", "verifier.workers=0",
                                      "mode.validation.early_stop.min_delta=0.1", "trainer.nodes=2",
                                      "trainer.ray_address=auto"])
def test_how_far_the_run_goes_and_how_it_computes_may_change(tmp_path, override):
    started(tmp_path)
    keep_or_refuse(tmp_path, settings(override))
    assert OmegaConf.select(OmegaConf.create(json.loads((tmp_path / FILE).read_text())), override.split("=")[0]) \
        is not None


def test_a_ray_cluster_s_new_address_may_change_but_not_its_engine_count(tmp_path):
    started(tmp_path, "sampler=ray", "sampler.address=10.0.0.1:6379")
    keep_or_refuse(tmp_path, settings("sampler=ray", "sampler.address=10.0.0.2:6379"))
    with pytest.raises(UserError, match=r"sampler\.replicas=2 \(now 3\)"):
        keep_or_refuse(tmp_path, settings("sampler=ray", "sampler.address=10.0.0.2:6379", "sampler.replicas=3"))


def test_a_first_start_that_did_no_work_binds_nothing(tmp_path):
    keep_or_refuse(tmp_path, settings("model.path=/no/such/model"))  # failed later, before iteration 0
    keep_or_refuse(tmp_path, settings())
    assert json.loads((tmp_path / FILE).read_text())["model"]["path"] is None


def test_the_loop_refuses_other_settings_before_any_model_or_engine(tmp_path):
    started(tmp_path, "filter.cap=5")
    cfg = config()
    loop = build(cfg.mode, _recursive_=False, _convert_="all")
    with Run(cfg, tmp_path) as run, pytest.raises(UserError, match=r"filter\.cap=5 \(now 10\)"):
        loop.run(run)
    assert "sampler" not in vars(run) and "base_model" not in vars(run)


def test_deleting_the_record_reuses_the_finished_stages_under_new_settings(tmp_path):
    started(tmp_path, "trainer.learning_rate=1e-3")
    (tmp_path / FILE).unlink()
    keep_or_refuse(tmp_path, settings("trainer.learning_rate=2e-5"))
    assert json.loads((tmp_path / FILE).read_text())["trainer"]["learning_rate"] == 2e-5


def score_in(run_dir) -> subprocess.CompletedProcess:
    """A run in `run_dir` that stops at once after opening it (its input file does not exist)."""
    return subprocess.run([sys.executable, str(ROOT / "run.py"), "mode=score", "mode.input=missing.jsonl",
                           "mode.output=out.jsonl", f"hydra.run.dir={run_dir}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_a_second_run_in_a_directory_in_use_stops_in_one_line_and_leaves_the_first_ones_files(tmp_path):
    """Started twice in one directory, the second run would have deleted the first's half-written files as an
    interrupted run's leftovers; it stops instead, naming the holder; once the first ends the directory is free."""
    half_written = tmp_path / "iter_1" / "samples.tmp"
    with Run(config(), tmp_path):
        half_written.parent.mkdir()
        half_written.write_text("the first run is writing this")
        second = score_in(tmp_path)
        lines = [line for line in (second.stdout + second.stderr).splitlines() if line.strip()]
        assert second.returncode == 2 and len(lines) == 1, lines
        assert f"{tmp_path} is in use by another run (pid {os.getpid()} on " in lines[0], lines
        assert half_written.exists()
    after = score_in(tmp_path)
    said = after.stdout + after.stderr
    assert after.returncode == 2 and "in use" not in said and "cannot read missing.jsonl" in said, said
    assert not half_written.exists()  # now a leftover of a run that ended: removed, as a rerun does


@pytest.mark.parametrize("first, rerun, named", [
    ((), ("trainer.peft={r: 8, lora_alpha: 16, target_modules: all-linear}",), r"trainer\.peft=None \(now \{'r': 8"),
    (("trainer.peft={r: 8, lora_alpha: 16, target_modules: all-linear}",), (), r"trainer\.peft=\{'lora_alpha': 16.*\(now None\)"),
    (("scorer=exact_answer",), ("scorer=endogenous",), r"scorers=\['exact_answer'\] \(now \['endogenous'\]\)"),
])
def test_turning_lora_on_or_off_or_choosing_another_scorer_is_refused(tmp_path, first, rerun, named):
    """A setting that is a value on one side and a group on the other, or a group of named parts whose names
    differ, changed: the old iterations were trained or scored otherwise."""
    started(tmp_path, *first)
    record = (tmp_path / FILE).read_text()
    with pytest.raises(UserError, match=named) as err:
        keep_or_refuse(tmp_path, settings(*rerun))
    assert "\n" not in str(err.value)
    assert (tmp_path / FILE).read_text() == record


def test_min_delta_may_not_change_while_checkpoints_are_removed_but_patience_may(tmp_path):
    """Another min_delta could choose as best an iteration whose checkpoint keep_checkpoints already removed."""
    started(tmp_path, "mode.keep_checkpoints=1")
    keep_or_refuse(tmp_path, settings("mode.keep_checkpoints=1", "mode.validation.early_stop.patience=2"))
    with pytest.raises(UserError, match=r"min_delta=0\.0 \(now 0\.05\), which may not change while "
                                        r"mode\.keep_checkpoints is set \(before 1, now 1\)") as err:
        keep_or_refuse(tmp_path, settings("mode.keep_checkpoints=1", "mode.validation.early_stop.min_delta=0.05"))
    assert "\n" not in str(err.value)
    with pytest.raises(UserError, match="mode.keep_checkpoints is set"):  # turning it off does not bring them back
        keep_or_refuse(tmp_path, settings("mode.validation.early_stop.min_delta=0.05"))
