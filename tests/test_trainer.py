"""The M-step trainer: completion-only loss, and a checkpoint that transformers can load."""

import logging

import pytest
import torch
import torch.distributed as dist
from conftest import PLAIN_SFT, config
from transformers import AutoModelForCausalLM, AutoTokenizer

from rest.config import build
from rest.errors import UserError
from rest.run import execute
from rest.trainer import sft_config


def SFT(**settings):
    """The configured trainer (rest/conf/trainer/sft.yaml with the tiny model's settings), some settings changed."""
    return build(config().trainer, **settings)

EXAMPLES = [{"prompt": "Compute 1 + 2.\n", "completion": "1 + 2 = 3\n#### 3"},
            {"prompt": "Compute 10 - 4 + 7.\n", "completion": "10 - 4 = 6\n6 + 7 = 13\n#### 13"}]


def test_prompt_tokens_carry_no_loss(tiny_model, tmp_path):
    trainer = SFT(per_device_train_batch_size=2, max_length=128).build(EXAMPLES, tiny_model, tmp_path)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    batch = next(iter(trainer.get_train_dataloader()))
    for input_ids, labels in zip(batch["input_ids"], batch["labels"]):
        text = tokenizer.decode(input_ids[labels != -100])
        example = next(e for e in EXAMPLES if text.startswith(e["completion"]))
        n_prompt = len(tokenizer(example["prompt"])["input_ids"])
        assert (labels[:n_prompt] == -100).all()  # every prompt token is masked
        assert text == example["completion"] + tokenizer.eos_token  # every completion token (and EOS) is not


def test_train_writes_a_loadable_checkpoint_that_learned(tiny_model, tmp_path):
    out = SFT(num_train_epochs=30, learning_rate=3e-3, per_device_train_batch_size=2, max_length=128,
              logging_steps=100).train(EXAMPLES, tiny_model, tmp_path / "ckpt")
    before, after = (AutoModelForCausalLM.from_pretrained(p) for p in (tiny_model, out))
    tokenizer = AutoTokenizer.from_pretrained(out)
    ids = tokenizer(EXAMPLES[0]["prompt"] + EXAMPLES[0]["completion"], return_tensors="pt")["input_ids"]
    labels = ids.clone()
    labels[:, : len(tokenizer(EXAMPLES[0]["prompt"])["input_ids"])] = -100  # completion tokens only
    with torch.no_grad():
        losses = [m(input_ids=ids, labels=labels).loss.item() for m in (before, after)]
    assert losses[1] < 0.5 * losses[0]
    assert not (tmp_path / "ckpt.tmp").exists()


def test_train_without_an_accelerator_draws_no_pin_memory_warning(tiny_model, tmp_path, recwarn):
    """torch warned at every Train on CPU that TRL's pinned memory would not be used."""
    SFT(max_steps=1, per_device_train_batch_size=2, max_length=128).train(EXAMPLES, tiny_model, tmp_path / "ckpt")
    assert not [w for w in recwarn if "pin_memory" in str(w.message)]


def test_with_args_changes_the_sft_config_of_a_copy_only(tiny_model, tmp_path):
    trainer = SFT(per_device_train_batch_size=2, max_length=128)
    judge = trainer.with_args({"learning_rate": 1.5e-5, "num_train_epochs": 7})
    built = judge.build(EXAMPLES, tiny_model, tmp_path / "judge").args
    assert (built.learning_rate, built.num_train_epochs, built.max_length) == (1.5e-5, 7, 128)
    original = trainer.build(EXAMPLES, tiny_model, tmp_path / "run").args
    assert (original.learning_rate, original.num_train_epochs) == (config().trainer.learning_rate,
                                                                   config().trainer.num_train_epochs)


