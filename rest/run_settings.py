"""A run directory keeps the settings it was started with, so that a rerun in it resumes the same run.

A rerun skips every stage whose artifact exists; with other settings (another filter, seed or learning rate) it
would keep the old stages' results and label them with the new settings. The loop therefore records its settings
(as configured: an interpolation such as `${filter.cap}` is compared where its value is set) in
`<run dir>/run_settings.json` at its first start and, on a rerun, refuses in one line settings that differ from
them, except those that say how the run computes or how far it goes rather than what a finished stage holds
(`MAY_CHANGE`; but not `min_delta` while `mode.keep_checkpoints` is set: `best_rule_refusal`). Settings that only
one of the two has (a newer version of rest added them) are not compared, but a setting that is a value on one side
and a group on the other (`trainer.peft`: null or LoRA's) is, and so are the names in a group of named parts
(`scorers`: another scorer chosen).
Deleting the file is the way to reuse finished stages under other settings on purpose (e.g. retrain an
iteration's kept samples with another learning rate after deleting all of that iteration but grown/, samples/ and
retry/, and the later iterations).

A start that is not refused also copies Hydra's `.hydra/overrides.yaml` to `run_overrides.yaml`, which
`python -m rest.report` reads: Hydra writes its own copy before the run starts, also for a rerun refused here or
a second run refused by the directory's lock, whose overrides would otherwise label this run's results.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rest.artifacts import write_json, write_text
from rest.config import dotted
from rest.errors import UserError

FILE = "run_settings.json"
OVERRIDES = "run_overrides.yaml"  # the command-line overrides of the last start that was not refused (rest.report)
MAY_CHANGE = ("algorithm.iterations", "mode.validation.early_stop", "mode.keep_checkpoints", "logger", "sampler.engine",
              "sampler.address", "trainer.processes", "trainer.nodes", "trainer.ray_address", "trainer.launcher", "trainer.accelerate_config",
              "trainer.logging_steps", "trainer.save_strategy", "trainer.save_steps", "trainer.save_total_limit",
              "verifier.workers")
SHOWN = 3  # differences named in the error
MIN_DELTA, KEEP = "mode.validation.early_stop.min_delta", "mode.keep_checkpoints"  # see best_rule_refusal


def keep_or_refuse(run_dir: Path, settings: dict[str, Any]) -> None:
    """Refuse `settings` when the run in `run_dir` has done work (an `iter_*` directory) with other ones; then
    record them (a first start that failed before any work, say on a wrong path, leaves nothing to keep)."""
    path = run_dir / FILE
    if path.exists() and any(run_dir.glob("iter_*")):
        before = json.loads(path.read_text())
        changed = differences(before, settings)
        if changed:
            raise UserError(refusal(run_dir, changed))
        best_rule = best_rule_refusal(run_dir, before, settings)
        if best_rule:
            raise UserError(best_rule)
    write_json(path, settings)
    hydras = run_dir / ".hydra" / "overrides.yaml"  # Hydra rewrites it at every start, refused ones included
    if hydras.exists():
        write_text(run_dir / OVERRIDES, hydras.read_text())


def differences(before: dict, now: dict, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """(key, value before, value now) for each setting both have whose value changed, outside MAY_CHANGE; two
    lists of one length are compared item by item. A setting that is a value (null included) on one side and a
    group of settings on the other changed (LoRA turned on or off: `trainer.peft`), and so did the names in a group
    of named parts (each of its settings a group, such as `scorers`) when they differ.

    >>> differences({"seed": 0, "f": {"chain": [{"cap": 10}, "x"]}, "logger": {"mode": "x"}},
    ...             {"seed": 0, "f": {"chain": [{"cap": 5}, "x"]}})
    [('f.chain.0.cap', 10, 5)]
    >>> differences({"stop": ["\\n"]}, {"stop": []})
    [('stop', ['\\n'], [])]
    >>> differences({"peft": None, "scorers": {"a": {"w": 1}}}, {"peft": {"r": 8}, "scorers": {"b": {"w": 1}}})
    [('peft', None, {'r': 8}), ('scorers', ['a'], ['b'])]
    """
    found = []
    for key in sorted(before.keys() & now.keys()):
        name, a, b = f"{prefix}{key}", before[key], now[key]
        if a == b or _may_change(name):
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            found += _names_changed(name, a, b) + differences(a, b, f"{name}.")
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            found += differences(dict(enumerate(a)), dict(enumerate(b)), f"{name}.")
        else:
            found.append((name, a, b))
    return found


def _names_changed(name: str, a: dict, b: dict) -> list[tuple[str, Any, Any]]:
    """The names of a group of named parts (every setting in it a group on both sides), when they changed; a group
    with plain settings too may gain one from a newer version of rest, which is not compared."""
    parts = all(isinstance(value, dict) for value in [*a.values(), *b.values()])
    return [(name, sorted(a), sorted(b))] if parts and a.keys() != b.keys() else []


def best_rule_refusal(run_dir: Path, before: dict, now: dict) -> str | None:
    """Why `min_delta` may not change (None when it may): with `keep_checkpoints` set (before or now) the run removes
    the checkpoints of all but the best iteration and the last ones, and another min_delta could choose as best an
    iteration whose checkpoint is gone, then remove the one that was best."""
    old, new = dotted(before), dotted(now)
    if MIN_DELTA not in old or MIN_DELTA not in new or old[MIN_DELTA] == new[MIN_DELTA]:
        return None
    if old.get(KEEP) is None and new.get(KEEP) is None:
        return None
    return (f"{run_dir} holds a run started with {MIN_DELTA}={old[MIN_DELTA]!r} (now {new[MIN_DELTA]!r}), which may "
            f"not change while {KEEP} is set (before {old.get(KEEP)!r}, now {new.get(KEEP)!r}): the run chose its best "
            f"iteration by it and removed other checkpoints; rerun with {MIN_DELTA}={old[MIN_DELTA]!r}")


def refusal(run_dir: Path, changed: list[tuple[str, Any, Any]]) -> str:
    shown = ", ".join(f"{key}={_short(old)} (now {_short(new)})" for key, old, new in changed[:SHOWN])
    more = f" and {len(changed) - SHOWN} more" if len(changed) > SHOWN else ""
    return (f"{run_dir} holds a run started with other settings: {shown}{more}; a rerun keeps its finished stages "
            f"as they are, so rerun with its settings (see {FILE}) or choose another hydra.run.dir (to reuse them "
            f"under the new settings on purpose, delete {FILE})")


def _may_change(key: str) -> bool:
    return any(key == name or key.startswith(f"{name}.") for name in MAY_CHANGE)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."
