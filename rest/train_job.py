"""Train's rank entry point, started by rest/process_group.py under torchrun or accelerate launch:

    python -m torch.distributed.run --standalone --nproc_per_node 2 -m rest.train_job RUN/iter_0/policy.tmp/train_spec.json

Every rank builds the same SFTTrainer from the spec (trl shards the data and wraps the model for DDP, FSDP or
DeepSpeed as the launcher set up), checks that it is one of `processes` ranks (a rank that finds itself alone
fails instead of training on its own), trains, and takes part in saving a full checkpoint. Rank 0 writes the
completion marker last; the parent uses the checkpoint only when the marker is there and the exit code is 0.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
from pathlib import Path

from rest.artifacts import write_json
from rest.lifeline import die_with_parent
from rest.process_group import DONE, IN_PROCESS
from rest.trainer import SFT

log = logging.getLogger("rest.train_job")


def main(spec_path: str) -> None:
    spec_file = Path(spec_path)
    spec = json.loads(spec_file.read_text())
    out = spec_file.parent
    examples = [json.loads(line) for line in (out / spec["examples"]).read_text().splitlines()]
    sft = SFT(seed=spec["seed"], peft=spec["peft"], **IN_PROCESS, weighting=spec["weighting"], east_a=spec["east_a"],
              **spec["args"])
    # work_dir: <checkpoint>.state when Train saves its own; report: where TRL reports the loss (the run's logger)
    trainer = sft.build(examples, spec["init_from"], spec["work_dir"], spec["report"])
    world_size = trainer.accelerator.num_processes
    if world_size != spec["processes"]:  # `rank N: ` is what the parent's one line quotes (process_group._tail)
        sys.exit(f"rank {trainer.accelerator.process_index}: world size {world_size}, expected "
                 f"{spec['processes']} (on CPU the ranks need ACCELERATE_USE_CPU=true)")
    result = trainer.train(resume_from_checkpoint=spec["resume_from"])
    save_full_checkpoint(trainer, out, spec["peft"] is not None, spec["init_from"])
    if trainer.accelerator.is_main_process:
        shutil.rmtree(out / "work", ignore_errors=True)
        write_json(out / DONE, {"world_size": world_size, "training_loss": result.training_loss,
                                "global_step": result.global_step,
                                "global_batch_size": trainer.args.per_device_train_batch_size * world_size
                                * trainer.args.gradient_accumulation_steps})
    trainer.accelerator.wait_for_everyone()


def save_full_checkpoint(trainer, out: Path, lora: bool, init_from: str) -> None:
    """A plain HF checkpoint at `out`, gathered from every rank (FSDP / ZeRO-3 shards included); a LoRA
    adapter is saved, then merged into the base weights by rank 0."""
    if not lora:
        trainer.save_model(str(out))
    else:
        trainer.save_model(str(out / "adapter"))
    trainer.accelerator.wait_for_everyone()
    if not trainer.accelerator.is_main_process:
        return
    if lora:
        _merge_adapter(out / "adapter", init_from, out)
    (out / "training_args.bin").unlink(missing_ok=True)
    trainer.processing_class.save_pretrained(str(out))


def _merge_adapter(adapter: Path, init_from: str, out: Path) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(init_from)
    PeftModel.from_pretrained(base, str(adapter)).merge_and_unload().save_pretrained(str(out))
    shutil.rmtree(adapter)


if __name__ == "__main__":
    die_with_parent()  # the launcher: a rank does not outlive it
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    main(sys.argv[1])
