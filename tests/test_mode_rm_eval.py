"""`python run.py mode=rm_eval`: (a) pairwise accuracy on an RM-Bench-style file, (b) best-of-N on the task."""

import json
import subprocess
import sys
from pathlib import Path

import datasets
import pytest
from conftest import config, run_in_process
from fakes import CurveSampler, LengthScorer, ScriptedSampler, Stopping

from rest.config import build
from rest.run import Run

ROOT = Path(__file__).resolve().parents[1]


def rm_eval(run_dir: Path, *overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "run.py"), "mode=rm_eval", f"hydra.run.dir={run_dir}", *overrides],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("form", ["jsonl", "datasets"])  # a file, or a directory as a run's DPO pairs are written
def test_pairs_file_gives_accuracy_per_scorer_and_domain(tmp_path, tiny_model, form, capfd):
    """The file as a run.py run; the directory in this process (the same job)."""
    rows = [{"prompt": "Q: 1+2?\nA:", "chosen": " 3", "rejected": " 4 and some more words", "domain": "math"},
            {"prompt": "Say hi.", "chosen": " hi", "rejected": " hello there, friend"},  # no domain
            {"prompt": "Say hi.", "chosen": "", "rejected": " x", "domain": "chat"}]
    pairs = tmp_path / "pairs.jsonl"
    if form == "jsonl":
        pairs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        datasets.Dataset.from_list(rows).save_to_disk(str(pairs))
    if form == "jsonl":
        result = rm_eval(tmp_path / "run", f"mode.pairs={pairs}", f"mode.policy={tiny_model}")
        assert result.returncode == 1
        stderr = result.stderr
    else:  # exit status 1 asserted by run_in_process
        run_in_process(tmp_path / "run", "mode=rm_eval", f"mode.pairs={pairs}", f"mode.policy={tiny_model}", status=1)
        stderr = capfd.readouterr().err
    assert "line 3: bad row: `chosen` is empty" in stderr  # the bad row is skipped
    report = json.loads((tmp_path / "run" / "rm_eval.json").read_text())
    assert report["pairs"] == 2 and set(report["scorers"]) == {"endogenous_sum", "endogenous_mean"}
    for scores in report["scorers"].values():
        assert set(scores["by_domain"]) == {"math", "(no domain)"} and 0 <= scores["accuracy"] <= 1
    # a random tiny model gives longer completions lower summed log-probs: the shorter chosen answers win
    assert report["scorers"]["endogenous_sum"]["accuracy"] == 1.0
    assert "| scorer | accuracy | (no domain) | math |" in (tmp_path / "run" / "rm_eval.md").read_text()
    assert "| endogenous_sum |" in (tmp_path / "run" / "rm_eval.md").read_text()


def test_best_of_n_on_the_task_reports_every_method(tmp_path):
    run_in_process(tmp_path, "mode=rm_eval", "mode.limit=6", "mode.n=4", "mode.best_of=[2,4]")
    report = json.loads((tmp_path / "rm_eval.json").read_text())
    assert report["problems"] == 6 and set(report["best_of"]) == {"2", "4"}
    for row in report["best_of"].values():
        assert set(row) == {"random", "majority", "endogenous_sum", "endogenous_mean", "oracle"}
        assert all(0 <= v <= row["oracle"] for k, v in row.items() if k != "majority")
    samples = [json.loads(line) for line in (tmp_path / "rm_eval_samples.jsonl").read_text().splitlines()]
    assert len(samples) == 24 and all(s["score_endogenous_sum"] is not None for s in samples)
    problems = {s["problem_id"] for s in samples}
    pass_at_4 = sum(any(s["correct"] for s in samples if s["problem_id"] == p) for p in problems) / len(problems)
    assert report["best_of"]["4"]["oracle"] == pass_at_4


def rm_eval_in_process(run_dir: Path, tiny_model: str, scorers: dict, *overrides: str) -> int:
    """mode=rm_eval (b): 3 test problems x 4 fakes.CurveSampler samples (every other one right), scored by
    `scorers`, named as mode.scorers names them."""
    CurveSampler.right = staticmethod(lambda prompt, iteration, j: j % 2 == 0)
    cfg = config("mode=rm_eval", f"model.path={tiny_model}", f"mode.policy={tiny_model}", "task.sizes.test=3",
                 "mode.n=4", "mode.best_of=[2,4]", "sampler.engine._target_=fakes.CurveSampler", *overrides)
    mode = build(cfg.mode, _recursive_=False, _convert_="all")
    with Run(cfg, run_dir) as run:
        run.build_scorers = lambda settings, key: scorers
        return mode.run(run)


