"""Train's progress in the run's log.

In this process (`trainer.processes=1`), transformers would print the trainer's log records to the console only;
`log_in_this_process(trainer)` sends them through `logging` instead, to the console and run.log alike, with where
Train stands (`Train: step 120 of 355`) at most every minute, beside the console's progress bar.

In a process group, the ranks write to a file of their own (rest/process_group.py), so a Train of hours would
show nothing in the run's log between its first line and its last. While the group runs, this reads that file as
it grows and logs what rank 0 reports there: each record of the trainer's log (TRL's `{'loss': ...,
'learning_rate': ..., 'epoch': ...}`, every `trainer.logging_steps` steps, and the summary at the end) as it comes,
and where the progress bar stands (`Train: step 120 of 355`) at most every `every` seconds.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from pathlib import Path
from typing import Self

log = logging.getLogger("rest.trainer")
RECORD = re.compile(r"^(?:\[rank\d+\]:)?\s*(\{'(?:loss|train_runtime|eval_loss)'.*\})\s*$")
PROGRESS = re.compile(r"^\s*\d+%\|.*\| (\d+)/(\d+) \[")  # the trainer's bar, " 34%|███  | 120/355 [00:41<01:20, ...]"
# (the bars of loading, tokenizing and saving are named: "Tokenizing train dataset: 100%|...")
POLL = 1.0  # seconds between reads of the file


class LogRelay:
    """`with LogRelay(path): ...` relays the file's progress while the block runs, and what is left at its end."""

    def __init__(self, path: Path, every: float = 60.0):
        self.path, self.every = path, every
        self.offset, self.partial, self.last_progress = 0, "", float("-inf")
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._follow, name="train-log-relay", daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join()
        self.read(final=True)

    def _follow(self) -> None:
        while not self.stopped.wait(POLL):
            self.read()

    def read(self, final: bool = False) -> None:
        """Logs the records and the progress in what was written since the last read."""
        try:
            with open(self.path, "rb") as file:
                if os.fstat(file.fileno()).st_size < self.offset:  # written anew since the last read
                    self.offset, self.partial = 0, ""
                file.seek(self.offset)
                text = self.partial + file.read().decode(errors="replace")
                self.offset = file.tell()
        except FileNotFoundError:  # not written yet (or gone): the next read tries again
            return
        pieces = re.split(r"[\r\n]", text)
        self.partial = "" if final else pieces.pop()  # a line still being written waits for the next read
        step = None
        for piece in pieces:
            record = RECORD.match(piece)
            if record:
                log.info("Train: %s", record.group(1))
            step = PROGRESS.match(piece) or step
        if step and time.monotonic() - self.last_progress >= self.every:
            self.last_progress = time.monotonic()
            log.info("Train: step %s of %s", *step.groups())


def log_in_this_process(trainer, every: float = 60.0) -> None:
    """The trainer's records and progress through `logging`, in place of its progress bar's printing of them."""
    from transformers.trainer_callback import ProgressCallback

    class LoggedProgress(ProgressCallback):
        last = float("-inf")

        def on_log(self, args, state, control, logs=None, **kwargs):
            if state.is_world_process_zero and logs:
                log.info("Train: %s", {key: _readable(value) for key, value in logs.items() if key != "total_flos"})

        def on_step_end(self, args, state, control, **kwargs):
            super().on_step_end(args, state, control, **kwargs)
            if state.is_world_process_zero and time.monotonic() - self.last >= every:
                self.last = time.monotonic()
                log.info("Train: step %d of %d", state.global_step, state.max_steps)

    if trainer.pop_callback(ProgressCallback):  # absent with `disable_tqdm`: then records are printed as before
        trainer.add_callback(LoggedProgress())


def _readable(value):
    return f"{value:.4g}" if isinstance(value, float) else value
