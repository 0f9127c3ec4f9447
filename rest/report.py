"""Human-readable summaries of a run's metrics."""

from __future__ import annotations

COLUMNS = [
    ("iteration", "iter", "{}"),
    ("pass@1", "pass@1", "{:.3f}"),
    ("pass@k", "pass@k", "{:.3f}"),
    ("maj@k", "maj@k", "{:.3f}"),
    ("grown", "grown", "{}"),
    ("correct", "correct", "{}"),
    ("kept", "kept", "{}"),
    ("seconds_grow", "grow s", "{:.0f}"),
    ("seconds_train", "train s", "{:.0f}"),
    ("seconds_eval", "eval s", "{:.0f}"),
]


def format_table(metrics: list[dict]) -> str:
    """A markdown table, one row per iteration; '-' where a stage did not run (iteration 0 has no Grow).

    >>> print(format_table([{"iteration": 0, "pass@1": 0.5}]))
    | iter | pass@1 | pass@k | maj@k | grown | correct | kept | grow s | train s | eval s |
    |---|---|---|---|---|---|---|---|---|---|
    | 0 | 0.500 | - | - | - | - | - | - | - | - |
    """
    header = "| " + " | ".join(title for _, title, _ in COLUMNS) + " |"
    rule = "|" + "---|" * len(COLUMNS)
    rows = [
        "| " + " | ".join(fmt.format(m[key]) if m.get(key) is not None else "-" for key, _, fmt in COLUMNS) + " |"
        for m in metrics
    ]
    return "\n".join([header, rule, *rows])
