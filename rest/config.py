"""Where the configuration lives (rest/conf/, inside this package) and how code outside the command line
composes it."""

from __future__ import annotations

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
