"""Where the configuration lives (rest/conf/, inside this package) and how code outside the command line
composes it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

CONFIG_DIR = Path(__file__).resolve().parent / "conf"


def compose(overrides: list[str] = ()) -> DictConfig:
    """The run configuration with `overrides`, as `python run.py` composes it (without Hydra's own nodes)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        return hydra_compose("config", overrides=list(overrides))


def build(node: DictConfig, **kwargs):
    """`hydra.utils.instantiate`, with a failure in the constructor reported as one UserError line: the
    constructor's own UserError as it is, anything else (an unknown or missing key) with the config key."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    from rest.errors import UserError

    try:
        return instantiate(node, **kwargs)
    except InstantiationException as err:
        if isinstance(err.__cause__, UserError):
            raise err.__cause__ from None
        cause = err.__cause__ or err
        raise UserError(f"{node.get('_target_', 'config')}: {cause}".splitlines()[0]) from None


def plain(node: Any) -> Any:
    """A config value as plain Python, interpolations resolved (`datasets` rejects DictConfig and ListConfig, JSON
    and trl.SFTConfig want plain values); anything else as it is."""
    from omegaconf import ListConfig, OmegaConf

    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig | ListConfig) else node


def dotted(settings: dict, prefix: str = "") -> dict:
    """Nested settings as dotted keys (a list is one value).

    >>> dotted({"sampling": {"n": 2, "stop": ["\\n"]}, "seed": 0})
    {'sampling.n': 2, 'sampling.stop': ['\\n'], 'seed': 0}
    """
    found = {}
    for key, value in settings.items():
        found.update(dotted(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
    return found


def mode_settings(cfg: DictConfig) -> DictConfig:
    """`cfg.mode` less the loop's settings that the chosen mode does not take: an experiment preset made for the
    loop (experiment=smoke sets mode.eval.k) then works with mode=generate too, and the log names what was left out.
    Any other key the mode does not take is one UserError line naming the mode's settings. Interpolations (in the
    rest of `cfg`) still resolve."""
    import copy

    from omegaconf import OmegaConf, open_dict

    from rest.errors import UserError

    taken = mode_fields(cfg.mode._target_)
    if taken is None:  # a target that does not load: `build` says so in one line
        return cfg.mode
    others = [key for key in cfg.mode if key != "_target_" and key not in taken]
    loop = OmegaConf.load(CONFIG_DIR / "mode" / "loop.yaml")
    unknown = [key for key in others if key not in loop]
    if unknown:
        raise UserError(f"mode.{unknown[0]} is not a setting of {cfg.mode._target_} (its settings: "
                        f"{', '.join(taken)}; set by +mode.{unknown[0]} or an experiment made for another mode)")
    if not others:
        return cfg.mode
    logging.getLogger(__name__).info("%s takes no %s (settings of mode=loop): left out", cfg.mode._target_,
                                     ", ".join(f"mode.{key}" for key in others))
    cfg = copy.deepcopy(cfg)  # the whole config, for the mode's interpolations (${model.judge.yes})
    with open_dict(cfg):
        for key in others:
            del cfg.mode[key]
    return cfg.mode


def mode_fields(target: str) -> list[str] | None:
    """The settings that the mode class `target` takes, or None when it does not load (or takes any)."""
    import inspect

    from hydra.utils import get_class

    try:
        parameters = inspect.signature(get_class(target)).parameters.values()
    except (ImportError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    return [p.name for p in parameters]
