"""How many of a run's kept samples on the built-in arithmetic task reach the right answer through right steps:
a kept sample has the verified final answer, but its lines (`a + b = c`, one operation each) can still be wrong,
e.g. an operand miscopied (`10 - 2 = 9` for `Compute 7 + 3 - 1.`) or a hinted answer copied after wrong steps.

    .venv/bin/python bench/arithmetic_steps.py RUN [RUN ...]

For each iteration of each run: kept samples of Grow (`iter_N/samples`) and of each retry source
(`iter_N/retry/<source>`), and how many of them have every line right (a line is right when `a op b = c` holds
as written; lines of another shape are not judged). Prints one JSON row per (run, iteration, source).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rest.artifacts import load_samples
from rest.tasks.arithmetic import steps_hold


def kept_rows(run: Path):
    for iteration in sorted(run.glob("iter_*"), key=lambda p: int(p.name.split("_")[1])):
        sources = [("grow", iteration / "samples")] + [(p.name, p) for p in sorted((iteration / "retry").glob("*"))
                                                       if p.is_dir()]
        for source, folder in sources:
            if (folder / "dataset_info.json").exists():
                kept = [s for s in load_samples(folder) if s.kept]
                yield {"run": str(run), "iteration": int(iteration.name.split("_")[1]), "source": source,
                       "kept": len(kept), "steps_right": sum(steps_hold(s.completion) for s in kept)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    for run in parser.parse_args().runs:
        for row in kept_rows(run):
            print(json.dumps(row))


if __name__ == "__main__":
    main()
