"""DPO preference pairs (rest/pairs.py): chosen verified correct against rejected wrong, or best-scored against
worst-scored, distinct completions, a cap per problem; written as a dataset that TRL's DPOTrainer trains on."""

import json
import subprocess
import sys

import datasets
import pytest
from conftest import ROOT

from rest.artifacts import STATS, read_json
from rest.pairs import Pairs, preference_pairs, write_pairs
from rest.records import Sample


def sample(problem: str, index: int, completion: str, correct: bool | None = None, **scores) -> Sample:
    return Sample(problem_id=problem, sample_index=index, iteration=0, prompt=f"Problem {problem}: 2+2=",
                  completion=completion, reference="4", finish_reason="stop", num_tokens=2, correct=correct,
                  scores=scores)


MIXED = [sample("a", 0, " 4", True), sample("a", 1, " 5", False), sample("a", 2, " 4.0", True),
         sample("a", 3, " 6", False), sample("a", 4, " ?", None), sample("b", 0, " 3", False),
         sample("b", 1, " 4", True)]


def by_key(samples: list[Sample]) -> dict:
    return {(s.problem_id, s.sample_index): s for s in samples}


def test_each_chosen_is_verified_correct_and_each_rejected_is_wrong():
    pairs = preference_pairs(MIXED, "verifier", 4)
    samples = by_key(MIXED)
    assert len(pairs) == 3
    for pair in pairs:
        chosen, rejected = samples[pair["problem_id"], pair["chosen_index"]], samples[pair["problem_id"],
                                                                                      pair["rejected_index"]]
        assert chosen.correct is True and rejected.correct is False
        assert (pair["prompt"], pair["chosen"], pair["rejected"]) == (chosen.prompt, chosen.completion,
                                                                      rejected.completion)
        assert (pair["chosen_score"], pair["rejected_score"]) == (1.0, 0.0)


def test_a_problem_with_only_correct_or_only_wrong_samples_gives_no_pair_and_is_counted():
    samples = [sample("right", 0, " 4", True), sample("right", 1, " four", True), sample("wrong", 0, " 5", False),
               sample("wrong", 1, " 6", False), sample("unjudged", 0, " 4", None), sample("unjudged", 1, " 5", False),
               *MIXED]
    pairs = preference_pairs(samples, "verifier", 4)
    assert {p["problem_id"] for p in pairs} == {"a", "b"}
    assert pairs.without == {"no_wrong": 1, "no_correct": 2}


def test_duplicate_completions_are_not_paired_twice():
    samples = [sample("a", i, " 4", True) for i in range(3)] + [sample("a", 3 + i, " 5", False) for i in range(3)]
    samples.append(sample("a", 6, " 6", False))
    pairs = preference_pairs(samples, "verifier", 4)
    assert [(p["chosen"], p["rejected"]) for p in pairs] == [(" 4", " 5")]
    assert (pairs[0]["chosen_index"], pairs[0]["rejected_index"]) == (0, 3)


def test_at_most_the_cap_of_pairs_per_problem():
    samples = [sample("a", i, f" 4{' ' * i}", True) for i in range(5)] + \
              [sample("a", 5 + i, f" {5 + i}", False) for i in range(5)] + MIXED[5:]
    assert [p["problem_id"] for p in preference_pairs(samples, "verifier", 2)] == ["a", "a", "b"]
    assert len(preference_pairs(samples, "verifier", 10)) == 6


def test_scorer_pairs_put_the_best_against_the_worst_and_skip_unscored():
    samples = [sample("a", 0, " w", rm=0.5), sample("a", 1, " x", rm=None), sample("a", 2, " y", rm=0.9),
               sample("a", 3, " z", rm=-1.0), sample("a", 4, " v", rm=0.7), sample("tie", 0, " p", rm=0.3),
               sample("tie", 1, " q", rm=0.3), sample("tie", 2, " r", rm=None), sample("one", 0, " s", rm=1.0)]
    pairs = preference_pairs(samples, "rm", 4)
    assert [(p["chosen"], p["rejected"]) for p in pairs] == [(" y", " z"), (" v", " w")]
    assert [(p["chosen_score"], p["rejected_score"]) for p in pairs] == [(0.9, -1.0), (0.7, 0.5)]
    assert pairs.without == {"all_scored_alike": 1, "fewer_than_two_scored": 1}
    assert len(preference_pairs(samples, "rm", 1)) == 1


