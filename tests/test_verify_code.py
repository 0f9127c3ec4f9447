"""`python -m rest.verify_code IN.jsonl OUT.jsonl`: every row back in order with `verdict` and `passed` added, bad
rows flagged by line number, unusable input refused in one line."""

import json
import logging
import subprocess
import sys
from pathlib import Path

import rest.code.asserts
from rest import verify_code

ROOT = Path(__file__).resolve().parents[1]
SQUARE = "```python\ndef square(x):\n    return x * x\n```"
DOUBLE = {"inputs": ["3\n", "4\n"], "outputs": ["6", "8"]}


def verify_code_cli(tmp_path: Path, lines: list[str], *options: str) -> tuple[subprocess.CompletedProcess, list[dict]]:
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text("\n".join(lines) + "\n")
    result = subprocess.run([sys.executable, "-m", "rest.verify_code", str(source), str(target), *options],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    rows = [json.loads(line) for line in target.read_text().splitlines()] if target.exists() else []
    return result, rows


def test_rows_come_back_in_order_with_their_fields_and_a_verdict_for_both_test_styles(tmp_path):
    rows = [
        {"id": "a", "completion": SQUARE, "tests": ["assert square(3) == 9"], "entry_point": "square"},
        {"id": "b", "completion": "def mean(xs): return sum(xs) / len(xs)", "meta": {"k": 1},
         "tests": ["assert math.isclose(mean(DATA), 2)"], "setup": "import math\nDATA = [1, 2, 3]"},
        {"id": "c", "completion": "print(int(input()) * 2)", "tests": DOUBLE},
        {"id": "d", "completion": "print(6)", "tests": DOUBLE},
        {"id": "e", "completion": "```python\ndef square(x):\n    while True: pass\n```",
         "tests": ["assert square(1) == 1"]},
        {"id": "f", "completion": "I cannot write this.", "tests": ["assert square(1) == 1"]},
    ]
    result, out = verify_code_cli(tmp_path, [json.dumps(r) for r in rows], "--workers", "2", "--cpu-seconds", "1",
                                  "--wall-seconds", "30")  # the loop is stopped by its CPU limit
    assert result.returncode == 0, result.stderr
    assert [{k: r[k] for k in rows[i]} for i, r in enumerate(out)] == rows  # every field kept as it was
    assert [(r["verdict"], r["passed"]) for r in out] == [
        ("pass", True), ("pass", True), ("pass", True), ("wrong_answer", False), ("timeout", False),
        ("syntax_error", False)]


def test_bad_rows_are_reported_by_line_and_the_rest_still_judged(tmp_path):
    good = json.dumps({"completion": SQUARE, "tests": ["assert square(2) == 4"]})
    lines = [good, "not json {", json.dumps({"completion": SQUARE}), json.dumps({"completion": SQUARE, "tests": []}),
             json.dumps({"completion": SQUARE, "tests": ["assert square(2) =="]}),
             json.dumps({"completion": SQUARE, "tests": {"inputs": ["1"], "outputs": []}}),
             json.dumps({"completion": 5, "tests": ["assert f()"]}), good]
    result, out = verify_code_cli(tmp_path, lines)
    assert result.returncode == 1
    assert [r["verdict"] for r in out] == ["pass"] + ["bad_row"] * 6 + ["pass"]
    assert [r["passed"] for r in out] == [True] + [False] * 6 + [True]
    reported = [line for line in result.stderr.splitlines() if line.startswith("line ")]
    assert [line.split(":")[0] for line in reported] == [f"line {n}" for n in range(2, 8)]
    assert all("bad row" in line for line in reported) and "not valid Python" in reported[3]
    assert "Traceback" not in result.stderr


def test_a_missing_input_file_is_one_line_and_writes_nothing(tmp_path):
    result = subprocess.run([sys.executable, "-m", "rest.verify_code", str(tmp_path / "nope.jsonl"),
                             str(tmp_path / "o.jsonl")], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and not (tmp_path / "o.jsonl").exists()
    assert len(result.stderr.strip().splitlines()) == 1 and "nope.jsonl" in result.stderr


def test_a_row_the_sandbox_could_not_run_has_a_null_verdict(tmp_path, monkeypatch, caplog):
    def broken(source, stdin, limits):
        raise OSError("prlimit: not found")
    monkeypatch.setattr(rest.code.asserts, "run_python", broken)
    (tmp_path / "in.jsonl").write_text(json.dumps({"completion": SQUARE, "tests": ["assert square(2) == 4"]}) + "\n")
    with caplog.at_level(logging.INFO):
        assert verify_code.main([str(tmp_path / "in.jsonl"), str(tmp_path / "out.jsonl"), "--workers", "1"]) == 0
    row = json.loads((tmp_path / "out.jsonl").read_text())
    assert row["verdict"] is None and row["passed"] is False
    assert "1 not judged (sandbox failure)" in caplog.text
