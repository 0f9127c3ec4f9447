"""A command-line value against the type of the value it replaces: `algorithm.restart_from_base=maybe` would run as
true (a non-empty string), `trainer.num_train_epochs=two` would fail deep inside Train. The config files are the
types: a setting whose value, with the same config-group choices, is a bool takes true or false, one that is a
number takes a number (or null), and one that is a map or a list takes one (or null)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override, OverrideType
from omegaconf import DictConfig, ListConfig, OmegaConf


def override_type_error(overrides: list[str], cfg: DictConfig, config_dir: Path,
                        compose_groups: Callable[[tuple[str, ...]], DictConfig]) -> str | None:
    """One line naming the first override whose value in `cfg` (composed from `overrides`, interpolations resolved)
    has the wrong type, or None. `compose_groups` composes the config from the group choices among `overrides` alone
    (the defaults those choices give)."""
    parsed = OverridesParser.create().parse_overrides(overrides)
    groups = tuple(o.input_line for o in parsed if _is_group(o, config_dir))
    values = [o for o in parsed if o.type == OverrideType.CHANGE and not _is_group(o, config_dir)]
    if not values:
        return None
    defaults = compose_groups(groups)
    for override in values:
        key = override.key_or_group
        default = OmegaConf.select(defaults, key, default=None, throw_on_resolution_failure=False)
        value = OmegaConf.select(cfg, key, default=None, throw_on_resolution_failure=False)
        problem = _type_problem(key, default, value)
        if problem:
            return problem
    return None


def _is_group(override: Override, config_dir: Path) -> bool:
    """A config-group choice (`model=smollm2`, `+scorer@mode.scorers.x=endogenous`) or Hydra's own setting."""
    key = override.key_or_group
    return key.startswith("hydra") or (Path(config_dir) / key).is_dir()


def _type_problem(key: str, default, value) -> str | None:
    if value is None:
        return None
    if isinstance(default, bool) and not isinstance(value, bool):
        return f"{key} must be true or false, got {value!r}"
    if isinstance(default, (int, float)) and not isinstance(default, bool) and isinstance(value, str):
        return f"{key} must be a number, got {value!r}"
    if isinstance(default, DictConfig) and not isinstance(value, DictConfig):
        return f"{key} is a map of settings, not one value: set one entry with {key}.NAME=... (got {value!r})"
    if isinstance(default, ListConfig) and not isinstance(value, ListConfig):
        return f"{key} must be a list ({key}=[...]), got {value!r}"
    return None
