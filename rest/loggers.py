"""Experiment logging (`logger=` in the config): where a run's metrics, sample tables and TRL's loss curves go.

- `none` (default): nothing beyond metrics.jsonl and the log.
- `tensorboard`: event files under <run dir>/tensorboard/: each iteration's numeric metrics as
  `iteration/<key>` scalars (step = iteration), a markdown table of its first samples, the run's config as
  text. TRL writes each Train's loss curve to tensorboard/train/iter_<N>/. Offline: `tensorboard --logdir RUN/tensorboard`.
- `wandb`: one W&B run with files under <run dir>/wandb/ (`mode`: online, offline, disabled); the run's config
  as its config, metrics against an `iteration` axis, samples as a wandb.Table per iteration. HF's
  WandbCallback reuses the active run (transformers' integration_utils calls wandb.init only when wandb.run is
  None and does not finish the run at train end), so TRL's `train/*` curve lands in the same run, against
  `train/global_step`, which restarts every iteration. Rerunning the same command resumes the same W&B run (the
  id is kept in <run dir>/wandb/run_id).

The run builds its logger with `make_logger(cfg.logger, run_dir, run_config)`: `run_config` (the resolved config,
a dict) must not pass through Hydra's instantiate, which would build every `_target_` inside it.

With trainer.processes > 1 Train runs in other processes. TensorBoard curves still land in the directory given.
W&B's rank 0 has no active run to reuse, and HF's callback starts one there: the logger exports, for its
lifetime, the W&B settings that put that run beside this one (WANDB_PROJECT, _ENTITY, _MODE, _DIR and
WANDB_RUN_GROUP, the group this run is in, named after its id), and names it `<this run's name>-train-iter_<N>`;
so each iteration's loss curve is its own W&B run in this run's group (W&B's "one run per process, grouped").
"""

from __future__ import annotations

import importlib
import logging
import numbers
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from rest.config import build
from rest.environment import export
from rest.errors import UserError, is_whole

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from rest.contracts import Logger

log = logging.getLogger(__name__)
COLUMNS = ("prompt", "completion", "correct", "kept", "reward")  # the sample table's columns, when rows have them
WANDB_MODES = ("online", "offline", "disabled")


def make_logger(node: DictConfig, run_dir: str | Path, run_config: dict) -> Logger:
    """The logger `node` (rest/conf/logger/NAME.yaml) names, for the run in `run_dir` configured by `run_config`; a
    missing package or a bad setting is one UserError line, raised before any work."""
    make = build(node, _partial_=True)  # run_config is handed over afterwards, untouched by Hydra
    try:
        return make(run_dir=run_dir, run_config=run_config)
    except TypeError as err:
        raise UserError(f"logger: {err}".splitlines()[0]) from None


class NoLogger:
    """Logs nothing: metrics.jsonl and the run's log are the record."""

    def __init__(self, *, run_dir: str | Path | None = None, run_config: dict | None = None):
        pass

    def log_metrics(self, iteration: int, metrics: dict) -> None:
        pass

    def log_samples(self, iteration: int, rows: list[dict]) -> None:
        pass

    def trainer_args(self, iteration: int) -> dict[str, Any]:
        return {}

    def close(self) -> None:
        pass


class TensorBoardLogger:
    """Event files under <run_dir>/tensorboard/; `samples`: rows in each iteration's sample table."""

    def __init__(self, *, run_dir: str | Path, run_config: dict, samples: int):
        _require("tensorboard", "tensorboard")
        from torch.utils.tensorboard import SummaryWriter

        self.dir = Path(run_dir) / "tensorboard"
        self.samples = checked_samples(samples)
        self.writer = SummaryWriter(log_dir=str(self.dir))
        self.writer.add_text("config", _indented(yaml.safe_dump(run_config, sort_keys=False)))
        self.writer.flush()
        log.info("TensorBoard: tensorboard --logdir %s", self.dir)

    def log_metrics(self, iteration: int, metrics: dict) -> None:
        for key, value in numeric(metrics).items():
            self.writer.add_scalar(f"iteration/{key}", value, iteration)
        self.writer.flush()

    def log_samples(self, iteration: int, rows: list[dict]) -> None:
        self.writer.add_text("samples", markdown_table(rows[:self.samples]), iteration)
        self.writer.flush()

    def trainer_args(self, iteration: int) -> dict[str, Any]:
        return {"report_to": ["tensorboard"], "logging_dir": str(self.dir / "train" / f"iter_{iteration}")}

    def close(self) -> None:
        self.writer.close()


