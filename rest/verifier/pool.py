"""The exact-answer verifier: extraction + equivalence, with a hard wall-clock limit per pair.

Pairs that string matching or plain-number arithmetic settles are judged in the calling process (bounded
work, microseconds). The rest need sympy, which can run for ever on a hostile answer, so they go to a
pool of worker processes (pebble): a pair that outlives `timeout` seconds has its worker killed and
replaced, and is judged not correct with status `timeout`. No signals are used, so it works from any
thread. `workers=0` judges everything in-process, without a limit (for debugging).

>>> with Verifier(timeout=5.0, workers=0, fallback=None, rel_tol=1e-9, percent=False) as verifier:
...     [v.status for v in verifier.verify(["so #### 42", "no idea"], ["42", "42"])]
['ok', 'no_answer']
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections import Counter
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from types import EllipsisType

from rest.errors import UserError, is_whole
from rest.verifier.answers import check_fallback, extract_answer, parse_reference
from rest.verifier.equivalence import ParseError, equivalent, quick_equivalent

log = logging.getLogger(__name__)
STATUSES = ("ok", "no_answer", "timeout", "parse_error", "error")


@dataclass(frozen=True)
class Verdict:
    extracted: str | None
    correct: bool
    status: str  # one of STATUSES; only "ok" verdicts can be correct


def judge_pair(answer: str, reference: str, rel_tol: float, percent: bool) -> tuple[bool, str]:
    """(correct, status) of one extracted answer against one reference, in this process, no limit."""
    try:
        return equivalent(answer, reference, rel_tol=rel_tol, percent=percent), "ok"
    except ParseError:
        return False, "parse_error"


def warm_up_worker() -> None:
    """A worker's start, before it takes a pair: judge one that needs latex2sympy and sympy, so that their imports
    and first-use set-up (seconds on a busy core) do not count against the first pair's time limit; pebble counts
    a pair's time from when a worker takes it, after this."""
    judge_pair("\\frac{x^2-1}{x-1}", "x+1", rel_tol=0.0, percent=False)


class Verifier:
    """`verify(completions, references)` extracts and judges; `judge(answers, references)` only judges.

    Settings (defaults and meaning: the `verifier` node of rest/conf/config.yaml): `timeout` seconds per pair,
    `workers` processes (None: one per core; 0: in-process, no limit), `fallback` extraction, `rel_tol`, `percent`.
    """

    def __init__(self, *, timeout: float, workers: int | None, fallback: str | None, rel_tol: float, percent: bool):
        self._pool = None
        if not timeout > 0:
            raise UserError(f"verifier.timeout must be > 0 seconds, got {timeout}")
        if workers is not None and not is_whole(workers, 0):
            raise UserError(f"verifier.workers must be a whole number >= 0 (0 = in-process) or null (one per core), "
                            f"got {workers!r}")
        check_fallback(fallback, "verifier.fallback")
        if not 0 <= rel_tol < 1:
            raise UserError(f"verifier.rel_tol must be in [0, 1), got {rel_tol}")
        self.timeout, self.fallback, self.rel_tol, self.percent = float(timeout), fallback, rel_tol, percent
        self.workers = len(os.sched_getaffinity(0)) if workers is None else workers

    def verify(self, completions: list[str], references: list[str], fallback: str | None | EllipsisType = ...
               ) -> list[Verdict]:
        """Extracts each completion's answer (`fallback`: a task's own reading; `...`: this verifier's) and judges it."""
        fallback = self.fallback if fallback is ... else fallback
        answers = [extract_answer(text, fallback) for text in completions]
        return self.judge(answers, references)

    def judge(self, answers: list[str | None], references: list[str]) -> list[Verdict]:
        if len(answers) != len(references):
            raise ValueError(f"{len(answers)} answers but {len(references)} references")
        references = [parse_reference(r) for r in references]
        verdicts: list[Verdict | None] = [None] * len(answers)
        pending = []
        for i, (answer, reference) in enumerate(zip(answers, references)):
            if answer is None:
                verdicts[i] = Verdict(None, False, "no_answer")
                continue
            quick = quick_equivalent(answer, reference, rel_tol=self.rel_tol, percent=self.percent)
            if quick is None:
                pending.append(i)
            else:
                verdicts[i] = Verdict(answer, quick, "ok")
        for i, (correct, status) in zip(pending, self._judge_slow([(answers[i], references[i]) for i in pending])):
            verdicts[i] = Verdict(answers[i], correct, status)
        counts = Counter(v.status for v in verdicts)
        if counts["timeout"] or counts["error"]:
            log.warning("verifier: %d pairs timed out (limit %.1fs), %d failed in a worker; judged not correct",
                        counts["timeout"], self.timeout, counts["error"])
        return verdicts

    def close(self) -> None:
        if self._pool is not None:
            self._pool.stop()
            self._pool.join()
            self._pool = None

    def __enter__(self) -> Verifier:  # noqa: PYI034  (typing.Self is 3.11+; we support 3.10)
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        self.close()

    def _judge_slow(self, pairs: list[tuple[str, str]]) -> list[tuple[bool, str]]:
        """Judges each distinct pair once (samples of one problem often repeat an answer)."""
        distinct = list(dict.fromkeys(pairs))
        if self.workers == 0:
            outcomes = [judge_pair(a, r, self.rel_tol, self.percent) for a, r in distinct]
        else:
            pool = self._get_pool()
            futures = [pool.schedule(judge_pair, args=(a, r, self.rel_tol, self.percent), timeout=self.timeout)
                       for a, r in distinct]
            outcomes = [self._outcome(future, pair) for future, pair in zip(futures, distinct)]
        judged = dict(zip(distinct, outcomes))
        return [judged[pair] for pair in pairs]

    def _outcome(self, future, pair: tuple[str, str]) -> tuple[bool, str]:
        try:
            return future.result()
        except FutureTimeout:
            log.debug("verifier: timed out after %.1fs on %r vs %r", self.timeout, pair[0][:80], pair[1][:80])
            return False, "timeout"
        except Exception as err:  # noqa: BLE001  the worker died (e.g. out of memory) or sympy raised: count it, never stall
            log.warning("verifier: worker failed on %r vs %r: %s: %s", pair[0][:80], pair[1][:80],
                        type(err).__name__, str(err)[:200])
            return False, "error"

    def _get_pool(self):
        if self._pool is None:
            from pebble import ProcessPool

            # spawn, not fork: the caller may hold threads (vLLM, torch) that a fork would copy mid-flight
            self._pool = ProcessPool(max_workers=self.workers, context=multiprocessing.get_context("spawn"),
                                     initializer=warm_up_worker)
        return self._pool
