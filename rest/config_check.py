"""Check command-line overrides against rest/conf/ before Hydra runs, so that a typo in a key or a group
option ends in one clear line (Hydra's own report spans several lines)."""

from __future__ import annotations

import re
from itertools import product
from math import prod
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from rest.artifacts import cannot_create
from rest.command_line import hydra_command
from rest.errors import UserError, is_whole
from rest.filter_check import filter_error, retry_check_error
from rest.machine import Machine
from rest.override_types import override_type_error
from rest.unused_choice import LOOP, unused_choice_error

CODE_VERIFIER = "rest.code.verifier.CodeVerifier"
GENERATE = "rest.modes.generate.Generate"
MAX_COMBINATIONS = 256  # a larger sweep is checked one swept value at a time


def config_error(config_dir: str | Path, args: list[str], machine: Machine | None = None) -> str | None:
    """One line describing what is wrong with `args`, or None when they compose and make sense. A sweep
    (-m) is checked for every combination of its values, before its first job starts; a config directory of the
    user's (--config-dir, -cd) and a primary config of theirs (--config-name, -cn) are composed as Hydra will. Other
    flags (--cfg, --help, ...) are Hydra's to handle. `machine`: where the run's ranks and engines will be (None:
    this one)."""
    command = hydra_command(args, Path(config_dir))
    if command is None:
        return None
    overrides, sweep, primary_dir, name = command
    defaults: dict[tuple[str, ...], DictConfig] = {}  # the config of each set of group choices, composed once

    def compose_groups(groups: tuple[str, ...]) -> DictConfig:
        if groups not in defaults:
            defaults[groups] = compose(name, overrides=list(groups))
        return defaults[groups]

    try:
        with initialize_config_dir(str(Path(primary_dir or config_dir).resolve()), version_base="1.3"):
            for combination in _combinations(overrides) if sweep else [overrides]:
                cfg = compose(name, overrides=combination, return_hydra_config=True)
                problem = (override_type_error(combination, cfg, Path(config_dir), compose_groups)
                           or _output_dir_error(cfg, sweep) or unused_choice_error(combination, cfg)
                           or semantic_error(cfg, machine))
                if problem:
                    return problem if not sweep else f"{problem} (in the sweep {' '.join(combination)})"
    except (HydraException, OmegaConfBaseException) as err:
        return _one_line(err)
    return None


def semantic_error(cfg, machine: Machine | None = None) -> str | None:
    """What is wrong with a composed config's values, before any work (a value it must be given, thresholds, the
    ReST schedule, how Train is launched and its SFT options, sampling settings, where Grow's engines go)."""
    return (_missing_error(cfg) or _seed_error(cfg) or _algorithm_error(cfg) or _judging_error(cfg)
            or _budget_error(cfg) or _trainer_error(cfg.trainer, machine) or filter_error(cfg)
            or retry_check_error(cfg) or _weighting_error(cfg) or _answer_error(cfg) or _sampling_error(cfg)
            or _sampler_error(cfg.sampler, machine) or _one_cluster_error(cfg))


def _one_cluster_error(cfg) -> str | None:
    """Grow on Ray and Train on several nodes share the one Ray cluster that the run's process may join."""
    if cfg.trainer.get("nodes", 1) == 1 or "replicas" not in cfg.sampler or (
            cfg.sampler.address == cfg.trainer.ray_address):
        return None
    grow = cfg.sampler.address or "null (a Ray of this machine alone)"
    return (f"sampler.address={grow} and trainer.ray_address={cfg.trainer.ray_address}: Grow and Train on several "
            "nodes run on one Ray cluster (a process joins one); name the same one")


def _output_dir_error(cfg, multirun: bool) -> str | None:
    """Where the run writes (hydra.run.dir, or hydra.sweep.dir for -m) can be created."""
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    path = Path(str(OmegaConf.select(cfg, key))).expanduser().absolute()
    problem = "it is a file" if path.is_file() else cannot_create(path)
    return f"{key}={path}: {problem}" if problem else None


def _missing_error(cfg) -> str | None:
    """A `???` value (one the chosen config files leave to the command line, e.g. experiment=rm_eval_prm's
    prm_checkpoint) that the command does not set."""
    missing = _missing_keys(cfg, "")
    if not missing:
        return None
    return (f"{missing[0]} must be set: add {missing[0]}=... to the command (the config file that asks for it says "
            "what it is)")


def _missing_keys(node, prefix: str) -> list[str]:
    """The `???` keys under a DictConfig, without resolving interpolations (Hydra's own keys are skipped)."""
    found = []
    for key in node:
        name = f"{prefix}{key}"
        if name == "hydra" or OmegaConf.is_interpolation(node, key):
            continue
        if OmegaConf.is_missing(node, key):
            found.append(name)
        elif OmegaConf.is_dict(node[key]):
            found += _missing_keys(node[key], f"{name}.")
    return found


