"""A group chosen or set on the command line that the chosen mode never reads would be silently unused
(`mode=generate filter=correct_top_k` wrote every sample, unfiltered; `mode=generate filter.cap=2` kept no cap): it
is one line instead. So are an algorithm's setting that the chosen algorithm does not read (`experiment=smoke
algorithm=rest algorithm.iterations=2` ran one Grow step), a mode setting that the chosen mode does not take
(`experiment=smoke mode=generate mode.eval.k=3`), a scorer's update asked of a mode that never updates
(`mode=score scorers.implicit_prm.update=true`), and a group that mode=score or mode=merge never reads
(`mode=score sampler.grow.temperature=0.7`). Choices an experiment preset makes are left alone: a preset made
for the loop works with every mode (rest.config.mode_settings)."""

from __future__ import annotations

import re

from rest.config import mode_fields

LOOP = "rest.loop.Loop"
RM_EVAL = "rest.modes.rm_eval.RmEval"
# The groups that a mode besides the loop never reads, and what it does instead.
NOT_READ = {
    "rest.modes.score.Score": (("sampler",), "it samples nothing: it scores the rows of mode.input"),
    "rest.modes.merge.Merge": (("sampler", "scorer", "scorers"),
                               "it samples and scores nothing: it joins the shards' rows as they were written"),
}
# The groups that only the loop reads: what each one sets, and where a mode's own setting is.
LOOP_ONLY = {
    "algorithm": ("the self-training algorithm", ""),
    "budget": ("how many samples the loop's Grow draws of each problem",
               "; mode=generate draws sampler.grow.n of each, mode=rm_eval mode.n"),
    "filter": ("what the loop's Improve keeps",
               "; mode=generate and mode=score write every row with its scores, score_<name>, to filter by"),
    "logger": ("where the loop reports its metrics", ""),
    "trainer": ("how the loop trains", ""),
}
# What each algorithm counts its steps by (rest.schedule): the other algorithm's keys are not read.
ALGORITHM_STEPS = {
    "rest_em": (("iterations",), "ReST-EM counts algorithm.iterations, each one Grow, Improve and Train"),
    "rest": (("grow_steps", "thresholds"),
             "ReST counts algorithm.grow_steps, each one Grow, then one Improve + Train step per algorithm.thresholds"),
}


def unused_choice_error(overrides: list[str], cfg) -> str | None:
    """One line for an override of `overrides` that the composed `cfg`'s mode or algorithm does not read, else None."""
    if cfg.mode.get("_target_") == LOOP:  # the loop reads every group, its own settings and scorers' updates
        return _unused_algorithm_key_error(overrides, cfg)
    return (_loop_only_error(overrides, cfg) or _not_read_error(overrides, cfg) or _unused_scorer_error(overrides, cfg)
            or _unused_mode_key_error(overrides, cfg) or _unused_update_error(overrides, cfg))


def _loop_only_error(overrides: list[str], cfg) -> str | None:
    found = _group_override(overrides, LOOP_ONLY)
    if found is None:
        return None
    what, where = LOOP_ONLY[found[1]]
    return f"{found[0]}: mode={cfg.hydra.runtime.choices.mode} does not read it ({what}){where}"


def _not_read_error(overrides: list[str], cfg) -> str | None:
    """`mode=score sampler.grow.temperature=0.7` or `mode=merge scorer=endogenous` would change nothing."""
    groups, instead = NOT_READ.get(cfg.mode.get("_target_"), ((), ""))
    found = _group_override(overrides, groups)
    return found and f"{found[0]}: mode={cfg.hydra.runtime.choices.mode} does not read it; {instead}"


def _group_override(overrides: list[str], groups) -> tuple[str, str] | None:
    """The first override that chooses or sets one of `groups` (filter=top_k, filter.cap=2, +scorer@...), and its group."""
    for override in overrides:
        group = re.match(r"^\+*(\w+)[=.@]", override)
        if group and group[1] in groups:
            return override, group[1]
    return None


def _unused_scorer_error(overrides: list[str], cfg) -> str | None:
    """mode=rm_eval compares `mode.scorers`: a `scorer=` choice (the loop's scorers) would be silently unused."""
    chosen = next((o for o in overrides if re.match(r"^\+*scorer=", o)), None)
    if chosen is None or cfg.mode.get("_target_") != RM_EVAL:
        return None
    names = [n for n in chosen.split("=", 1)[1].strip("[]").split(",") if n != "exact_answer"] or ["exact_answer"]
    return (f"mode=rm_eval compares mode.scorers, not the loop's scorers that `{chosen}` chooses: add one as "
            f"+scorer@mode.scorers.{names[0]}={names[0]}")


def _unused_algorithm_key_error(overrides: list[str], cfg) -> str | None:
    """`algorithm.iterations` under algorithm=rest, or `+algorithm.grow_steps` under rest_em, would be unused."""
    name = cfg.algorithm.get("name")
    if name not in ALGORITHM_STEPS:
        return None
    others = {key for other, (keys, _) in ALGORITHM_STEPS.items() if other != name for key in keys}
    for override in overrides:
        key = re.match(r"^\+*algorithm\.(\w+)=", override)
        if key and key[1] in others:
            return f"{override}: algorithm={name} does not read it; {ALGORITHM_STEPS[name][1]}"
    return None


def _unused_mode_key_error(overrides: list[str], cfg) -> str | None:
    """A setting the mode does not take, `mode.eval.k=3` for mode=generate (a loop setting: it was left out, logged
    at INFO only)."""
    taken = mode_fields(cfg.mode.get("_target_"))
    if taken is None:
        return None
    for override in overrides:
        key = re.match(r"^\+*mode\.(\w+)", override)
        if key and key[1] not in taken:
            return (f"{override}: mode={cfg.hydra.runtime.choices.mode} does not read mode.{key[1]}; its settings: "
                    f"{', '.join(taken)}")
    return None


def _unused_update_error(overrides: list[str], cfg) -> str | None:
    """Only the loop updates a learning scorer (after each Train, on that iteration's samples)."""
    for override in overrides:
        if re.match(r"^\+*(mode\.)?scorers\.\w+\.update=(true|True)$", override):
            return (f"{override}: mode={cfg.hydra.runtime.choices.mode} never updates a scorer; the loop (mode=loop) "
                    "updates one after each Train, on that iteration's samples")
    return None
