"""Train as its own process group (rest/process_group.py, rest/train_job.py): two ranks on CPU train the model one
process trains, the checkpoint is one that vLLM serves, a failed group leaves no checkpoint, and bad launch
settings are one line."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import LOSS_TOLERANCE, ROOT, rank_spec, sampling, short_sft
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM

from rest.errors import OtherProcessesFailed
from rest.machine import Machine
from rest.process_group import SHIPPED_ACCELERATE_CONFIGS, accelerate_config_file, launch_error
from rest.train_state import FINGERPRINT, state_dir

pytestmark = [pytest.mark.long, pytest.mark.usefixtures("machine_cores")]


def test_two_ranks_train_with_the_loss_of_one_process_at_the_same_global_batch(train_examples, tiny_model, tmp_path,
                                                                                sampler):
    one = short_sft(per_device_train_batch_size=16).build(train_examples, tiny_model, tmp_path / "one").train()
    two = short_sft(processes=2, per_device_train_batch_size=8).train_in_group(train_examples, tiny_model, tmp_path)
    assert two["world_size"] == 2 and two["global_batch_size"] == 16
    assert two["global_step"] == one.global_step
    assert two["training_loss"] == pytest.approx(one.training_loss, rel=LOSS_TOLERANCE)
    prompts = [example["prompt"] for example in train_examples[:4]]
    completions = sampler.generate(str(tmp_path), prompts, sampling(n=2), seeds=[0, 1, 2, 3])
    assert [len(c) for c in completions] == [2, 2, 2, 2]


def test_a_lora_adapter_trained_by_two_ranks_is_merged_into_a_plain_checkpoint(train_examples, tiny_model, tmp_path):
    peft = {"r": 4, "lora_alpha": 8, "target_modules": "all-linear"}
    out = short_sft(processes=2, per_device_train_batch_size=8, peft=peft).train(train_examples, tiny_model, tmp_path / "policy")
    assert not (tmp_path / "policy" / "adapter").exists()
    assert not (tmp_path / "policy" / "adapter_config.json").exists()
    trained, base = (AutoModelForCausalLM.from_pretrained(path) for path in (out, tiny_model))
    changed = [name for name, p in trained.named_parameters() if not p.equal(base.get_parameter(name))]
    assert changed and not any("lora" in name for name, _ in trained.named_parameters())


def test_the_ranks_resume_from_the_state_an_interrupted_train_saved(train_examples, tiny_model, tmp_path):
    """The state is made here by one process and its weights are then zeroed: ranks that resumed from it end far
    from a fresh start's weights (a fresh start ends at them exactly), and the state is gone afterwards."""
    saves = {"save_strategy": "steps", "save_steps": 2}
    fresh = short_sft(processes=2, per_device_train_batch_size=8, **saves).train(train_examples, tiny_model, tmp_path / "fresh")
    two = short_sft(processes=2, per_device_train_batch_size=8, **saves)
    state = state_dir(tmp_path / "policy")
    one = short_sft(per_device_train_batch_size=16, max_steps=3, **saves).build(train_examples, tiny_model, state)
    one.train()  # saves the state of step 2 (not of step 3, its last)
    (checkpoint,) = state.glob("checkpoint-*")
    zeroed = {name: torch.zeros_like(t) for name, t in load_file(str(checkpoint / "model.safetensors")).items()}
    save_file(zeroed, str(checkpoint / "model.safetensors"), metadata={"format": "pt"})
    (state / FINGERPRINT).write_text(json.dumps(two.fingerprint(train_examples, tiny_model, tmp_path / "policy")))
    out = two.train(train_examples, tiny_model, tmp_path / "policy")
    assert not state.exists()
    a, b = (load_file(str(Path(path) / "model.safetensors")) for path in (fresh, out))
    assert max((a[name] - b[name]).abs().max().item() for name in a) > 0.1


def test_a_failed_process_group_leaves_no_checkpoint_and_names_its_log(train_examples, tmp_path):
    with pytest.raises(OtherProcessesFailed, match=r"exit code [1-9].*policy\.train\.log: \S*Error: .*no-such-model"):
        short_sft(processes=2).train(train_examples, str(tmp_path / "no-such-model"), tmp_path / "policy")
    assert not (tmp_path / "policy").exists() and not (tmp_path / "policy.tmp").exists()
    assert "no-such-model" in (tmp_path / "policy.train.log").read_text()