def test_a_one_process_torch_distributed_group_such_as_vllms_draws_no_ddp_warning(tmp_path):
    warned = []
    handler = logging.Handler()
    handler.emit = lambda record: warned.append(record.getMessage())
    logger = logging.getLogger("transformers.training_args")
    logger.addHandler(handler)
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'rendezvous'}", rank=0, world_size=1)
    try:
        assert sft_config(tmp_path, 0, {"use_cpu": True}).device.type == "cpu"  # where the group is checked
    finally:
        dist.destroy_process_group()
        logger.removeHandler(handler)
    assert not [message for message in warned if "torch.distributed" in message]


@pytest.mark.parametrize(("peft", "refused"), [
    ({"r": 8, "target_modules": ["nosuch"]}, "Target modules {'nosuch'} not found in the base model"),
    ({"r": 8, "target_modules": ["q_proj"], "layers_to_transform": [99]}, "'layers_to_transform': [99]"),
    ({"r": 8, "target_modules": "all-linear"}, None),
    ({"r": 8, "target_modules": ["q_proj", "v_proj"]}, None),
])
def test_an_adapter_the_model_cannot_take_is_found_from_its_config_alone(tiny_model, peft, refused):
    trainer = SFT(peft=peft)
    if refused is None:
        trainer.check(tiny_model, [])
        return
    with pytest.raises(UserError) as caught:
        trainer.check(tiny_model, [])
    message = str(caught.value)
    assert message.startswith("trainer.peft: ") and refused in message and "\n" not in message


def prompt_tokens(model: str, prompt: str) -> int:
    return len(AutoTokenizer.from_pretrained(model)(prompt)["input_ids"])


def test_a_max_length_that_every_prompt_fills_is_refused_and_one_that_some_fill_is_a_warning(tiny_model, caplog):
    short, long = "Compute 1 + 2.\n", "Compute 10 - 4 + 7 - 2 + 5.\n"
    cut = prompt_tokens(tiny_model, long)  # TRL keeps an example only with a completion token within max_length
    assert prompt_tokens(tiny_model, short) < cut
    SFT(max_length=cut + 1).check(tiny_model, [short, long])
    assert "prompts are at least that long" not in caplog.text
    SFT(max_length=cut).check(tiny_model, [short, long])
    assert f"trainer.max_length={cut}: 1 of 2 prompts are at least that long" in caplog.text
    with pytest.raises(UserError, match=f"trainer.max_length={cut} leaves no completion token to train on"):
        SFT(max_length=cut).check(tiny_model, [long, long])


def test_a_trainer_without_max_length_is_checked_against_trls_default(tiny_model):
    from rest.trainer import SFT as Plain

    trainer = Plain(**PLAIN_SFT)  # no max_length set
    with pytest.raises(UserError, match="trainer.max_length=1024 leaves no completion token"):
        trainer.check(tiny_model, ["Compute " + "1 + " * 300 + "1.\n"])


def test_examples_trl_drops_for_max_length_are_counted_and_none_left_is_one_line(tiny_model, tmp_path, caplog):
    cut = prompt_tokens(tiny_model, EXAMPLES[1]["prompt"])
    trainer = SFT(max_length=cut).build(EXAMPLES, tiny_model, tmp_path / "a")
    assert len(trainer.train_dataset) == 1 and "Train: 1 of 2 examples left out" in caplog.text
    with pytest.raises(UserError, match="Train: TRL left none of the 2 examples"):
        SFT(max_length=2).build(EXAMPLES, tiny_model, tmp_path / "b")


@pytest.mark.parametrize(("setting", "said"), [("trainer.peft={r: 8, target_modules: [nosuch]}",
                                                "Target modules {'nosuch'} not found"),
                                               ("trainer.max_length=4", "leaves no completion token to train on")])
def test_a_train_setting_the_model_or_prompts_refuse_stops_the_loop_before_any_sampling(tmp_path, setting, said):
    with pytest.raises(UserError) as raised:  # in this process, before any engine
        execute(config("experiment=smoke", setting), tmp_path)
    assert said in str(raised.value) and "\n" not in str(raised.value), str(raised.value)
    assert not list(tmp_path.glob("iter_*"))
