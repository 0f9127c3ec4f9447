"""Config check of the loop's filters (rest/config_check.py calls these before any work): the filter chain
(rest/conf/filter/) and each retry source's `check` build, and read only the scores that the run's scorers give."""

from __future__ import annotations

from omegaconf import OmegaConf

from rest.contracts import ScoreFilter
from rest.errors import UserError
from rest.filters import Chain

LOOP = "rest.loop.Loop"


def filter_error(cfg) -> str | None:
    """The filter chain (rest/conf/filter/) checks its own settings when built: plain objects, no model. The loop's
    filters read scores that its scorers give."""
    from rest.config import build

    if "chain" not in cfg.get("filter", {}):
        return None
    try:
        chain = build(cfg.filter.chain)
    except UserError as err:
        return str(err)
    if cfg.mode.get("_target_") != LOOP:
        return None
    return _score_name_error(chain, list(cfg.get("scorers") or {}), "filter", "set filter.score to one of them")


def retry_check_error(cfg) -> str | None:
    """A retry source's `check` (mode.rationalize.check, mode.reflect.check) builds, and reads only scores that the
    run's scorers give (retried samples are scored as the grown ones are)."""
    from rest.stages.retry import Rationalize, Reflect, from_settings

    if cfg.mode.get("_target_") != LOOP:
        return None
    for kind in (Rationalize, Reflect):
        settings = OmegaConf.to_container(cfg.mode[kind.name], resolve=True)
        if not settings.get("enabled"):
            continue
        try:
            check = from_settings(kind, settings).check
        except UserError as err:
            return str(err)
        problem = check and _score_name_error(check, list(cfg.get("scorers") or {}), f"mode.{kind.name}.check",
                                              "make the check read one of them")
        if problem:
            return problem
    return None


def _score_name_error(chain, scorers: list[str], key: str, fix: str) -> str | None:
    """A filter (or a Chain's) that reads a score no scorer of the run gives (it would fail after Grow)."""
    filters = chain.filters if isinstance(chain, Chain) else [chain]
    for name in (f.score for f in filters if isinstance(f, ScoreFilter) and f.score != "reward"):
        if name not in scorers:
            return (f"{key}: it reads the score {name!r}, which no scorer of this run gives (its scorers: {scorers}); "
                    f"add that scorer (scorer=[{','.join([*scorers, name])}]) or {fix}")
    return None
