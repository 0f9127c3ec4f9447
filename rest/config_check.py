"""Check command-line overrides against conf/ before Hydra runs, so that a typo in a key or a group
option ends in one clear line (Hydra's own report spans several lines)."""

from __future__ import annotations

import re
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException


def config_error(config_dir: str | Path, args: list[str]) -> str | None:
    """One line describing what is wrong with `args`, or None when they compose (or cannot be checked here:
    flags such as -m/--cfg, whose handling is Hydra's)."""
    if any(arg.startswith("-") for arg in args):
        return None
    try:
        with initialize_config_dir(str(Path(config_dir).resolve()), version_base="1.3"):
            compose("config", overrides=args, return_hydra_config=True)
    except (HydraException, OmegaConfBaseException) as err:
        return _one_line(err)
    return None


def _one_line(err: BaseException) -> str:
    message = str(err).split("Config search path")[0]
    cause = err.__cause__
    if cause is not None and str(cause).strip():
        message += f" ({str(cause).strip().splitlines()[0]})"
    message = re.sub(r"Available options in '([^']*)':", r"available options for \1:", message)
    return re.sub(r"\s*\n\s*", "; ", message.strip()).replace(":;", ":").replace(".;", ".")
