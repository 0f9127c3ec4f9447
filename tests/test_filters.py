import pytest

from rest.errors import UserError
from rest.filters import (
    AccuracyBand,
    ArithmeticStepsHold,
    CapPerProblem,
    Chain,
    DropDuplicates,
    DropTruncated,
    DropUnanimous,
    KeepCorrect,
    LengthBounds,
    Threshold,
    TopKPerProblem,
)
from rest.records import Sample


def sample(problem_id: str, index: int, completion: str = "x", correct: bool = True) -> Sample:
    return Sample(problem_id=problem_id, sample_index=index, iteration=1, prompt="p", completion=completion,
                  reference="1", finish_reason="stop", num_tokens=1, correct=correct)


def keys(samples):
    return [(s.problem_id, s.sample_index) for s in samples]


def test_keep_correct_drops_wrong_and_unscored_samples():
    samples = [sample("a", 0, correct=True), sample("a", 1, correct=False), sample("a", 2, correct=None)]
    assert keys(KeepCorrect()(samples)) == [("a", 0)]


def test_cap_keeps_at_most_cap_per_problem_in_order():
    samples = [sample(p, i) for i in range(5) for p in ("a", "b")] + [sample("c", 0)]
    kept = CapPerProblem(cap=2)(samples)
    assert keys(kept) == [("a", 0), ("b", 0), ("a", 1), ("b", 1), ("c", 0)]


def test_no_cap_keeps_every_sample():
    samples = [sample(p, i) for i in range(12) for p in ("a", "b")]
    assert keys(CapPerProblem(cap=None)(samples)) == keys(samples)


def test_cap_must_be_positive():
    with pytest.raises(UserError, match="cap"):
        CapPerProblem(cap=0)


@pytest.mark.parametrize("make", [lambda: CapPerProblem(cap=2.5), lambda: CapPerProblem(cap=True),
                                  lambda: TopKPerProblem("reward", k=2.5)])
def test_a_cap_or_k_that_is_no_whole_number_is_refused_rather_than_rounded_or_failing_in_improve(make):
    with pytest.raises(UserError, match="must be a whole number >= 1"):
        make()


def test_dedup_drops_repeated_completions_of_the_same_problem_only():
    samples = [sample("a", 0, "same"), sample("a", 1, "same"), sample("a", 2, "other"), sample("b", 0, "same")]
    assert keys(DropDuplicates()(samples)) == [("a", 0), ("a", 2), ("b", 0)]


def test_chain_applies_filters_in_order():
    samples = [sample("a", 0, "s", correct=False), sample("a", 1, "s"), sample("a", 2, "s"), sample("a", 3, "t")]
    # Dedup before KeepCorrect would keep only the (wrong) first "s" and lose index 1.
    assert keys(Chain([KeepCorrect(), DropDuplicates(), CapPerProblem(2)])(samples)) == [("a", 1), ("a", 3)]
    assert keys(Chain([DropDuplicates(), KeepCorrect()])(samples)) == [("a", 3)]


def scored(problem_id: str, index: int, value) -> Sample:
    s = sample(problem_id, index)
    s.scores["endogenous"] = value
    return s


def test_threshold_keeps_scores_at_or_above_the_minimum_and_drops_unscored():
    samples = [scored("a", 0, -1.0), scored("a", 1, 0.5), scored("a", 2, None), scored("b", 0, 2.0)]
    assert keys(Threshold(0.5, score="endogenous")(samples)) == [("a", 1), ("b", 0)]
    assert keys(Threshold(None, score="endogenous")(samples)) == keys(samples)


def test_top_k_keeps_the_best_per_problem_in_input_order():
    samples = [scored("a", 0, 1.0), scored("b", 0, 5.0), scored("a", 1, 3.0), scored("a", 2, 3.0),
               scored("a", 3, None), scored("b", 1, 4.0)]
    assert keys(TopKPerProblem("endogenous", 2)(samples)) == [("b", 0), ("a", 1), ("a", 2), ("b", 1)]
    assert keys(TopKPerProblem("endogenous", 1)(samples)) == [("b", 0), ("a", 1)]  # a tie goes to the earlier


