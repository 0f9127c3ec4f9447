"""The per-problem history (problem x iteration), diversity and accounting in metrics.jsonl, and the accuracy band
that reads the previous iteration's pass rate from the history."""

import datasets
from conftest import curve_loop

from rest.filters import AccuracyBand
from rest.history import diversity, previous_pass_rates, problem_rows
from rest.records import Sample


def sample(problem, index, completion, correct, iteration=1, kept=False, previous=None):
    return Sample(problem_id=problem, sample_index=index, iteration=iteration, prompt="q", completion=completion,
                  reference="1", finish_reason="stop", num_tokens=3, correct=correct, kept=kept,
                  previous_pass_rate=previous)


def test_rows_count_drawn_correct_kept_and_distinct_correct_per_problem():
    samples = [sample("a", 0, "x", True, kept=True), sample("a", 1, "x", True), sample("a", 2, "y", True),
               sample("a", 3, "z", False), sample("b", 0, "w", False), sample("b", 1, "v", None)]
    rows = {r["problem_id"]: r for r in problem_rows(samples, 1)}
    assert rows["a"] == {"problem_id": "a", "iteration": 1, "drawn": 4, "correct": 3, "kept": 1, "solved": True,
                         "distinct_correct": 2, "pass_rate": 0.75}
    assert (rows["b"]["correct"], rows["b"]["solved"], rows["b"]["pass_rate"]) == (0, False, 0.0)
    stats = diversity(list(rows.values()), {"pass@1": 0.25, "pass@k": 0.5})
    assert stats == {"problems_solved": 1, "distinct_correct_per_solved": 2.0, "pass@k_minus_pass@1": 0.25}


def test_a_rest_step_that_refilters_an_earlier_grow_draws_nothing():
    rows = problem_rows([sample("a", 0, "x", True, iteration=1)], iteration=2)
    assert rows[0]["drawn"] == 0
    assert previous_pass_rates(rows, 3) == {}  # only iterations that grew give a pass rate


def test_the_band_on_previous_rates_reads_the_history_and_falls_back_to_this_grow():
    samples = [sample("easy", 0, "x", True, previous=1.0), sample("easy", 1, "y", False, previous=1.0),
               sample("new", 0, "x", True), sample("new", 1, "y", False)]
    assert {s.problem_id for s in AccuracyBand(0.2, 0.8)(samples)} == {"easy", "new"}
    assert {s.problem_id for s in AccuracyBand(0.2, 0.8, rates="previous")(samples)} == {"new"}


def test_the_loop_keeps_history_diversity_and_accounting(tmp_path, tiny_model):
    metrics = curve_loop(tmp_path, tiny_model, lambda prompt, iteration, j: j == 0 or iteration >= 1,
                         "algorithm.iterations=2")
    history = datasets.load_from_disk(str(tmp_path / "history"))
    assert len(history) == 2 * 8 and set(history["iteration"]) == {1, 2}
    first = history.filter(lambda r: r["iteration"] == 1)
    assert set(first["drawn"]) == {2} and set(first["correct"]) == {1} and set(first["pass_rate"]) == {0.5}
    second = history.filter(lambda r: r["iteration"] == 2)
    assert set(second["correct"]) == {2} and set(second["distinct_correct"]) == {1}  # 2 identical right answers
    for m in metrics[1:]:
        assert m["grown"] == 16 and m["yield"] == m["kept"] / 16 and m["grown_per_kept"] == 16 / m["kept"]
        assert m["tokens_trained"] > 0 and m["tokens_grown"] > 0 and m["problems_solved"] == 8
        assert m["distinct_correct_per_solved"] == 1.0
        assert {"seconds_grow", "seconds_improve", "seconds_train", "seconds_eval", "engine_starts"} <= set(m)