def outputs(run_dir: Path) -> dict[str, str]:
    return {name: (run_dir / name).read_text() for name in ("rm_eval.json", "rm_eval.md", "rm_eval_samples.jsonl")}


def test_a_killed_best_of_n_rerun_samples_nothing_skips_finished_scorers_and_writes_the_same(tmp_path, tiny_model):
    whole = {"endogenous_sum": LengthScorer(), "endogenous_mean": LengthScorer()}
    assert rm_eval_in_process(tmp_path / "whole", tiny_model, whole) == 0
    with pytest.raises(KeyboardInterrupt):
        rm_eval_in_process(tmp_path / "run", tiny_model, {"endogenous_sum": Stopping(), "endogenous_mean": Stopping(1)})
    kept = sorted(path.name for path in (tmp_path / "run" / "rm_eval.parts").iterdir())
    assert kept == ["plan.json", "samples.jsonl", "scored.json"]
    ScriptedSampler.calls.clear()
    first, second = Stopping(), Stopping()
    assert rm_eval_in_process(tmp_path / "run", tiny_model, {"endogenous_sum": first, "endogenous_mean": second}) == 0
    assert ScriptedSampler.calls == [] and first.calls == [] and second.calls == [12]
    assert outputs(tmp_path / "run") == outputs(tmp_path / "whole")
    assert not (tmp_path / "run" / "rm_eval.parts").exists()


def test_kept_samples_and_scores_of_other_settings_are_made_again(tmp_path, tiny_model):
    with pytest.raises(KeyboardInterrupt):
        rm_eval_in_process(tmp_path, tiny_model, {"endogenous_sum": LengthScorer(), "endogenous_mean": Stopping(1)})
    ScriptedSampler.calls.clear()
    changed, same = Stopping(), Stopping()
    with pytest.raises(KeyboardInterrupt):  # another setting of a finished scorer: every score is made again
        rm_eval_in_process(tmp_path, tiny_model, {"endogenous_sum": changed, "endogenous_mean": Stopping(1)},
                           "mode.scorers.endogenous_sum.alpha=0.5")
    assert ScriptedSampler.calls == [] and changed.calls == [12]
    with pytest.raises(KeyboardInterrupt):
        rm_eval_in_process(tmp_path, tiny_model, {"endogenous_sum": same, "endogenous_mean": Stopping(1)},
                           "mode.scorers.endogenous_sum.alpha=0.5", "verifier.rel_tol=0.01")
    assert ScriptedSampler.calls == [4] and same.calls == [12]  # another verifier: sampled and judged again


def test_a_killed_pairs_rerun_skips_finished_scorers_and_a_changed_file_is_scored_again(tmp_path, tiny_model):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"prompt": "q", "chosen": "x" * i, "rejected": "y" * (5 - i)}) + "\n"
                             for i in range(1, 5)))
    whole = {"endogenous_sum": LengthScorer(), "endogenous_mean": LengthScorer()}
    assert rm_eval_in_process(tmp_path / "whole", tiny_model, whole, f"mode.pairs={pairs}") == 0
    with pytest.raises(KeyboardInterrupt):
        rm_eval_in_process(tmp_path / "run", tiny_model, {"endogenous_sum": Stopping(), "endogenous_mean": Stopping(1)},
                           f"mode.pairs={pairs}")
    first, second = Stopping(), Stopping()
    assert rm_eval_in_process(tmp_path / "run", tiny_model, {"endogenous_sum": first, "endogenous_mean": second},
                              f"mode.pairs={pairs}") == 0
    assert first.calls == [] and second.calls == [8]
    for name in ("rm_eval.json", "rm_eval.md"):
        assert (tmp_path / "run" / name).read_text() == (tmp_path / "whole" / name).read_text()
    assert not (tmp_path / "run" / "rm_eval.parts").exists()
    with pytest.raises(KeyboardInterrupt):
        rm_eval_in_process(tmp_path / "again", tiny_model, {"endogenous_sum": Stopping(), "endogenous_mean": Stopping(1)},
                           f"mode.pairs={pairs}")
    pairs.write_text(pairs.read_text() + json.dumps({"prompt": "q", "chosen": "z", "rejected": "zz"}) + "\n")
    again = Stopping()
    with pytest.raises(KeyboardInterrupt):
        rm_eval_in_process(tmp_path / "again", tiny_model, {"endogenous_sum": again, "endogenous_mean": Stopping(1)},
                           f"mode.pairs={pairs}")
    assert again.calls == [10]  # another file: its pairs, every scorer again
