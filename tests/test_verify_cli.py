"""`python -m rest.verifier IN.jsonl OUT.jsonl`: every row back in order, verdicts added, bad rows flagged."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def verify_cli(tmp_path: Path, lines: list[str], *options: str, module: str = "rest.verifier"
               ) -> tuple[subprocess.CompletedProcess, list[dict]]:
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text("\n".join(lines) + "\n")
    result = subprocess.run([sys.executable, "-m", module, str(source), str(target), *options],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    rows = [json.loads(line) for line in target.read_text().splitlines()] if target.exists() else []
    return result, rows


def test_rows_come_back_in_order_with_their_fields_and_a_verdict(tmp_path):
    rows = [
        {"id": "a", "completion": "so \\boxed{\\frac{1}{2}}", "reference": "0.5", "meta": {"k": 1}},
        {"id": "b", "completion": "12 + 30 = 42\n#### 42", "reference": 42},
        {"id": "c", "completion": "I am not sure.", "reference": "3"},
        {"id": "d", "completion": "The answer is [1,2).", "reference": "$(1,2]$"},
        {"id": "e", "completion": "the answer is \\frac{1}{.", "reference": "2"},
        {"id": "f", "completion": "\\boxed{2003^{2002^{2001}}}", "reference": "1"},
    ]
    result, out = verify_cli(tmp_path, [json.dumps(r) for r in rows], "--timeout", "2")
    assert result.returncode == 0, result.stderr
    assert [{k: r[k] for k in rows[i]} for i, r in enumerate(out)] == rows  # every field kept as it was
    assert [(r["extracted"], r["correct"], r["status"]) for r in out] == [
        ("\\frac{1}{2}", True, "ok"), ("42", True, "ok"), (None, False, "no_answer"), ("[1,2)", False, "ok"),
        ("\\frac{1}{", False, "parse_error"), ("2003^{2002^{2001}}", False, "timeout")]


def test_bad_rows_are_reported_by_line_and_the_rest_still_judged(tmp_path):
    lines = ['{"completion": "#### 7", "reference": "7"}', "not json {", '{"completion": "#### 7"}',
             '["a list"]', '{"completion": 5, "reference": "5"}', '{"completion": "#### 8", "reference": "7"}']
    result, out = verify_cli(tmp_path, lines)
    assert result.returncode == 1
    assert [r["status"] for r in out] == ["ok", "bad_row", "bad_row", "bad_row", "bad_row", "ok"]
    assert [r["correct"] for r in out] == [True, False, False, False, False, False]
    reported = [line for line in result.stderr.splitlines() if line.startswith("line ")]
    assert [line.split(":")[0] for line in reported] == ["line 2", "line 3", "line 4", "line 5"]
    assert all("bad row" in line for line in reported)
    assert out[1]["raw_line"] == "not json {" and "Traceback" not in result.stderr


def test_a_missing_input_file_is_one_line_and_writes_nothing(tmp_path):
    result = subprocess.run([sys.executable, "-m", "rest.verifier", str(tmp_path / "nope.jsonl"), str(tmp_path / "o.jsonl")],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and not (tmp_path / "o.jsonl").exists()
    assert len(result.stderr.strip().splitlines()) == 1 and "nope.jsonl" in result.stderr


@pytest.mark.parametrize(("option", "message"), [
    (("--timeout", "-1"), "verifier.timeout must be > 0 seconds, got -1.0"),
    (("--workers", "-2"), "verifier.workers must be a whole number >= 0"),
])
def test_an_option_the_verifier_refuses_is_one_line_and_writes_nothing(tmp_path, option, message):
    result, rows = verify_cli(tmp_path, [json.dumps({"completion": "#### 2", "reference": "2"})], *option)
    assert result.returncode == 2 and rows == [] and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {message}"), result.stderr


def test_free_form_completions_are_judged_without_flags(tmp_path):
    rows = [
        {"completion": "\\frac{10}{9}", "reference": "10/9"},
        {"completion": "The blocks give $\\boxed{200}$ and $\\boxed{255}$, 10,455 in all.\nFinal Answer: The final "
                       "answer is $10,455$. I hope it is correct.", "reference": "10455"},
        {"completion": "The roots are $\\boxed{-1}$ and $\\boxed{3}$.", "reference": "$3, -1$"},
        {"completion": "It is either $\\boxed{-1}$ or $\\boxed{3}$.", "reference": "3"},
    ]
    result, out = verify_cli(tmp_path, [json.dumps(r) for r in rows], module="rest.verify")
    assert result.returncode == 0, result.stderr
    assert [(r["extracted"], r["correct"]) for r in out] == [
        ("\\frac{10}{9}", True), ("10,455", True), ("-1, 3", True), ("-1, 3", False)]


def test_fallback_none_reads_only_marked_answers(tmp_path):
    lines = [json.dumps({"completion": "-5", "reference": "-5"}), json.dumps({"completion": "#### -5", "reference": "-5"})]
    result, out = verify_cli(tmp_path, lines, "--fallback", "none")
    assert result.returncode == 0, result.stderr
    assert [(r["status"], r["correct"]) for r in out] == [("no_answer", False), ("ok", True)]


@pytest.mark.parametrize(("lines", "message"), [
    (['[{"completion": "#### 2", "reference": "2"}]'], "has no usable row (line 1: not a JSON object)"),
    ([""], "has no usable row (line 1: not JSON"),
    ([], "has no rows"),
])
def test_a_file_with_no_usable_row_is_one_line_and_writes_nothing(tmp_path, lines, message):
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text("".join(line + "\n" for line in lines))
    result = subprocess.run([sys.executable, "-m", "rest.verifier", str(source), str(target)],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and not target.exists(), result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {source} {message}"), line


def test_many_bad_rows_are_reported_up_to_a_limit_and_all_written_back(tmp_path):
    lines = ['{"completion": "#### 7", "reference": "7"}'] + ["not json"] * 30
    result, out = verify_cli(tmp_path, lines)
    reported = [line for line in result.stderr.splitlines() if line.startswith("line ")]
    assert result.returncode == 1 and len(reported) == 20 and "... and 10 more bad rows" in result.stderr
    assert [r["status"] for r in out] == ["ok"] + ["bad_row"] * 30