def test_a_filter_on_a_score_no_scorer_gave_is_a_user_error():
    with pytest.raises(UserError, match="no sample has a 'prm' score"):
        TopKPerProblem("prm", 1)([scored("a", 0, 1.0)])


def rewarded(problem_id: str, index: int, reward, correct=True, completion="x", tokens=1, finish="stop") -> Sample:
    s = sample(problem_id, index, completion=completion, correct=correct)
    s.reward, s.num_tokens, s.finish_reason = reward, tokens, finish
    return s


def test_threshold_on_the_normalised_reward_and_its_range():
    samples = [rewarded("a", 0, 0.2), rewarded("a", 1, 0.7), rewarded("a", 2, None), rewarded("b", 0, 0.9)]
    assert keys(Threshold(0.7)(samples)) == [("a", 1), ("b", 0)]
    assert keys(Threshold(0.0)(samples)) == [("a", 0), ("a", 1), ("b", 0)]
    for bad in (-0.1, 1.5):
        with pytest.raises(UserError, match=r"filter.threshold must be in \[0, 1\]"):
            Threshold(bad)


def test_threshold_as_a_per_problem_quantile():
    samples = [rewarded("a", i, r) for i, r in enumerate([0.1, 0.2, 0.3, 0.4, 0.5])] + [rewarded("b", 0, 0.05)]
    assert keys(Threshold(0.5, per_problem_quantile=True)(samples)) == [("a", 2), ("a", 3), ("a", 4), ("b", 0)]
    assert keys(Threshold(1.0, per_problem_quantile=True)(samples)) == [("a", 4), ("b", 0)]


def test_normalised_dedup_ignores_whitespace_and_number_formatting():
    samples = [rewarded("a", 0, 1, completion="1,000 + 2.50 = 1002.5"), rewarded("a", 1, 1, completion="1000 +  2.5 = 1002.50"),
               rewarded("a", 2, 1, completion="1000 + 2.5 = 1003"), rewarded("b", 0, 1, completion="1000 + 2.5 = 1002.5")]
    assert keys(DropDuplicates(normalized=True)(samples)) == [("a", 0), ("a", 2), ("b", 0)]
    assert keys(DropDuplicates()(samples)) == keys(samples)


def test_group_filters_drop_unanimous_problems_and_keep_an_accuracy_band():
    samples = ([rewarded("all", i, 1, correct=True) for i in range(4)] + [rewarded("none", i, 0, correct=False) for i in range(4)]
               + [rewarded("half", i, 1, correct=i < 2) for i in range(4)] + [rewarded("one", i, 1, correct=i < 1) for i in range(4)])
    assert {s.problem_id for s in DropUnanimous()(samples)} == {"half", "one"}
    assert {s.problem_id for s in AccuracyBand(0.3, 0.8)(samples)} == {"half"}
    assert {s.problem_id for s in AccuracyBand(0.25, 1.0)(samples)} == {"all", "half", "one"}
    with pytest.raises(UserError, match="accuracy band"):
        AccuracyBand(0.8, 0.2)


def test_length_bounds_and_truncation():
    samples = [rewarded("a", 0, 1, tokens=3), rewarded("a", 1, 1, tokens=10), rewarded("a", 2, 1, tokens=50, finish="length")]
    assert keys(LengthBounds(min_tokens=5)(samples)) == [("a", 1), ("a", 2)]
    assert keys(LengthBounds(max_tokens=10)(samples)) == [("a", 0), ("a", 1)]
    assert keys(DropTruncated()(samples)) == [("a", 0), ("a", 1)]


def test_arithmetic_step_check_drops_a_right_answer_reached_through_a_wrong_line():
    samples = [sample("a", 0, "7 + 3 = 10\n10 - 1 = 9\n#### 9"), sample("a", 1, "7 + 3 = 10\n10 - 2 = 9\n#### 9"),
               sample("b", 0, "so the total is 9\n#### 9"), sample("b", 1, "2 * -3 = -6\n#### -6")]
    assert keys(ArithmeticStepsHold()(samples)) == [("a", 0), ("b", 0), ("b", 1)]  # prose lines are not judged
