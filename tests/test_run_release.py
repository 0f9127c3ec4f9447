"""A run releases all it holds when it ends (rest/run.py), even after one release fails, and a failed release
never hides the error that ended the run."""

import logging

import pytest
from conftest import config

from rest.run import Run
from rest.run_dir_lock import hold


class DeadEngine:
    """A sampler whose engine died: closing it fails."""

    def __init__(self, **_):
        pass

    def close(self):
        raise RuntimeError("the engine's actor died")


def dead_engine_run(tmp_path) -> Run:
    return Run(config(f"sampler.engine._target_={__name__}.DeadEngine"), tmp_path / "run")


def hold_engine_and_verifier(run: Run) -> None:
    run.sampler  # noqa: B018  (built, so that the run holds it)
    run.verifier  # noqa: B018  (made after it: released before it)


def test_a_failed_release_is_raised_after_the_rest_are_released(tmp_path):
    run = dead_engine_run(tmp_path).__enter__()
    hold_engine_and_verifier(run)
    with pytest.raises(RuntimeError, match="the engine's actor died"):
        run.__exit__(None, None, None)
    hold(tmp_path / "run")()  # the run directory's lock, released after the sampler, was released


def test_the_error_that_ended_a_run_is_the_one_raised_and_a_failed_release_is_logged(tmp_path, caplog):
    with caplog.at_level(logging.ERROR), pytest.raises(ValueError, match="the stage failed"), \
            dead_engine_run(tmp_path) as run:
        hold_engine_and_verifier(run)
        raise ValueError("the stage failed")
    assert "releasing the run's resources after that error failed too: the engine's actor died" in caplog.text
    hold(tmp_path / "run")()
