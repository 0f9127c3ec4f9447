"""Human-readable summaries: a run's metrics table, and `python -m rest.report DIR` for a sweep.

The report reads every run under DIR (a Hydra multirun directory, or a single run directory): its overrides
(`run_overrides.yaml`, which the run keeps from its last start that was not refused; else Hydra's
`.hydra/overrides.yaml`) and `metrics.jsonl`. Keys whose values differ between runs (other than `seed`) are the
swept settings; runs of one setting are averaged. It writes report.md and report.csv (one row per setting,
held-out pass@1 per iteration as mean ± std over seeds) and report.png (pass@1 by iteration, a line per setting).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import sys
from math import nan
from pathlib import Path
from statistics import mean, stdev

from omegaconf import OmegaConf

from rest.artifacts import write_text
from rest.errors import UserError
from rest.run_settings import OVERRIDES

COLUMNS = [
    ("iteration", "iter", "{}"),
    ("pass@1", "pass@1", "{:.3f}"),
    ("pass@k", "pass@k", "{:.3f}"),
    ("maj@k", "maj@k", "{:.3f}"),
    ("grown", "grown", "{}"),
    ("correct", "correct", "{}"),
    ("kept", "kept", "{}"),
    ("yield", "kept/grown", "{:.3f}"),
    ("tokens_grown", "tokens grown", "{}"),
    ("tokens_trained", "tokens trained", "{}"),
    ("val_pass@1", "val pass@1", "{:.3f}"),
    ("seconds_grow", "grow s", "{:.0f}"),
    ("seconds_improve", "improve s", "{:.0f}"),
    ("seconds_train", "train s", "{:.0f}"),
    ("seconds_eval", "eval s", "{:.0f}"),
    ("engine_starts", "engine starts", "{}"),
]


def format_table(metrics: list[dict]) -> str:
    """A markdown table, one row per iteration; '-' where a stage did not run (iteration 0 has no Grow); the
    best iteration (by validation) is marked with a *.

    >>> print(format_table([{"iteration": 0, "pass@1": 0.5}]))
    | iter | pass@1 | pass@k | maj@k | grown | correct | kept | kept/grown | tokens grown | tokens trained | val pass@1 | grow s | improve s | train s | eval s | engine starts |
    |---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
    | 0 | 0.500 | - | - | - | - | - | - | - | - | - | - | - | - | - | - |
    """
    header = "| " + " | ".join(title for _, title, _ in COLUMNS) + " |"
    rule = "|" + "---|" * len(COLUMNS)
    rows = [
        "| " + " | ".join(_cell(m, key, fmt) for key, _, fmt in COLUMNS) + " |"
        for m in metrics
    ]
    return "\n".join([header, rule, *rows])


# ---- sweeps: `python -m rest.report DIR` ---------------------------------------------------------------

IGNORED = ("seed", "hydra.")  # not a setting: seeds are averaged over, hydra.* only places outputs


def collect_runs(root: Path) -> list[dict]:
    """Every run under `root` (a Hydra multirun directory, or one run directory): its overrides and metrics."""
    runs = []
    for metrics_file in sorted(root.glob("metrics.jsonl")) + sorted(root.glob("*/metrics.jsonl")):
        run_dir = metrics_file.parent
        overrides_file = run_dir / OVERRIDES
        if not overrides_file.exists():  # a run of an older rest, or one refused at its first start
            overrides_file = run_dir / ".hydra" / "overrides.yaml"
        overrides = OmegaConf.to_container(OmegaConf.load(overrides_file)) if overrides_file.exists() else []
        values = dict(o.lstrip("+~").split("=", 1) for o in overrides if "=" in o)
        metrics = [json.loads(line) for line in metrics_file.read_text().splitlines() if line.strip()]
        runs.append({"dir": str(run_dir), "overrides": values, "metrics": metrics})
    if not runs:
        raise UserError(f"no metrics.jsonl in {root} or its subdirectories: is it a run or a multirun directory?")
    return runs


def runs_without_metrics(root: Path) -> list[str]:
    """The job directories of a multirun (Hydra's `.hydra/` in them) that have no metrics.jsonl."""
    jobs = sorted(marker.parent for marker in root.glob("*/.hydra"))
    return [str(job) for job in jobs if not (job / "metrics.jsonl").exists()]


def summarize(runs: list[dict]) -> tuple[list[str], list[dict]]:
    """(the swept keys, one row per setting: its values, seeds, and pass@1 mean/std per iteration)."""
    keys = sorted({k for r in runs for k in r["overrides"]})
    swept = [k for k in keys if not k.startswith(IGNORED) and len({r["overrides"].get(k) for r in runs}) > 1]
    groups: dict[tuple, list[dict]] = {}
    for run in runs:
        groups.setdefault(tuple(run["overrides"].get(k, "") for k in swept), []).append(run)
    rows = []
    for setting, members in groups.items():
        iterations = sorted({m["iteration"] for run in members for m in run["metrics"]})
        curve = {}
        for it in iterations:
            values = [m["pass@1"] for run in members for m in run["metrics"] if m["iteration"] == it]
            curve[it] = (mean(values), stdev(values) if len(values) > 1 else 0.0, len(values))
        rows.append({"setting": dict(zip(swept, setting)), "runs": len(members),
                     "seeds": sorted({run["overrides"].get("seed", "-") for run in members}), "pass@1": curve})
    return swept, rows


def write_report(root: Path) -> list[Path]:
    swept, rows = summarize(collect_runs(root))
    iterations = sorted({it for row in rows for it in row["pass@1"]})
    header = [*swept, "runs", *[f"pass@1 it{it}" for it in iterations]]
    md = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    csv_rows = [[*swept, "runs", *[f"{s}_it{it}" for it in iterations for s in ("mean", "std", "n")]]]
    for row in rows:
        cells = [row["setting"][k] for k in swept] + [str(row["runs"])]
        md.append("| " + " | ".join(cells + [_mean_std(row["pass@1"].get(it)) for it in iterations]) + " |")
        csv_rows.append(cells + [f"{v:.6g}" for it in iterations for v in row["pass@1"].get(it, (nan, nan, 0))])
    note = f"\n\nHeld-out pass@1, mean ± std over the runs of each setting (seeds averaged); {len(rows)} setting(s)."
    missing = runs_without_metrics(root)
    if missing:
        note += (f"\n\n{len(missing)} run(s) without metrics.jsonl (failed before their first Evaluate, or still "
                 f"starting) are left out: {', '.join(missing)}")
    paths = [root / "report.md", root / "report.csv", root / "report.png"]
    write_text(paths[0], "\n".join(md) + note + "\n")
    buffer = io.StringIO()
    csv.writer(buffer).writerows(csv_rows)
    write_text(paths[1], buffer.getvalue())
    _plot(rows, swept, paths[2])
    return paths


def _plot(rows: list[dict], swept: list[str], path: Path) -> None:
    fig, ax = _axes()
    for row in rows:
        its = sorted(row["pass@1"])
        label = ", ".join(f"{k.split('.')[-1]}={v}" for k, v in row["setting"].items()) or "run"
        ax.errorbar(its, [row["pass@1"][i][0] for i in its], yerr=[row["pass@1"][i][1] for i in its],
                    marker="o", capsize=3, label=f"{label} (n={row['runs']})")
    _save(fig, ax, "held-out pass@1", path)


def plot_run(metrics: list[dict], path: Path) -> None:
    """One run's held-out pass@1 (and validation pass@1, when validated) by iteration."""
    fig, ax = _axes()
    for key, label in (("pass@1", "held-out pass@1"), ("val_pass@1", "validation pass@1")):
        points = [(m["iteration"], m[key]) for m in metrics if m.get(key) is not None]
        if points:
            ax.plot(*zip(*points), marker="o", label=label)
    best = [m["iteration"] for m in metrics if m.get("best")]
    if best:
        ax.axvline(best[0], color="grey", linestyle="--", label=f"best (validation): iteration {best[0]}")
    _save(fig, ax, "greedy pass@1", path)


def _axes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(6.4, 4.2))


def _save(fig, ax, ylabel: str, path: Path) -> None:
    """Labels and grid shared by the plots; written to a temp file, then renamed."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("iteration (0 = base model)")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    tmp = path.with_name(path.name + ".tmp")  # an interrupted run's leftover is removed on resume (*.tmp)
    fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    tmp.replace(path)


def _cell(row: dict, key: str, fmt: str) -> str:
    text = fmt.format(row[key]) if row.get(key) is not None else "-"
    return text + " *" if key == "iteration" and row.get("best") else text


def _mean_std(cell) -> str:
    if cell is None:
        return "-"
    m, s, n = cell
    return f"{m:.3f} ± {s:.3f}" if n > 1 else f"{m:.3f}"


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 1:
        print("usage: python -m rest.report RUN_OR_MULTIRUN_DIR", file=sys.stderr)
        return 2
    try:
        paths = write_report(Path(args[0]))
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    logging.getLogger("rest.report").info("wrote %s\n%s", ", ".join(map(str, paths)), paths[0].read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
