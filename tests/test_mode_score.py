"""`python run.py mode=score`: every row back in order with its score; bad rows flagged, the rest scored."""

import json
import os
import subprocess
import sys
from pathlib import Path

import datasets
import pytest
from conftest import config, run_in_process
from fakes import LengthScorer, Stopping

from rest.artifacts import sha256_of
from rest.config import build
from rest.errors import UserError
from rest.modes.score import Score
from rest.rows import read_rows
from rest.run import Run, execute

ROOT = Path(__file__).resolve().parents[1]


def score_file(tmp_path: Path, lines: list[str], *overrides: str) -> tuple[subprocess.CompletedProcess, list[dict]]:
    """`python run.py mode=score` on `lines`: the command's result and the rows it wrote."""
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text("\n".join(lines) + "\n")
    result = subprocess.run([sys.executable, str(ROOT / "run.py"), "mode=score", f"mode.input={source}", f"mode.output={target}",
                             f"hydra.run.dir={tmp_path / 'run'}", *overrides],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    return result, written_rows(target)


def score_rows(directory: Path, source: Path | list[str], *overrides: str) -> tuple[str, list[dict]]:
    """mode=score's job in this process on `source` (a path, or the lines of a JSONL file to write): what it logged
    and the rows it wrote."""
    if isinstance(source, list):
        (directory / "in.jsonl").write_text("\n".join(source) + "\n")
        source = directory / "in.jsonl"
    target = directory / "out.jsonl"
    log = run_in_process(directory / "run", "mode=score", f"mode.input={source}", f"mode.output={target}", *overrides)
    return log, written_rows(target)


def written_rows(target: Path) -> list[dict]:
    return [json.loads(line) for line in target.read_text().splitlines()] if target.exists() else []


def test_endogenous_scores_rows_and_reports_bad_ones_by_line(tmp_path, tiny_model):
    lines = [json.dumps({"id": 1, "prompt": "Q: 1+2?\nA:", "completion": " 3"}),
             "{not json",
             json.dumps({"id": 3, "prompt": "Q: 2+2?\nA:", "completion": ""}),
             json.dumps({"id": 4, "completion": " 4"}),
             json.dumps({"id": 5, "prompt": "Q: 2+2?\nA:", "completion": " 4\n#### 4"})]
    result, rows = score_file(tmp_path, lines, "scorer=endogenous", f"scorers.endogenous.model={tiny_model}",
                              "scorers.endogenous.keep_token_rewards=true")
    assert result.returncode == 1, result.stderr[-2000:]
    assert [r.get("id") for r in rows] == [1, None, 3, 4, 5] and rows[1]["raw_line"] == "{not json"
    assert [r["score_endogenous"] is None for r in rows] == [False, True, True, True, False]
    assert [r.get("error", "").split(" ")[0] for r in rows] == ["", "not", "`completion`", "`prompt`", ""]
    assert len(rows[4]["token_rewards"]) == len(" 4\n#### 4")
    assert rows[4]["score_endogenous"] == pytest.approx(sum(rows[4]["token_rewards"]))
    reported = [line.split(":")[0] for line in result.stderr.splitlines() if line.startswith("line ")]
    assert reported == ["line 2", "line 3", "line 4"] and "Traceback" not in result.stderr


def test_the_verifier_cannot_judge_a_row_without_a_reference(tmp_path):
    lines = [json.dumps({"prompt": "q", "completion": "#### 3", "reference": 3}),
             json.dumps({"prompt": "q", "completion": "#### 3"}),
             json.dumps({"prompt": "q", "completion": "no idea", "reference": "3"})]
    log, rows = score_rows(tmp_path, lines, "scorer=exact_answer")
    assert [(r["score_exact_answer"], r.get("status")) for r in rows] == [(1.0, "ok"), (None, None), (None, "no_answer")]
    assert "2 of 3 samples could not be scored by exact_answer" in log
    assert "verifier: 1 of 3 samples have no reference" in log  # says why


def test_free_form_answers_are_judged_without_overrides(tmp_path):
    lines = [json.dumps({"prompt": "q", "completion": "-3", "reference": "-3"}),
             json.dumps({"prompt": "q", "completion": "Adding up, $\\boxed{2}$ and $\\boxed{5}$, so 7 in all.\n"
                                                      "Final Answer: The final answer is $7$.", "reference": "7"}),
             json.dumps({"prompt": "q", "completion": "The total comes to $12$ apples.", "reference": "21"})]
    rows = score_rows(tmp_path, lines, "scorer=exact_answer")[1]
    assert [(r["extracted"], r["score_exact_answer"]) for r in rows] == [("-3", 1.0), ("7", 1.0), ("12", 0.0)]


def test_a_datasets_directory_scores_as_the_same_rows_in_jsonl_would(tmp_path):
    """mode=generate's `dataset` directory (or any save_to_disk) is input too."""
    rows = [{"prompt": "q", "completion": "#### 3", "reference": "3"}, {"prompt": "q", "completion": "#### 4", "reference": "3"}]
    directory = tmp_path / "dir"
    datasets.Dataset.from_list(rows).save_to_disk(str(directory / "dataset"))
    from_jsonl = score_rows(tmp_path, [json.dumps(r) for r in rows], "scorer=exact_answer")[1]
    from_directory = score_rows(directory, directory / "dataset", "scorer=exact_answer")[1]
    assert from_directory == from_jsonl and [r["score_exact_answer"] for r in from_directory] == [1.0, 0.0]


def test_a_directory_that_is_not_a_dataset_or_holds_several_splits_is_one_line(tmp_path):
    with pytest.raises(UserError, match=f"^cannot read {tmp_path}: a directory, but not a `datasets` dataset"):
        read_rows(tmp_path, {"prompt": (str,)})
    splits = datasets.DatasetDict({"train": datasets.Dataset.from_list([{"prompt": "q"}])})
    splits.save_to_disk(str(tmp_path / "splits"))
    with pytest.raises(UserError, match=rf"^{tmp_path}/splits holds the splits \['train'\]: name one, e.g. "
                                        f"{tmp_path}/splits/train$"):
        read_rows(tmp_path / "splits", {"prompt": (str,)})


def test_a_directorys_hash_changes_with_any_of_its_files(tmp_path):
    datasets.Dataset.from_list([{"prompt": "q"}]).save_to_disk(str(tmp_path / "a"))
    datasets.Dataset.from_list([{"prompt": "r"}]).save_to_disk(str(tmp_path / "b"))
    assert sha256_of(tmp_path / "a") == sha256_of(tmp_path / "a") != sha256_of(tmp_path / "b")


def test_missing_input_is_one_line(tmp_path):
    with pytest.raises(UserError, match="^mode=score needs mode.input=IN.jsonl and mode.output=OUT.jsonl"):
        execute(config("mode=score"), tmp_path)


def test_implicit_prm_scores_with_step_rewards(tmp_path, tiny_model):
    lines = [json.dumps({"prompt": "Compute 3 + 4.\n", "completion": "3 + 4 = 7\n\n#### 7"})]
    rows = score_rows(tmp_path, lines, "scorer=implicit_prm", f"scorers.implicit_prm.ref_model={tiny_model}",
                      "scorers.implicit_prm.aggregation=sum", "scorers.implicit_prm.keep_step_rewards=true")[1]
    score = rows[0]["score_implicit_prm"]
    assert len(rows[0]["step_rewards"]) == 2 and score == pytest.approx(sum(rows[0]["step_rewards"]))
    assert score != 0.0  # pi_phi (the committed base model) differs from pi_ref (a random tiny model)


def test_code_rows_are_judged_by_their_tests_and_bad_tests_are_bad_rows(tmp_path):
    lines = [json.dumps({"prompt": "q", "completion": "```python\ndef f(x):\n    return 2 * x\n```",
                         "tests": ["assert f(2) == 4"], "entry_point": "f"}),
             json.dumps({"prompt": "q", "completion": "print(int(input()) + 1)",
                         "tests": {"inputs": ["1\n"], "outputs": ["3"]}}),
             json.dumps({"prompt": "q", "completion": "def f(x): return x", "tests": ["assert f(1 == 1"]})]
    result, rows = score_file(tmp_path, lines, "task=code")
    assert result.returncode == 1, result.stderr[-2000:]
    assert [r["score_code_tests"] for r in rows] == [1.0, 0.0, None]
    assert [r.get("status") for r in rows] == ["pass", "wrong_answer", None] and "reference" not in rows[0]
    assert "line 3: bad row: `tests`: test is not valid Python" in result.stderr


def score_in_process(tmp_path: Path, scorer, *overrides: str) -> int:
    cfg = config("mode=score", f"mode.input={tmp_path / 'in.jsonl'}", f"mode.output={tmp_path / 'out.jsonl'}",
                 "mode.chunk_size=2", *overrides)
    mode = build(cfg.mode, _recursive_=False, _convert_="all")
    with Run(cfg, tmp_path / "run") as run:
        run.scorers = {"length": scorer}
        return mode.run(run)


def test_a_killed_score_run_scores_only_the_rest_and_writes_what_an_uninterrupted_one_writes(tmp_path):
    rows = [{"id": i, "prompt": "q", "completion": "x" * i} for i in range(1, 6)] + [{"id": 6, "prompt": "q"}]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert score_in_process(tmp_path, LengthScorer()) == 1  # the row without a completion is bad
    uninterrupted = (tmp_path / "out.jsonl").read_text()
    (tmp_path / "out.jsonl").unlink()
    with pytest.raises(KeyboardInterrupt):
        score_in_process(tmp_path, Stopping(stop_at=3))  # chunks of 2, 2, 1 good rows: killed in the third
    assert sorted(path.name for path in (tmp_path / "out.jsonl.parts").iterdir()) == ["00000.jsonl", "00001.jsonl",
                                                                                       "plan.json"]
    resumed = Stopping()
    assert score_in_process(tmp_path, resumed) == 1
    assert resumed.calls == [1] and (tmp_path / "out.jsonl").read_text() == uninterrupted
    assert not (tmp_path / "out.jsonl.parts").exists()


def test_kept_chunks_of_another_input_or_setting_are_scored_again(tmp_path):
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"prompt": "q", "completion": "x" * i}) + "\n"
                                               for i in range(1, 4)))
    with pytest.raises(KeyboardInterrupt):
        score_in_process(tmp_path, Stopping(stop_at=2))
    again = Stopping()
    score_in_process(tmp_path, again, "verifier.rel_tol=0.01")
    assert again.calls == [2, 1]


