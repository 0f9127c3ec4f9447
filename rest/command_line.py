"""Hydra's command line as rest checks it before Hydra runs (rest/config_check.py): the overrides, whether it is a
sweep, and where the primary config comes from when the user brings a config directory of their own."""

from __future__ import annotations

from pathlib import Path

VALUE_FLAGS = {"--config-dir": "dir", "-cd": "dir", "--config-name": "name", "-cn": "name"}  # Hydra's, with a value


def hydra_command(args: list[str], main_dir: Path) -> tuple[list[str], bool, Path | None, str] | None:
    """(overrides, a sweep?, the primary config's directory when it is not `main_dir`, the primary config's name);
    None when a flag asks Hydra for something else (--cfg, --help, --config-path, ...). A user's config directory
    (--config-dir) joins the search path after `main_dir`, as with Hydra. A primary config (--config-name) found
    only there is composed from there with `main_dir` after it: an option that both directories hold is then
    taken from the user's, where Hydra takes `main_dir`'s.

    >>> hydra_command(["-m", "seed=0,1"], Path("conf"))
    (['seed=0,1'], True, None, 'config')
    >>> hydra_command(["--cfg", "job"], Path("conf")) is None
    True
    """
    overrides, sweep, values, rest = [], False, {}, iter(args)
    for arg in rest:
        flag, has_value, value = arg.partition("=")
        if arg in ("-m", "--multirun"):
            sweep = True
        elif flag in VALUE_FLAGS:
            values[VALUE_FLAGS[flag]] = value if has_value else next(rest, "")
        elif arg.startswith("-"):
            return None
        else:
            overrides.append(arg)
    name = values.get("name", "config")
    if not values.get("dir"):
        return overrides, sweep, None, name
    user_dir = Path(values["dir"]).resolve()
    own = not (main_dir / f"{name}.yaml").is_file() and (user_dir / f"{name}.yaml").is_file()
    searched = main_dir.resolve() if own else user_dir
    return _searching(overrides, searched), sweep, user_dir if own else None, name


def _searching(overrides: list[str], directory: Path) -> list[str]:
    """`overrides` with `directory` added to the search path, after any the command line gives.

    >>> _searching(["seed=1", "hydra.searchpath=[pkg://mine]"], Path("/u"))
    ['hydra.searchpath=[pkg://mine,file:///u]', 'seed=1']
    """
    given = [o for o in overrides if o.startswith("hydra.searchpath=")]
    entries = [g.split("=", 1)[1].strip().removeprefix("[").removesuffix("]") for g in given]
    entries = [*[e for e in entries if e], f"file://{directory}"]
    return [f"hydra.searchpath=[{','.join(entries)}]", *[o for o in overrides if o not in given]]
