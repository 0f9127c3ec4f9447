"""Score normalisation: one threshold means the same whichever scorer produced the scores."""

import pytest

from rest.scorers.rewards import normalize


def test_unbounded_scores_become_percentile_ranks_with_shared_ties():
    assert normalize([10.0, -3.0, 10.0, 2.0, None], bounded=False) == [pytest.approx(5 / 6), 0.0, pytest.approx(5 / 6),
                                                                        pytest.approx(1 / 3), None]
    assert normalize([7.0], bounded=False) == [1.0] and normalize([None], bounded=False) == [None]


def test_a_threshold_keeps_the_same_share_whatever_the_scale():
    raw = [float(i) for i in range(101)]
    for scale in (1e-3, 1.0, 1e6):
        kept = [r for r in normalize([x * scale - 50 for x in raw], bounded=False) if r >= 0.7]
        assert len(kept) == 31  # the best 30% (ranks 70..100 of 0..100)


def test_bounded_scores_keep_their_value_clamped_to_the_unit_interval():
    assert normalize([1.0, 0.0, 0.5, 1.5, -0.2, None], bounded=True) == [1.0, 0.0, 0.5, 1.0, 0.0, None]