def test_a_chunk_size_that_is_not_a_whole_number_is_one_line(tmp_path):
    (tmp_path / "in.jsonl").write_text(json.dumps({"prompt": "q", "completion": "a"}) + "\n")
    with pytest.raises(UserError, match="^mode.chunk_size must be a whole number >= 1, got 0$"):
        score_in_process(tmp_path, LengthScorer(), "mode.chunk_size=0")
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize("output, message", [
    ("{tmp}/in.jsonl", "mode.output is mode.input ({tmp}/in.jsonl): name another file"),
    ("{tmp}", "mode.output={tmp}: it is a directory"),
    ("{tmp}/in.jsonl/out.jsonl", "mode.output={tmp}/in.jsonl/out.jsonl: cannot create it, {tmp}/in.jsonl is a file"),
    ("/proc/out.jsonl", "mode.output=/proc/out.jsonl: cannot create it in /proc ("),
])
def test_an_output_that_cannot_be_written_or_would_replace_the_input_is_one_line_before_any_scoring(
        tmp_path, output, message):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"prompt": "q", "completion": "a"}) + "\n")
    with pytest.raises(UserError) as err:
        Score(input=str(source), output=output.format(tmp=tmp_path), chunk_size=8).check_paths()
    assert str(err.value).startswith(message.format(tmp=tmp_path)), err.value


