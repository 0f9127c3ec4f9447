"""Ranking metrics for scorers: pairwise accuracy, best-of-N, random pick, oracle, length correlation."""

import math

import pytest

from rest import ranking

GROUPS = [  # (scores, correct) per problem
    ([0.9, 0.1, 0.5, None], [True, False, False, False]),
    ([0.2, 0.8, 0.8, 0.1], [False, False, True, True]),
    ([None, None, 0.3, 0.3], [False, False, False, False]),
]


def test_pairwise_accuracy_counts_ties_half_and_missing_scores_lose():
    assert ranking.pairwise_accuracy([2.0, 1.0, 1.0, None, None], [1.0, 2.0, 1.0, 0.0, None]) == pytest.approx(2 / 5)


def test_correct_over_incorrect_uses_only_problems_with_both_kinds():
    accuracy, pairs = ranking.correct_over_incorrect(GROUPS)
    # problem 1: 0.9 beats 0.1, 0.5, None -> 3 of 3; problem 2: 0.8 vs 0.2 win, vs 0.8 tie; 0.1 loses twice
    assert pairs == 3 + 4 and accuracy == pytest.approx((3 + 1 + 0.5 + 0 + 0) / 7)


def test_pick_best_takes_the_earliest_of_tied_best_and_none_when_unscored():
    assert ranking.pick_best([0.2, 0.8, 0.8]) == 1
    assert ranking.pick_best([None, None]) is None


def test_best_of_n_random_and_oracle_on_prefixes():
    assert ranking.best_of_n(GROUPS, 4) == pytest.approx(1 / 3)  # problem 1 right; problem 2 picks index 1 (wrong)
    assert ranking.best_of_n(GROUPS, 1) == pytest.approx(1 / 3)
    assert ranking.random_pick(GROUPS, 4) == pytest.approx((1 / 4 + 2 / 4 + 0) / 3)
    assert ranking.oracle(GROUPS, 2) == pytest.approx(1 / 3) and ranking.oracle(GROUPS, 4) == pytest.approx(2 / 3)


def test_a_problem_no_sample_of_which_is_scored_keeps_its_first_sample_as_a_tie_of_equal_scores_does():
    groups = [([None, None], [True, False]), ([None, 0.0], [True, False])]
    assert ranking.best_of_n(groups, 2) == ranking.best_of_n([([0.0, 0.0], [True, False]), ([None, 0.0], [True, False])], 2)
    assert ranking.best_of_n(groups, 2) == 0.5  # once 0.0: an unscored problem counted as a miss, below a random pick


def test_length_correlation_sign_and_undefined_cases():
    assert ranking.length_correlation([3.0, 2.0, 1.0, None], [1, 2, 3, 100]) == pytest.approx(-1.0)
    assert math.isnan(ranking.length_correlation([1.0, 1.0, 1.0], [1, 2, 3]))


def test_bootstrap_se_is_zero_when_every_problem_gives_the_same_figure_and_grows_with_their_spread():
    same = [([1.0, 0.0], [True, False])] * 50
    assert ranking.bootstrap_se(same, lambda g: ranking.best_of_n(g, 2)) == 0.0
    mixed = [([1.0, 0.0], [True, False])] * 25 + [([1.0, 0.0], [False, True])] * 25
    se = ranking.bootstrap_se(mixed, lambda g: ranking.best_of_n(g, 2), draws=400)
    assert se == pytest.approx(math.sqrt(0.25 / 50), rel=0.2)  # a proportion's standard error, p = 0.5, 50 problems