def _seed_error(cfg) -> str | None:
    seed = cfg.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        return f"seed must be a whole number from 0 to 2**32 - 1 (numpy's and vLLM's range), got {seed!r}"
    return None


def _answer_error(cfg) -> str | None:
    """algorithm.answer: own, or reference with the answer_likelihood scorer that defines the answer."""
    from rest.reference_answer import settings_error

    return settings_error(cfg.algorithm.answer, cfg.get("scorers") or {})


def _weighting_error(cfg) -> str | None:
    """trainer.weighting's name and exponent; EAST measures each problem's answer entropy over its grown samples,
    so every problem needs at least 2 of them (a count that is no whole number is _budget_error's or
    _sampling_error's to name)."""
    from rest.weighting import settings_error

    weighting = cfg.trainer.get("weighting")
    problem = settings_error(weighting, cfg.trainer.get("east_a"))
    if problem or weighting is None:
        return problem
    budget = cfg.get("budget") or {}
    if budget.get("_target_") == "rest.budget.Adaptive":
        least = min(budget.per_round, budget.samples_per_problem)
        return None if least >= 2 else (
            f"trainer.weighting={weighting} needs >= 2 samples of every problem: with budget=adaptive set "
            f"budget.per_round >= 2 and budget.samples_per_problem >= 2 (got budget.per_round={budget.per_round}, "
            f"budget.samples_per_problem={budget.samples_per_problem})")
    n = cfg.sampler.grow.n
    if is_whole(n, 1) and n < 2:
        return (f"trainer.weighting={weighting} needs >= 2 samples per problem (the answer entropy of one sample is "
                f"undefined): set sampler.grow.n >= 2 (got {n})")
    return None


def _budget_error(cfg) -> str | None:
    """Grow's budget (rest/conf/budget/) checks its own settings when built: a plain object, no model or engine."""
    from rest.config import build

    if "budget" not in cfg:
        return None
    try:
        build(cfg.budget)
    except UserError as err:
        return str(err)
    return None


def _judging_error(cfg) -> str | None:
    """Programs are judged by unit tests, answers by the exact-answer verifier: the scorer must match."""
    judges_code = cfg.verifier.get("_target_") == CODE_VERIFIER
    if "code_tests" in cfg.get("scorers", {}) and not judges_code:
        return ("scorer=code_tests runs programs against unit tests: use it with a code task (task=code, mbpp, "
                "humaneval, apps), which selects verifier=code_tests")
    if "exact_answer" in cfg.get("scorers", {}) and judges_code:
        return "scorer=exact_answer compares final answers, but this task's answers are programs: use scorer=code_tests"
    return None


def _sampler_error(sampler, machine: Machine | None) -> str | None:
    from rest.sampler.hardware import DTYPES
    from rest.sampler.placement import check_address, placement_error

    dtype = sampler.engine.get("dtype", "auto")
    if dtype not in DTYPES:
        return f"sampler.engine.dtype must be one of {DTYPES}, got {dtype!r}"
    problem = _engine_numbers_error(sampler.engine)
    if problem:
        return problem
    limit = sampler.get("max_prompt_tokens")
    if limit is not None and not is_whole(limit, 1):
        return f"sampler.max_prompt_tokens must be null (keep every problem) or a whole number >= 1, got {limit!r}"
    share = sampler.engine.get("gpu_memory_utilization")
    if share is not None and not (isinstance(share, int | float) and 0 < share <= 1):
        return ("sampler.engine.gpu_memory_utilization must be in (0, 1] (a share of the GPU's memory; on CPU, of "
                f"RAM), got {share!r}")
    if "replicas" not in sampler:
        return None  # one engine in this process
    problem = placement_error(sampler.replicas, sampler.gpus_per_replica, sampler.address,
                              sampler.engine.gpu_memory_utilization, machine)
    if problem is None and sampler.address is not None:
        problem = check_address(sampler.address)  # a few seconds at most; Ray's own retries last minutes
    return problem


def _engine_numbers_error(engine) -> str | None:
    """The engine's settings whose rest/conf/ default (null, auto) gives the type check nothing to compare with."""
    length, reserved = engine.get("max_model_len"), engine.get("cpu_reserved_cores", "auto")
    if length is not None and not is_whole(length, 1):
        return f"sampler.engine.max_model_len must be null (the model's own) or a whole number >= 1, got {length!r}"
    if reserved != "auto" and not is_whole(reserved, 0):
        return f"sampler.engine.cpu_reserved_cores must be auto or a whole number >= 0, got {reserved!r}"
    return None


