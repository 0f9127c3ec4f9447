"""What this machine offers to ranks and engines: its GPUs and the CPU cores this process may use."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Machine:
    gpus: int
    cores: int

    @classmethod
    def here(cls) -> Machine:
        import torch

        return cls(gpus=torch.cuda.device_count(), cores=len(os.sched_getaffinity(0)))
