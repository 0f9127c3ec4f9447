"""Train (M-step): supervised fine-tuning on kept samples with TRL's SFTTrainer, loss on completion tokens only.

TRL handles tokenisation, the completion mask and EOS; `args` is forwarded to `trl.SFTConfig`, so bf16,
gradient accumulation or packing are config changes. `processes` / `launcher` / `accelerate_config` run Train as
its own process group (DDP, FSDP, DeepSpeed; rest/process_group.py), on `nodes` machines of the Ray cluster at
`ray_address` (rest/nodes.py); by default it runs in the calling process.
With `peft` (PEFT's `LoraConfig` fields) a LoRA adapter is trained and merged into the weights, so that the
checkpoint written is an ordinary one that vLLM, scorers and the next iteration load like any other.
`report` (a logger's `trainer_args`, rest/loggers.py) adds SFTConfig fields so that TRL reports its loss curve to
the run's logger; `logging_dir`, TensorBoard's directory, is no SFTConfig field since transformers 5 and reaches HF's
TensorBoard callback as TENSORBOARD_LOGGING_DIR instead.
`weighting` (null, or `east` with its exponent `east_a`; rest/weighting.py) is read by Improve, which puts a `weight`
on each kept sample; with it set, each example's loss is multiplied by its weight (rest/weighted_sft.py). Unset,
training is TRL's own SFTTrainer, unchanged.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rest.artifacts import atomic_dir, inside
from rest.config import plain
from rest.environment import export
from rest.errors import UserError, first_line
from rest.log_relay import log_in_this_process
from rest.process_group import in_process, launch, launch_error
from rest.train_check import adapter_error, dropped_error, length_error, lora_config, peft_error
from rest.train_state import fingerprint, finish, no_final_save, resume_point, state_dir
from rest.weighted_sft import unweighted_error
from rest.weighting import settings_error

if TYPE_CHECKING:
    from rest.machine import Machine

log = logging.getLogger(__name__)


class _NoDdpWarningForOneProcess(logging.Filter):
    """vLLM's engine, when its core runs in this process, starts a torch.distributed group of one process; HF's
    TrainingArguments then warns that a group is initialized but DDP is not in use ("launch your script with
    torch.distributed.launch"), which means nothing for one process. The warning stays for a group of several."""

    def filter(self, record: logging.LogRecord) -> bool:
        import torch.distributed as dist

        if not str(record.msg).startswith("torch.distributed process group is initialized, but parallel_mode"):
            return True
        return not (dist.is_initialized() and dist.get_world_size() == 1)


logging.getLogger("transformers.training_args").addFilter(_NoDdpWarningForOneProcess())


class SFT:
    """`train(examples, init_from, out_dir, report)` fine-tunes `init_from` on prompt/completion pairs and
    writes an HF checkpoint (model + tokenizer) to `out_dir` atomically; returns `out_dir`. `report`: extra
    SFTConfig fields from the run's logger (None: TRL reports nowhere)."""

    def __init__(self, *, seed: int, peft: dict[str, Any] | None, processes: int, launcher: str,
                 accelerate_config: str | None, nodes: int, ray_address: str | None, save_strategy: str,
                 weighting: str | None = None, east_a: float | None = None, **args: Any):
        problem = settings_problem(peft=peft, processes=processes, launcher=launcher,
                                   accelerate_config=accelerate_config, nodes=nodes, ray_address=ray_address,
                                   weighting=weighting, east_a=east_a, save_strategy=save_strategy, **args)
        if problem:
            raise UserError(problem)
        self.weighting, self.east_a = weighting, east_a
        self.seed = seed
        self.peft = plain(peft) if peft else None
        self.processes, self.launcher, self.accelerate_config = processes, launcher, accelerate_config
        self.nodes, self.ray_address = nodes, ray_address
        # plain values: the process group's spec is JSON (e.g. fsdp_config, a LoRA's target_modules list)
        self.args = {**{key: plain(value) for key, value in args.items()}, "save_strategy": save_strategy}

    def check(self, model: str, prompts: list[str]) -> None:
        """A LoRA adapter that PEFT cannot put on `model`, or a max_length that every prompt fills, is one
        UserError line (rest/train_check.py)."""
        max_length = sft_config("unused", self.seed, dict(self.args)).max_length  # TRL's default when not set
        problem = (adapter_error(self.peft, model) if self.peft else None) or length_error(max_length, model, prompts)
        if problem:
            raise UserError(problem)

    def with_args(self, args: dict[str, Any]) -> SFT:
        """This trainer with some SFTConfig fields replaced (a judge's own learning rate, epochs, batch size)."""
        changed = copy.copy(self)
        changed.args = {**self.args, **{key: plain(value) for key, value in args.items()}}
        return changed

    def train(self, examples: list[dict[str, str]], init_from: str, out_dir: str | Path,
              report: dict[str, Any] | None = None) -> str:
        out_dir = Path(out_dir)
        if not examples:
            raise ValueError("no examples to train on")
        start = time.perf_counter()
        state = state_dir(out_dir) if self.saves_state else None  # Train's own checkpoints (rest/train_state.py)
        resume = resume_point(state, self.fingerprint(examples, init_from, out_dir)) if state else None
        with atomic_dir(out_dir) as tmp:
            if in_process(self.processes, self.launcher, self.nodes):
                loss = self._train_here(examples, init_from, tmp, report, state, resume)
            else:
                loss = self.train_in_group(examples, init_from, tmp, report, state, resume)["training_loss"]
        if state:
            finish(state)
        log.info("trained %s on %d examples in %.1fs (mean train loss %.4f) -> %s",
                 init_from, len(examples), time.perf_counter() - start, loss, out_dir)
        return str(out_dir)

    @property
    def saves_state(self) -> bool:
        return self.args["save_strategy"] != "no"

    def fingerprint(self, examples: list[dict[str, str]], init_from: str, out_dir: Path) -> dict[str, Any]:
        """What a saved Train state must have trained to be resumed (how often it saves may change). A policy of the
        run that Train continues from (ReST) is recorded relative to the run (out_dir: <run dir>/iter_N/checkpoint),
        so that a moved run resumes."""
        args = {k: v for k, v in self.args.items() if not k.startswith(("save_", "logging_"))}
        return fingerprint(examples, init_from=inside(init_from, out_dir.parent.parent), seed=self.seed, args=args,
                           peft=self.peft,
                           processes=self.processes * self.nodes,  # the world size: ranks' data and batch
                           weighting=self.weighting, east_a=self.east_a)

    def _train_here(self, examples: list[dict[str, str]], init_from: str, out: Path, report: dict[str, Any] | None,
                    state: Path | None, resume: str | None) -> float:
        trainer = self.build(examples, init_from, state or out, report)
        log_in_this_process(trainer)
        result = trainer.train(resume_from_checkpoint=resume)
        self.save(trainer, out)
        return result.training_loss

    def train_in_group(self, examples: list[dict[str, str]], init_from: str, out: Path,
                       report: dict[str, Any] | None = None, state: Path | None = None,
                       resume: str | None = None) -> dict[str, Any]:
        """Train in a process group writing the checkpoint into `out`; returns rank 0's completion marker."""
        spec = {"init_from": init_from, "seed": self.seed, "peft": self.peft, "args": self.args, "report": report,
                "weighting": self.weighting, "east_a": self.east_a, "work_dir": str(state or out / "work"),
                "resume_from": resume}
        done = launch(spec, examples, out, self.processes, self.launcher, self.accelerate_config, self.nodes,
                      self.ray_address)
        log.info("Train's process group: world size %d, global batch %d, %d steps",
                 done["world_size"], done["global_batch_size"], done["global_step"])
        return done

    def build(self, examples: list[dict[str, str]], init_from: str, work_dir: str | Path,
              report: dict[str, Any] | None = None):
        """The configured `trl.SFTTrainer`, ready to train (exposed for tests of the loss mask)."""
        import datasets
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from trl import SFTConfig, SFTTrainer

        args = {**self.args, **(report or {})}
        logging_dir = None if _is_field(SFTConfig, "logging_dir") else args.pop("logging_dir", None)
        config = sft_config(work_dir, self.seed, args)
        rows = [{"prompt": e["prompt"], "completion": e["completion"]} for e in examples]
        if self.weighting:  # seed-mix examples carry no weight: 1
            from rest.weighted_sft import weighted_sft_trainer

            rows = [{**row, "weight": float(e.get("weight", 1.0))} for row, e in zip(rows, examples)]
        make = weighted_sft_trainer if self.weighting else SFTTrainer
        with _environment("TENSORBOARD_LOGGING_DIR", logging_dir):  # read when the trainer makes its callbacks
            trainer = make(
                model=AutoModelForCausalLM.from_pretrained(init_from),
                args=config,
                train_dataset=datasets.Dataset.from_list(rows),
                processing_class=AutoTokenizer.from_pretrained(init_from),
                peft_config=self._lora_config(),
            )
        problem = dropped_error(len(rows), len(trainer.train_dataset), config.max_length)
        if problem:
            raise UserError(problem)
        if config.save_strategy != "no":
            trainer.add_callback(no_final_save())
        return trainer

    def _lora_config(self):
        return None if self.peft is None else lora_config(self.peft)

    def save(self, trainer, out: Path) -> None:
        """The trained model as a plain HF checkpoint (a LoRA adapter merged into its base weights)."""
        model = trainer.model.merge_and_unload() if self.peft else trainer.model
        model.save_pretrained(str(out))
        trainer.processing_class.save_pretrained(str(out))


def settings_problem(machine: Machine | None = None, *, peft: dict[str, Any] | None, processes: int, launcher: str,
                     accelerate_config: str | None, nodes: int, ray_address: str | None, weighting: str | None = None,
                     east_a: float | None = None, **args: Any) -> str | None:
    """One line saying what is wrong with SFT's settings (how Train is launched on `machine`, None: this one; the
    weighting, whose exponent rest/conf/trainer/ sets: None is unset; the trl.SFTConfig options `args`, which the
    weighted loss narrows; LoRA), or None."""
    return (launch_error(processes, launcher, accelerate_config, args, machine, nodes, ray_address)
            or settings_error(weighting, east_a)
            or options_error(args, weighted=weighting is not None) or peft_error(peft))


def sft_config(work_dir: str | Path, seed: int, args: dict[str, Any], key: str = "trainer"):
    """trl.SFTConfig for the trainer options `args` (set under `key`), loss on completions; a field it lacks or a
    value it refuses is a one-line UserError."""
    from trl import SFTConfig

    # TRL defaults to bf16, which a CPU lacks, and to pinned memory, which without an accelerator torch does not
    # use and warns about at every Train; it reports nowhere unless the run's logger says where
    args = {"bf16": _bf16_available(), "dataloader_pin_memory": _accelerator_available(), "report_to": [], **args}
    try:
        return SFTConfig(output_dir=str(work_dir), seed=seed, completion_only_loss=True, **args)
    except TypeError as err:
        raise UserError(f"{key}: {err} (trainer options are trl.SFTConfig fields)") from None
    except ValueError as err:
        raise UserError(f"{key}: {first_line(err)}") from None


CHECKED_NUMBERS = ("learning_rate", "per_device_train_batch_size", "max_length", "gradient_accumulation_steps",
                   "max_steps", "num_train_epochs")


def options_error(args: dict[str, Any], key: str = "trainer", weighted: bool = False) -> str | None:
    """One line saying what trl.SFTConfig refuses in the trainer options `args` (set under `key`), or what it accepts
    but the optimizer, the data loader or (`weighted`) the weighted loss would refuse once Train starts; None when
    they can train."""
    try:
        config = sft_config("unused", 0, args, key)  # SFTConfig makes no directory
    except UserError as err:
        return str(err)
    for name in CHECKED_NUMBERS:  # SFTConfig keeps a string it is given for these; a comparison would fail on it
        value = getattr(config, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            return f"{key}.{name} must be a number, got {value!r}"
    if config.learning_rate < 0:
        return f"{key}.learning_rate must be >= 0, got {config.learning_rate}"
    if config.per_device_train_batch_size < 1:
        return f"{key}.per_device_train_batch_size must be >= 1, got {config.per_device_train_batch_size}"
    if config.max_length is not None and config.max_length < 1:
        return f"{key}.max_length must be null (no truncation) or >= 1, got {config.max_length}"
    if config.gradient_accumulation_steps < 1:
        return f"{key}.gradient_accumulation_steps must be >= 1, got {config.gradient_accumulation_steps}"
    if config.max_steps <= 0 and config.num_train_epochs <= 0:
        return f"{key}.num_train_epochs must be > 0 (or {key}.max_steps > 0), got {config.num_train_epochs}"
    return _save_error(config, key) or (unweighted_error(config) if weighted else None)


def _save_error(config, key: str) -> str | None:
    """What keeps Train's own checkpoints (rest/train_state.py) from being saved or kept as asked."""
    if config.save_strategy == "best":
        return f"{key}.save_strategy must be no, steps or epoch: Train has no evaluation set to find a best state by"
    if config.save_strategy == "steps" and not config.save_steps > 0:
        return f"{key}.save_steps must be > 0 (optimizer steps between saves of Train's state), got {config.save_steps}"
    if config.save_total_limit is not None and config.save_total_limit < 1:
        return f"{key}.save_total_limit must be >= 1 (null: keep every state), got {config.save_total_limit}"
    return None


def _bf16_available() -> bool:
    import torch

    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def _accelerator_available() -> bool:
    import torch

    return torch.accelerator.is_available()


def _is_field(config_class: type, name: str) -> bool:
    return any(f.name == name for f in dataclasses.fields(config_class))


@contextmanager
def _environment(name: str, value: str | None):
    """`name` set to `value` in os.environ inside the block (None: left as it is), restored after."""
    if value is None:
        yield
        return
    replaced = export({name: value})
    try:
        yield
    finally:
        export(replaced)