def _trainer_error(trainer, machine: Machine | None) -> str | None:
    """SFT's own checks (how Train is launched on `machine`, its trl.SFTConfig options, LoRA) without building it."""
    from rest.trainer import settings_problem

    if "processes" not in trainer:
        return None  # not rest.trainer.SFT: its own constructor checks its settings
    settings = OmegaConf.to_container(trainer, resolve=True)
    settings.pop("_target_")
    settings.pop("seed")
    return settings_problem(machine, **settings)


def _sampling_error(cfg) -> str | None:
    """Grow's sampling settings, the loop's Evaluate samples (mode.eval.k; 0: greedy pass@1 only), and how many
    samples of a problem each stage draws with them."""
    from rest.sampler.settings import context_error, greedy_error, sampling_error

    grow = cfg.sampler.get("grow")
    problem = sampling_error(OmegaConf.to_container(grow, resolve=True), "sampler.grow") if grow else None
    k = (cfg.mode.get("eval") or {}).get("k", 0)
    if problem is None and not is_whole(k, 0):
        problem = f"mode.eval.k must be a whole number >= 0 (0: greedy pass@1 only), got {k!r}"
    if problem or not grow:
        return problem
    engine = cfg.sampler.get("engine") or {}
    return (greedy_error(grow.get("temperature"), _sample_counts(cfg))
            or context_error(grow.get("max_tokens"), engine.get("max_model_len")))


def _sample_counts(cfg) -> dict[str, int]:
    """How many samples of a problem the chosen mode draws with the Grow settings, by the key that sets it."""
    keys = ["sampler.grow.n"] if cfg.mode.get("_target_") in (LOOP, GENERATE) else []
    keys += ["mode.eval.k", "mode.n"]
    keys += [f"mode.{retry}.n" for retry in ("rationalize", "reflect") if OmegaConf.select(cfg, f"mode.{retry}.enabled")]
    return {key: OmegaConf.select(cfg, key) for key in keys if OmegaConf.select(cfg, key) is not None}


def _algorithm_error(cfg) -> str | None:
    from rest.schedule import schedule

    if cfg.algorithm.get("name") == "rest" and "threshold" not in cfg.filter:
        return "algorithm=rest needs a filter with a `threshold` (filter=rest)"
    if not 0.0 <= cfg.algorithm.seed_mix < 1.0:
        return f"algorithm.seed_mix (lambda) must be in [0, 1), got {cfg.algorithm.seed_mix}"
    try:
        schedule(OmegaConf.to_container(cfg.algorithm, resolve=True), cfg.filter.get("threshold"))
    except UserError as err:
        return str(err)
    return None


def _combinations(overrides: list[str]) -> list[list[str]]:
    """Every combination of a sweep's values (Hydra's own override grammar), or, past MAX_COMBINATIONS,
    each swept value with the others at their first value."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import OverrideType

    choices = []
    for override in OverridesParser.create().parse_overrides(overrides):
        if override.is_sweep_override():
            prefix = {OverrideType.ADD: "+", OverrideType.FORCE_ADD: "++"}.get(override.type, "")
            key = prefix + override.get_key_element()
            choices.append([f"{key}={value}" for value in override.sweep_string_iterator()])
        else:
            choices.append([override.input_line])
    if prod(len(c) for c in choices) <= MAX_COMBINATIONS:
        return [list(combination) for combination in product(*choices)]
    firsts = [c[0] for c in choices]
    return [firsts[:i] + [value] + firsts[i + 1 :] for i, c in enumerate(choices) for value in c]


def _one_line(err: BaseException) -> str:
    message = str(err).split("Config search path")[0]
    cause = err.__cause__
    if cause is not None and str(cause).strip():
        message += f" ({str(cause).strip().splitlines()[0]})"
    message = re.sub(r"Available options in '([^']*)':", r"available options for \1:", message)
    return re.sub(r"\s*\n\s*", "; ", message.strip()).replace(":;", ":").replace(".;", ".") + _list_hint(message)


def _list_hint(message: str) -> str:
    """What to write instead when an override gives a list where rest/conf/ has a map (`mode.scorers=[...]`)."""
    found = re.search(r"Error merging override \+*([\w.]+)=", message)
    if not found or "Cannot merge DictConfig with ListConfig" not in message:
        return ""
    key = found.group(1)
    if key.split(".")[-1] == "scorers":
        return (f"; {key} is a map of name: scorer settings, not a list: add a scorer file under a name with "
                f"+scorer@{key}.NAME=FILE (e.g. +scorer@{key}.prm=implicit_prm)")
    return f"; {key} is a map of name: settings, not a list: set one entry with {key}.NAME=..."