def test_a_rank_that_finds_itself_alone_refuses_to_train(train_examples, tiny_model, tmp_path):
    spec = rank_spec(tmp_path, tiny_model, train_examples, processes=2)
    result = subprocess.run([sys.executable, "-m", "rest.train_job", str(spec)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "world size 1, expected 2" in result.stderr
    assert not (tmp_path / "model.safetensors").exists()


CPU_ONLY, GPU_NODE = Machine(gpus=0, cores=2), Machine(gpus=8, cores=64)
FSDP2 = str(SHIPPED_ACCELERATE_CONFIGS / "fsdp2.yaml")  # a file path; the shipped ones also go by name


@pytest.mark.parametrize(("settings", "machine", "message"), [
    ({"processes": 3}, CPU_ONLY, "trainer.processes=3 but this machine has 2 CPU core(s) and no GPU"),
    ({"processes": 9}, GPU_NODE, "trainer.processes=9 but this machine has 8 GPU(s)"),
    ({"processes": 0}, CPU_ONLY, "trainer.processes must be a whole number >= 1"),
    ({"launcher": "mpirun"}, CPU_ONLY, "trainer.launcher must be one of"),
    ({"launcher": "accelerate"}, GPU_NODE, "needs trainer.accelerate_config"),
    ({"launcher": "accelerate", "accelerate_config": "missing.yaml"}, GPU_NODE, "no such file 'missing.yaml'"),
    ({"launcher": "accelerate", "accelerate_config": FSDP2}, CPU_ONLY, "need GPUs"),
    ({"accelerate_config": FSDP2}, GPU_NODE, "set that launcher too"),
    ({"args": {"deepspeed": "ds.json"}}, GPU_NODE, "no such DeepSpeed config file 'ds.json'"),
    ({"processes": 2, "args": {"fsdp": "full_shard"}}, CPU_ONLY, "trainer.fsdp needs GPUs"),  # else DDP, silently
])
def test_bad_launch_settings_are_one_line(settings, machine, message):
    launch = {"processes": 1, "launcher": "auto", "accelerate_config": None, "args": {}} | settings
    problem = launch_error(**launch, machine=machine)
    assert message in problem and "\n" not in problem


def test_launch_settings_that_fit_the_machine_pass(monkeypatch):
    monkeypatch.setattr("rest.process_group.installed", lambda module: True)  # as after `pip install deepspeed`
    zero3 = {"launcher": "accelerate", "accelerate_config": "deepspeed_zero3"}
    assert launch_error(2, "auto", None, {}, CPU_ONLY) is None
    assert launch_error(8, **zero3, args={}, machine=GPU_NODE) is None
    assert launch_error(8, "accelerate", FSDP2, {}, GPU_NODE) is None
    assert launch_error(8, "accelerate", "fsdp2", {}, GPU_NODE) is None
    assert launch_error(8, "auto", None, {"fsdp": "full_shard", "fsdp_config": {"fsdp_version": 2}}, GPU_NODE) is None
    monkeypatch.setattr("rest.process_group.installed", lambda module: module != "deepspeed")
    assert "DeepSpeed, which is not installed" in launch_error(8, **zero3, args={}, machine=GPU_NODE)


def test_a_shipped_accelerate_config_goes_by_name_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert accelerate_config_file("fsdp2") == SHIPPED_ACCELERATE_CONFIGS / "fsdp2.yaml"
    (tmp_path / "fsdp2").write_text("distributed_type: FSDP\n")  # a file of that name is the user's own
    assert accelerate_config_file("fsdp2").resolve() == (tmp_path / "fsdp2").resolve()
    assert not accelerate_config_file("fsdp3").is_file()


def test_nested_trainer_settings_from_the_config_reach_the_ranks_spec_as_plain_values():
    """Hydra hands nested values over as DictConfig / ListConfig, which the ranks' JSON spec cannot hold."""
    peft = {"r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"]}
    sft = short_sft(processes=2, peft=peft, lr_scheduler_kwargs={"num_cycles": 1})
    assert json.loads(json.dumps({"peft": sft.peft, "args": sft.args}))["peft"] == peft
    assert sft.args["lr_scheduler_kwargs"] == {"num_cycles": 1}


def test_a_failed_process_group_stops_the_run_in_one_line_that_names_its_log(tmp_path):
    """The ranks fail at start (a sitecustomize that ends every process torchrun starts); the run keeps what it did."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import os\nif 'TORCHELASTIC_RUN_ID' in os.environ:\n    os._exit(3)\n")
    command = [sys.executable, "run.py", "experiment=smoke", "algorithm.iterations=1", "trainer.processes=2",
               f"hydra.run.dir={tmp_path / 'run'}"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "PYTHONPATH": str(site)})
    errors = [line for line in (result.stdout + result.stderr).splitlines() if "[ERROR]" in line]
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert len(errors) == 1 and "process group failed" in errors[0] and "checkpoint.train.log" in errors[0]
    assert "rerun the same command" in errors[0] and (tmp_path / "run" / "iter_1" / "grown").is_dir()
