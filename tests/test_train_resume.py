"""A Train killed midway goes on from its own last checkpoint (trainer.save_strategy, rest/train_state.py) to the
weights an uninterrupted Train writes; a saved state of other training is never resumed; by default Train saves
nothing of its own."""

import logging
import shutil
from pathlib import Path

import pytest
import torch
import transformers
from conftest import PLAIN_SFT
from safetensors.torch import load_file

from rest.train_state import FINGERPRINT, state_dir
from rest.trainer import SFT

EXAMPLES = [{"prompt": f"Compute {a} + {b}.\n", "completion": f"{a} + {b} = {a + b}\n#### {a + b}\n"}
            for a in range(5) for b in range(5)]  # 25 examples: 7 steps an epoch at batch 4, 14 in all
SAVES = {"save_strategy": "steps", "save_steps": 3, "save_total_limit": 1}


def sft(**args) -> SFT:
    settings = {**PLAIN_SFT, "use_cpu": True, "per_device_train_batch_size": 4, "num_train_epochs": 2,
                "learning_rate": 1e-3}
    return SFT(**{**settings, **args})


@pytest.fixture
def steps(monkeypatch):
    """Counts the optimizer's steps; `steps.stop_at = N` makes the N-th raise KeyboardInterrupt (Ctrl-C, a kill)."""
    train_step = transformers.Trainer.training_step

    class Steps:
        taken, stop_at = 0, None

        def __call__(self, trainer, *args, **kwargs):
            self.taken += 1
            if self.taken == self.stop_at:
                raise KeyboardInterrupt
            return train_step(trainer, *args, **kwargs)

    counter = Steps()
    monkeypatch.setattr(transformers.Trainer, "training_step", lambda trainer, *a, **k: counter(trainer, *a, **k))
    return counter


def weights(checkpoint) -> dict[str, torch.Tensor]:
    return load_file(str(checkpoint / "model.safetensors"))


def interrupted(trainer: SFT, tiny_model: str, out, steps, at: int) -> None:
    steps.stop_at = at
    with pytest.raises(KeyboardInterrupt):
        trainer.train(EXAMPLES, tiny_model, out)
    steps.stop_at, steps.taken = None, 0


@pytest.mark.parametrize("peft", [None, {"r": 4, "lora_alpha": 8, "target_modules": "all-linear"}])
def test_a_train_killed_midway_resumes_from_its_last_save_to_the_uninterrupted_weights(tiny_model, tmp_path, steps,
                                                                                        caplog, peft):
    sft(**SAVES, peft=peft).train(EXAMPLES, tiny_model, tmp_path / "whole")
    assert steps.taken == 14 and not state_dir(tmp_path / "whole").exists()  # no state left behind
    steps.taken = 0
    interrupted(sft(**SAVES, peft=peft), tiny_model, tmp_path / "resumed", steps, at=8)  # after the save at step 6
    saved = state_dir(tmp_path / "resumed")
    assert [p.name for p in saved.glob("checkpoint-*")] == ["checkpoint-6"]  # the last state only
    assert (saved / FINGERPRINT).is_file()
    assert not (tmp_path / "resumed").exists()
    (saved / "checkpoint-9").mkdir()  # a save cut short by the kill: no trainer_state.json
    (saved / "checkpoint-9" / "model.safetensors").write_bytes(b"half")
    with caplog.at_level(logging.INFO, logger="rest.train_state"):
        sft(**SAVES, peft=peft).train(EXAMPLES, tiny_model, tmp_path / "resumed")
    assert f"resuming Train from {saved / 'checkpoint-6'}" in caplog.text and "did not finish" in caplog.text
    assert steps.taken == 14 - 6  # went on, did not start again
    whole, resumed, base = (weights(path) for path in (tmp_path / "whole", tmp_path / "resumed", Path(tiny_model)))
    assert any(not torch.equal(whole[name], base[name]) for name in whole)  # it trained (a merged adapter too)
    assert all(torch.allclose(whole[name], resumed[name], atol=1e-6) for name in whole)
    assert not saved.exists()


def test_train_continuing_the_runs_own_policy_resumes_after_the_run_directory_moved(tiny_model, tmp_path, steps):
    """ReST continues from the previous iteration's policy: its absolute path made a moved run train from the start."""
    shutil.copytree(tiny_model, tmp_path / "run" / "iter_1" / "checkpoint")
    interrupted(sft(**SAVES), str(tmp_path / "run" / "iter_1" / "checkpoint"), tmp_path / "run" / "iter_2" / "checkpoint",
                steps, at=8)
    moved = (tmp_path / "run").rename(tmp_path / "moved")
    sft(**SAVES).train(EXAMPLES, str(moved / "iter_1" / "checkpoint"), moved / "iter_2" / "checkpoint")
    assert steps.taken == 14 - 6  # went on from the save at step 6


def test_a_saved_state_of_other_examples_is_removed_not_resumed(tiny_model, tmp_path, steps, caplog):
    interrupted(sft(**SAVES), tiny_model, tmp_path / "policy", steps, at=5)
    with caplog.at_level(logging.INFO, logger="rest.train_state"):
        sft(**SAVES).train(EXAMPLES[:-1], tiny_model, tmp_path / "policy")
    assert "removing" in caplog.text and "resuming" not in caplog.text
    assert steps.taken == 12  # 24 examples, 6 steps an epoch: trained from the start


def test_by_default_train_saves_nothing_of_its_own(tiny_model, tmp_path, steps):
    interrupted(sft(), tiny_model, tmp_path / "policy", steps, at=8)
    assert not state_dir(tmp_path / "policy").exists()
    sft().train(EXAMPLES, tiny_model, tmp_path / "policy")
    assert steps.taken == 14  # from the start
