"""A run directory keeps the settings it was started with, so that a rerun in it resumes the same run.

A rerun skips every stage whose artifact exists; with other settings (another filter, seed or learning rate) it
would keep the old stages' results and label them with the new settings. The loop therefore records its settings
(as configured: an interpolation such as `${filter.cap}` is compared where its value is set) in
`<run dir>/run_settings.json` at its first start and, on a rerun, refuses in one line settings that differ from
them, except those that say how the run computes or how far it goes rather than what a finished stage holds
(`MAY_CHANGE`). Settings that only one of the two has (a newer version of rest added them) are not compared.
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


def keep_or_refuse(run_dir: Path, settings: dict[str, Any]) -> None:
    """Refuse `settings` when the run in `run_dir` has done work (an `iter_*` directory) with other ones; then
    record them (a first start that failed before any work, say on a wrong path, leaves nothing to keep)."""
    path = run_dir / FILE
    if path.exists() and any(run_dir.glob("iter_*")):
        changed = differences(json.loads(path.read_text()), settings)
        if changed:
            raise UserError(refusal(run_dir, changed))
    write_json(path, settings)
    hydras = run_dir / ".hydra" / "overrides.yaml"  # Hydra rewrites it at every start, refused ones included
    if hydras.exists():
        write_text(run_dir / OVERRIDES, hydras.read_text())


def differences(before: dict, now: dict) -> list[tuple[str, Any, Any]]:
    """(key, value before, value now) for each setting both have whose value changed, outside MAY_CHANGE; two
    lists of one length are compared item by item.

    >>> differences({"seed": 0, "f": {"chain": [{"cap": 10}, "x"]}, "logger": {"mode": "x"}},
    ...             {"seed": 0, "f": {"chain": [{"cap": 5}, "x"]}})
    [('f.chain.0.cap', 10, 5)]
    >>> differences({"stop": ["\\n"]}, {"stop": []})
    [('stop', ['\\n'], [])]
    """
    old, new, found = dotted(before), dotted(now), []
    for key in sorted(old.keys() & new.keys()):
        a, b = old[key], new[key]
        if a == b or _may_change(key):
            continue
        if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            found += [(f"{key}.{item}", x, y) for item, x, y in differences(dict(enumerate(a)), dict(enumerate(b)))]
        else:
            found.append((key, a, b))
    return found


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
