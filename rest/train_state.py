"""Train's own checkpoints, so that a Train killed midway (a Slurm time limit, a preemption, Ctrl-C) goes on from
its last one instead of from the start.

Off by default (`trainer.save_strategy: "no"`). With TRL's `save_strategy` `steps` (every `save_steps` optimizer
steps) or `epoch`, the trainer saves its state (weights, optimizer, scheduler, RNG, data position) into
`<checkpoint>.state/checkpoint-<step>/`, keeping the last `save_total_limit`; a rerun of the run trains the same
examples again and passes the last one to `Trainer.train(resume_from_checkpoint=...)`. The state directory holds
the fingerprint of what it trains (`fingerprint.json`: examples, starting model, seed, settings, processes): a state
of other training is removed, never resumed. Once the checkpoint is written the state directory goes. The final
step saves nothing (transformers would save a state there that nobody resumes from).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path
from typing import Any

from rest.artifacts import read_json, write_json

log = logging.getLogger(__name__)
FINGERPRINT = "fingerprint.json"


def state_dir(out: Path) -> Path:
    """Where Train keeps its own checkpoints while it writes the checkpoint `out`."""
    return out.with_name(out.name + ".state")


def fingerprint(examples: list[dict], **settings: Any) -> dict[str, Any]:
    """What a saved state must have trained for a rerun to resume it: the examples (a digest) and the settings."""
    digest = hashlib.sha256(json.dumps(examples, sort_keys=True).encode()).hexdigest()
    return json.loads(json.dumps({"examples": digest, **settings}, sort_keys=True, default=str))


def resume_point(state: Path, expected: dict[str, Any]) -> str | None:
    """The last whole checkpoint of an interrupted Train of the same examples and settings in `state`, else None; a
    state of other training is removed, and so is a checkpoint that a kill cut short while it was being saved (it
    lacks trainer_state.json, which transformers writes last). `state` holds `expected` afterwards."""
    if state.is_dir() and (not (state / FINGERPRINT).is_file() or read_json(state / FINGERPRINT) != expected):
        log.warning("removing %s: Train's saved state of other examples or settings", state)
        shutil.rmtree(state)
    state.mkdir(parents=True, exist_ok=True)
    write_json(state / FINGERPRINT, expected)
    whole = []
    for checkpoint in sorted(state.glob("checkpoint-*"), key=lambda path: int(path.name.split("-")[1])):
        if (checkpoint / "trainer_state.json").is_file():
            whole.append(checkpoint)
        else:
            log.warning("removing %s: a save of Train's state that did not finish", checkpoint)
            shutil.rmtree(checkpoint)
    if whole:
        log.info("resuming Train from %s (saved by an interrupted run)", whole[-1])
    return str(whole[-1]) if whole else None


def finish(state: Path) -> None:
    """The checkpoint is written: Train's own checkpoints are not needed any more."""
    shutil.rmtree(state, ignore_errors=True)


def no_final_save():
    """A TrainerCallback cancelling the save that transformers makes after the last step: the checkpoint written
    next replaces it."""
    from transformers import TrainerCallback

    class NoFinalSave(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step >= state.max_steps:
                control.should_save = False
            return control

        on_epoch_end = on_step_end

    return NoFinalSave()
