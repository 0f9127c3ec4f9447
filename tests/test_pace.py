"""A long stage's progress in the log at most once a period, with the time left at its pace (rest/pace.py)."""

import logging

from rest.pace import Pace


def test_progress_is_logged_once_a_period_with_the_time_left_and_not_at_the_end(monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    clock = iter([0.0, 10.0, 70.0, 80.0, 140.0, 200.0])
    monkeypatch.setattr("rest.pace.time.perf_counter", lambda: next(clock))
    pace = Pace("rows scored", 100, logging.getLogger("test"))  # starts at 0 s
    for units in (10, 10, 10, 30, 40):  # at 10, 70, 80, 140 and 200 s
        pace.advance(units)
    assert caplog.messages == ["rows scored: 20 of 100 in 70s, about 280s left",
                               "rows scored: 60 of 100 in 140s, about 93s left"]  # the last piece ends the work