def test_written_pairs_load_as_a_preference_dataset_that_dpo_trains_on(tmp_path, tiny_model):
    from trl import DPOConfig, DPOTrainer
    from trl.data_utils import is_conversational, maybe_extract_prompt

    write_pairs(tmp_path / "pairs", preference_pairs(MIXED + [sample("c", 0, " 4", True)], "verifier", 4))
    table = datasets.load_from_disk(str(tmp_path / "pairs"))
    assert isinstance(table, datasets.Dataset) and {"prompt", "chosen", "rejected"} <= set(table.column_names)
    assert read_json(tmp_path / "pairs" / STATS) == {"pairs": 3, "problems_with_pair": 2, "problems_without_pair": 1,
                                                     "problems_without_pair_no_wrong": 1}
    assert not is_conversational(table[0]) and maybe_extract_prompt(table[0]) == table[0]
    args = DPOConfig(output_dir=str(tmp_path / "dpo"), report_to="none", max_steps=1, per_device_train_batch_size=3,
                     save_strategy="no", use_cpu=True)
    trainer = DPOTrainer(model=tiny_model, args=args, train_dataset=table)
    row = trainer.train_dataset[0]
    assert row["prompt_ids"] and row["chosen_ids"] and row["rejected_ids"] and row["chosen_ids"] != row["rejected_ids"]
    assert trainer.train().global_step == 1


def test_no_pairs_still_write_a_loadable_dataset(tmp_path):
    write_pairs(tmp_path / "pairs", preference_pairs([sample("a", 0, " 5", False)], "verifier", 4))
    table = datasets.load_from_disk(str(tmp_path / "pairs"))
    assert len(table) == 0 and {"prompt", "chosen", "rejected"} <= set(table.column_names)
    assert json.loads((tmp_path / "pairs" / STATS).read_text())["problems_without_pair"] == 1


def test_a_plain_list_of_pairs_is_written_too(tmp_path):
    pairs = list(preference_pairs(MIXED, "verifier", 4))
    write_pairs(tmp_path / "pairs", pairs)
    assert not isinstance(pairs, Pairs) and len(datasets.load_from_disk(str(tmp_path / "pairs"))) == 3


def test_a_bad_pairs_by_is_one_line_naming_the_choices_before_any_work(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "run.py"), "mode=generate", "mode.pairs=true",
                             "mode.pairs_by=nope", f"hydra.run.dir={tmp_path / 'run'}"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1, lines
    assert "mode.pairs_by='nope'" in lines[0] and "verifier, exact_answer" in lines[0], lines[0]


@pytest.mark.parametrize("cap", [0, -1])
def test_a_cap_below_one_is_refused(cap):
    from rest.errors import UserError

    with pytest.raises(UserError, match="at least 1"):
        preference_pairs(MIXED, "verifier", cap)


def test_the_loop_writes_each_grows_pairs_when_asked(tmp_path, tiny_model):
    import datasets
    from conftest import curve_loop

    metrics = curve_loop(tmp_path, tiny_model, lambda prompt, iteration, j: j == 0, "mode.pairs=true",
                         "algorithm.iterations=2")
    assert [m["iteration"] for m in metrics] == [0, 1, 2]
    for iteration in (1, 2):
        pairs = datasets.load_from_disk(str(tmp_path / f"iter_{iteration}" / "pairs"))
        assert len(pairs) == 8  # every pool problem: its right sample against its wrong one
        # CurveSampler's wrong answer is the right one + 1: each chosen is the right one
        assert all(int(r.split()[-1]) == int(c.split()[-1]) + 1 for c, r in zip(pairs["chosen"], pairs["rejected"]))