class WandbLogger:
    """One W&B run, its files under <run_dir>/wandb/. `mode`: online, offline or disabled; `project`, `entity`,
    `name`: wandb.init's (null: W&B's default); `samples`: rows in each iteration's sample table."""

    def __init__(self, *, run_dir: str | Path, run_config: dict, mode: str, project: str | None, entity: str | None,
                 name: str | None, samples: int):
        _require("wandb", "wandb")
        import wandb

        if mode not in WANDB_MODES:
            raise UserError(f"logger.mode must be one of {WANDB_MODES}, got {mode!r}")
        directory = Path(run_dir) / "wandb"  # wandb.init(dir=D) writes under D/wandb
        directory.mkdir(parents=True, exist_ok=True)
        self.samples, self.defined = checked_samples(samples), set()
        try:
            run_id = _run_id(directory)
            self.run = wandb.init(dir=str(run_dir), mode=mode, project=_text(project), entity=_text(entity),
                                  name=_text(name), group=run_id, config=run_config, id=run_id, resume="allow")
        except wandb.errors.Error as err:
            raise UserError(f"logger=wandb: {str(err).splitlines()[0]} (logger.mode=offline needs no account)"
                            ) from None
        self.replaced = export(self.group_environment(run_dir, mode))
        log.info("W&B run %s (%s) in %s", self.run.id, mode, directory)

    def group_environment(self, run_dir: str | Path, mode: str) -> dict[str, str]:
        """The settings with which a W&B run started in another process (Train's rank 0) joins this run's group."""
        settings = {"WANDB_PROJECT": self.run.project, "WANDB_ENTITY": self.run.entity, "WANDB_MODE": mode,
                    "WANDB_DIR": str(run_dir), "WANDB_RUN_GROUP": self.run.group}
        return {name: value for name, value in settings.items() if value}

    def log_metrics(self, iteration: int, metrics: dict) -> None:
        values = {f"iteration/{key}": value for key, value in numeric(metrics).items()}
        for key in values.keys() - self.defined:  # by name: beats the "*" glob HF's callback defines
            self.run.define_metric(key, step_metric="iteration")
            self.defined.add(key)
        self.run.log({"iteration": iteration, **values})

    def log_samples(self, iteration: int, rows: list[dict]) -> None:
        import wandb

        rows = rows[:self.samples]
        columns = [c for c in COLUMNS if any(c in row for row in rows)]
        table = wandb.Table(columns=columns, data=[[row.get(c) for c in columns] for row in rows],
                            allow_mixed_types=True)
        self.run.log({"iteration": iteration, f"samples/iter_{iteration}": table})

    def trainer_args(self, iteration: int) -> dict[str, Any]:
        """In-process, HF's callback reuses this run (and ignores the name); in other processes it names theirs."""
        return {"report_to": ["wandb"], "run_name": f"{self.run.name or self.run.id}-train-iter_{iteration}"}

    def close(self) -> None:
        self.run.finish()
        export(self.replaced)


def numeric(metrics: dict, prefix: str = "") -> dict[str, float]:
    """The numbers in `metrics` (bools and None left out, nested dicts flattened with "/"), `iteration` excepted.

    >>> numeric({"iteration": 2, "pass@1": 0.5, "kept": 12, "early": True, "x": None, "seconds": {"grow": 1.5}})
    {'pass@1': 0.5, 'kept': 12, 'seconds/grow': 1.5}
    """
    found = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            found.update(numeric(value, f"{name}/"))
        elif isinstance(value, numbers.Real) and not isinstance(value, bool) and name != "iteration":
            found[name] = value
    return found


def markdown_table(rows: list[dict]) -> str:
    """The rows' prompt, completion, correct, kept and reward (those present) as a markdown table.

    >>> print(markdown_table([{"prompt": "1+1=", "completion": "2|3\\nok", "correct": True, "score_x": 1.0}]))
    | prompt | completion | correct |
    | --- | --- | --- |
    | 1+1= | 2\\|3 ↵ ok | True |
    """
    columns = [c for c in COLUMNS if any(c in row for row in rows)]
    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ↵ ")


def _indented(text: str) -> str:
    """`text` as a markdown code block (TensorBoard renders text summaries as markdown)."""
    return "\n".join("    " + line for line in text.splitlines())


def checked_samples(samples) -> int:
    """`logger.samples`: rows in each iteration's sample table, a whole number >= 0 (0: no table)."""
    if not is_whole(samples, 0):
        raise UserError(f"logger.samples must be a whole number >= 0 (rows of each iteration's sample table), got "
                        f"{samples!r}")
    return samples


def _require(package: str, option: str) -> None:
    try:
        importlib.import_module(package)
    except ImportError:
        raise UserError(f"logger={option} needs the {package} package: pip install {package} "
                        "(or pip install -e '.[loggers]')") from None


def _text(value: Any) -> str | None:
    """A name from the command line as text: Hydra reads `logger.project=2024` as a number, W&B takes strings."""
    return None if value is None else str(value)


def _run_id(directory: Path) -> str:
    """This run directory's W&B run id: made once, kept in <dir>/run_id, so a rerun resumes the same W&B run."""
    path = directory / "run_id"
    if not path.exists():
        path.write_text(uuid.uuid4().hex[:8])  # W&B's own ids: 8 lowercase letters and digits
    return path.read_text().strip()
