"""Ctrl-C and SIGTERM stop the run even where Python swallows the exception their handler raises."""

import signal
import weakref

import pytest

from rest import stop


@pytest.fixture
def no_signal_yet(monkeypatch):
    monkeypatch.setattr(stop, "_received", [])


class Thing:
    pass


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # what the callback raised
@pytest.mark.parametrize(("signum", "raised"), [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, stop.Terminated)])
def test_a_signal_swallowed_in_a_weakref_callback_is_raised_at_the_next_check(no_signal_yet, signum, raised):
    stop.raise_if_stopped()  # nothing received: no stop
    thing = Thing()
    watch = weakref.ref(thing, lambda _: stop._stop(signum, None))  # Python ignores what a callback raises
    del thing
    assert watch() is None
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
