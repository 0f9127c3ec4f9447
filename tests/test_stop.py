"""Ctrl-C and SIGTERM stop the run even where Python swallows the exception their handler raises; a run stopped
before it started, or by a full disk, says so in one line."""

import errno
import os
import signal
import subprocess
import sys
import weakref

import pytest
from conftest import ROOT
from fakes import Thing, signal_in_a_weakref_callback

from rest import stop
from rest.errors import out_of_space


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # what the callback raised
@pytest.mark.parametrize(("signum", "raised"), [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, stop.Terminated)])
def test_a_signal_swallowed_in_a_weakref_callback_is_raised_at_the_next_check(no_stop_signal_yet, signum, raised):
    stop.raise_if_stopped()  # nothing received: no stop
    signal_in_a_weakref_callback(signum)  # Python ignores what a callback raises
    with pytest.raises(raised):
        stop.raise_if_stopped()


def test_an_ignored_sigint_and_a_launchers_sigterm_handler_are_left_as_they_are(monkeypatch):
    def launchers(signum, frame):
        pass

    monkeypatch.setattr(signal, "getsignal", {signal.SIGINT: signal.SIG_IGN, signal.SIGTERM: launchers}.get)
    installed = []
    monkeypatch.setattr(signal, "signal", lambda signum, handler: installed.append(signum))
    stop.install()
    assert installed == []
    monkeypatch.setattr(signal, "getsignal", {signal.SIGINT: signal.default_int_handler,
                                              signal.SIGTERM: signal.SIG_DFL}.get)
    stop.install()
    assert installed == [signal.SIGINT, signal.SIGTERM]


def test_a_swallowed_stop_signal_prints_nothing_and_other_unraisable_exceptions_still_reach_the_hook(
        no_stop_signal_yet, monkeypatch):
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", lambda unraisable: reported.append(type(unraisable.exc_value)))
    monkeypatch.setattr(signal, "signal", lambda signum, handler: None)
    stop.install()
    stop.install()  # a second run in the same process wraps the hook once

    def fails():
        raise ValueError

    watches = []  # a weak reference calls back only while it is alive itself
    for callback in (lambda _: stop._stop(signal.SIGINT, None), lambda _: fails()):
        thing = Thing()
        watches.append(weakref.ref(thing, callback))
        del thing
    assert reported == [ValueError]
    assert not isinstance(sys.unraisablehook.wrapped, stop._QuietStop)


def run_with(patch: str, *args: str) -> subprocess.CompletedProcess:
    """run.py as a user runs it, with the Python `patch` applied first: a failure injected where it lands every time."""
    code = (f"import runpy, sys\n{patch}\nsys.argv = ['run.py', *{list(args)!r}]\n"
            f"runpy.run_path({str(ROOT / 'run.py')!r}, run_name='__main__')\n")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_ctrl_c_while_the_overrides_are_checked_is_one_line_and_status_130():
    """The first seconds of a run check the overrides (loading TRL and torch); a Ctrl-C there, as right after a
    typo is seen, printed a traceback of the import under way. It lands inside the check here, every time."""
    result = run_with("import rest.config_check as check\n"
                      "def interrupted(*args, **kwargs): raise KeyboardInterrupt\n"
                      "check.config_error = interrupted", "experiment=smoke")
    assert result.returncode == 130, result.stderr[-2000:]
    assert (result.stdout + result.stderr).splitlines() == ["interrupted before the run started: nothing was done"]


def test_a_full_disk_is_one_line_that_says_to_free_space_and_rerun(tmp_path):
    result = run_with("import errno, os, rest.run\n"
                      "def full(*args): raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), 'model.safetensors')\n"
                      "rest.run.execute = full", "experiment=smoke", f"hydra.run.dir={tmp_path}")
    lines = (result.stdout + result.stderr).splitlines()
    assert result.returncode == 1 and len(lines) == 1, lines
    said = "no space left on the device ([Errno 28] No space left on device: 'model.safetensors'); free some"
    assert said in lines[0], lines
    assert f"rerun the same command to go on from what it kept (run directory: {tmp_path})" in lines[0]


def test_a_want_of_space_is_read_anywhere_in_the_chain_and_in_a_librarys_own_words():
    def raised_from(cause: BaseException) -> RuntimeError:
        try:
            raise RuntimeError("saving the checkpoint failed") from cause
        except RuntimeError as err:
            return err

    assert out_of_space(OSError(errno.EDQUOT, os.strerror(errno.EDQUOT)))
    assert out_of_space(raised_from(OSError(errno.ENOSPC, "")))
    assert out_of_space(RuntimeError("Error while serializing: I/O error: No space left on device (os error 28)"))
    assert not out_of_space(raised_from(OSError(errno.EACCES, os.strerror(errno.EACCES))))
    assert not out_of_space(ValueError("num_samples should be a positive integer value"))
