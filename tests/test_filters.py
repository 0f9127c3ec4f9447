import pytest

from rest.errors import UserError
from rest.filters import CapPerProblem, Chain, DropDuplicates, KeepCorrect, Threshold, TopKPerProblem
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


def test_cap_must_be_positive():
    with pytest.raises(UserError, match="cap"):
        CapPerProblem(cap=0)


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
    assert keys(Threshold("endogenous", 0.5)(samples)) == [("a", 1), ("b", 0)]
    assert keys(Threshold("endogenous", None)(samples)) == keys(samples)


def test_top_k_keeps_the_best_per_problem_in_input_order():
    samples = [scored("a", 0, 1.0), scored("b", 0, 5.0), scored("a", 1, 3.0), scored("a", 2, 3.0),
               scored("a", 3, None), scored("b", 1, 4.0)]
    assert keys(TopKPerProblem("endogenous", 2)(samples)) == [("b", 0), ("a", 1), ("a", 2), ("b", 1)]
    assert keys(TopKPerProblem("endogenous", 1)(samples)) == [("b", 0), ("a", 1)]  # a tie goes to the earlier


def test_a_filter_on_a_score_no_scorer_gave_is_a_user_error():
    with pytest.raises(UserError, match="no sample has a 'prm' score"):
        TopKPerProblem("prm", 1)([scored("a", 0, 1.0)])
