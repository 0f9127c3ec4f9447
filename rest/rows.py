"""Reading input row by row, from a JSONL file or a `datasets` directory (what mode=generate writes, a run's DPO
pairs): a bad line is reported with its number and kept, never fatal."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from rest.errors import UserError

REPORTED = 20  # bad rows reported one by one; every bad row is still written back with its error


@dataclass
class Row:
    number: int  # 1-based line number in the file
    data: dict  # the parsed object, or {"raw_line": text} when the line was not a JSON object
    problem: str | None  # why the row cannot be used; None for a good row


def read_rows(path: str | Path, required: dict[str, tuple[type, ...]], non_empty: tuple[str, ...] = ()) -> list[Row]:
    """Every line of a JSONL file (or row of a `datasets` directory), each checked for the `required` fields and
    their types. A file with no usable row (empty, or not JSONL at all: a JSON array, a parquet file) is one error,
    not a bad row per line."""
    lines = _lines(Path(str(path)))  # str: a bare number on the command line
    rows = [_check(number, line, required, non_empty) for number, line in enumerate(lines, start=1)]
    if not rows:
        raise UserError(f"{path} has no rows")
    if all(row.problem for row in rows):
        fields = ", ".join(f"`{field}`" for field in required)
        raise UserError(f"{path} has no usable row (line 1: {rows[0].problem}); each line must be a JSON object "
                        f"with {fields}")
    return rows


def _lines(path: Path) -> list[str]:
    """The file's lines, or a `datasets` directory's rows as JSON lines."""
    if path.is_dir():
        import datasets

        try:
            dataset = datasets.load_from_disk(str(path))
        except FileNotFoundError as err:  # what load_from_disk raises for a directory it cannot read
            raise UserError(f"cannot read {path}: a directory, but not a `datasets` dataset ({err})") from None
        if isinstance(dataset, datasets.DatasetDict):
            raise UserError(f"{path} holds the splits {sorted(dataset)}: name one, e.g. {path / next(iter(dataset))}")
        return [json.dumps(row, ensure_ascii=False) for row in dataset]
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"cannot read {path}: {err}") from None


def report_bad_rows(rows: list[Row]) -> int:
    """One line per bad row on stderr ("line N: bad row: why"), the first REPORTED of them and then how many more;
    returns how many there were."""
    bad = [row for row in rows if row.problem]
    for row in bad[:REPORTED]:
        print(f"line {row.number}: bad row: {row.problem}", file=sys.stderr)
    if len(bad) > REPORTED:
        print(f"... and {len(bad) - REPORTED} more bad rows", file=sys.stderr)
    return len(bad)


def _check(number: int, line: str, required: dict[str, tuple[type, ...]], non_empty: tuple[str, ...]) -> Row:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as err:
        return Row(number, {"raw_line": line}, f"not JSON ({err.msg})")
    if not isinstance(data, dict):
        return Row(number, {"raw_line": line}, "not a JSON object")
    for field, types in required.items():
        value = data.get(field)
        if value is None or isinstance(value, bool) or not isinstance(value, types):
            names = " or ".join("string" if t is str else "number" for t in types)
            return Row(number, data, f"`{field}` is missing or not a {names}")
        if field in non_empty and not str(value).strip():
            return Row(number, data, f"`{field}` is empty")
    return Row(number, data, None)