def test_an_output_beside_its_input_passes_the_check(tmp_path):
    Score(input=str(tmp_path / "in.jsonl"), output=str(tmp_path / "new" / "out.jsonl"), chunk_size=8).check_paths()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the Ctrl-C Python dropped
def test_a_ctrl_c_that_python_swallowed_stops_the_score_run_before_the_next_chunk(tmp_path, no_stop_signal_yet):
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"prompt": "q", "completion": "x" * i}) + "\n"
                                               for i in range(1, 6)))
    swallowed = Stopping(stop_at=2, swallowed=True)  # chunks of 2, 2, 1: the second chunk's Ctrl-C is dropped
    with pytest.raises(KeyboardInterrupt):
        score_in_process(tmp_path, swallowed)
    assert swallowed.calls == [2, 2] and not (tmp_path / "out.jsonl").exists()
    assert sorted(path.name for path in (tmp_path / "out.jsonl.parts").iterdir()) == ["00000.jsonl", "00001.jsonl",
                                                                                       "plan.json"]


def test_rows_with_characters_beyond_ascii_are_written_whatever_the_locale(tmp_path):
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text(json.dumps({"prompt": "Combien font 3 × 4 ? Réponds.", "completion": "#### 12", "reference": "12"},
                                 ensure_ascii=False) + "\n", encoding="utf-8")
    ascii_locale = {**os.environ, "LC_ALL": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"}  # a bare cluster node
    result = subprocess.run([sys.executable, str(ROOT / "run.py"), "mode=score", f"mode.input={source}",
                             f"mode.output={target}", f"hydra.run.dir={tmp_path / 'run'}", "scorer=exact_answer"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300, env=ascii_locale)
    assert result.returncode == 0, result.stderr[-2000:]  # once: UnicodeEncodeError writing the rows
    row = json.loads(target.read_text(encoding="utf-8"))
    assert row["prompt"] == "Combien font 3 × 4 ? Réponds." and row["score_exact_answer"] == 1.0
