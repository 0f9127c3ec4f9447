"""The verifier's worker pool: hard per-pair time limits from any thread, statuses, order, replacement."""

import threading
import time

import pytest
from conftest import context, make_scorer, make_verifier

from rest.errors import UserError
from rest.records import Sample

LIMIT = 1.5
TOWER = "2003^{2002^{2001}}"  # sympy evaluates this for as long as it is allowed to


@pytest.fixture(scope="module")
def started_pool():
    """The pool, its workers started before anything is timed, and the seconds that took: what a killed worker's
    replacement takes to start here (it warms up before taking a pair; 1-3 s on one busy core)."""
    with make_verifier(timeout=LIMIT, workers=2) as v:
        start = time.perf_counter()
        v.judge(["x^2 - 1", "(x+1)(x-1)"], ["(x-1)(x+1)", "x^2-1"])
        yield v, time.perf_counter() - start


@pytest.fixture
def pool(started_pool):
    return started_pool[0]


@pytest.fixture
def restart(started_pool) -> float:
    """Seconds for a pair that waits for a worker killed by an earlier one's timeout to be replaced."""
    return started_pool[1]


def timed_judge(pool, answers, references):
    start = time.perf_counter()
    verdicts = pool.judge(answers, references)
    return verdicts, time.perf_counter() - start


def test_a_hanging_pair_times_out_within_the_limit_and_is_not_correct(pool):
    verdicts, seconds = timed_judge(pool, [TOWER], ["1"])
    assert (verdicts[0].correct, verdicts[0].status) == (False, "timeout")
    assert seconds <= LIMIT + 1


def test_the_limit_holds_when_called_from_a_non_main_thread(pool, restart):
    result = {}
    worker = threading.Thread(target=lambda: result.update(out=timed_judge(pool, [TOWER, "x+1"], ["1", "1+x"])))
    worker.start()
    worker.join(timeout=30)
    verdicts, seconds = result["out"]
    assert [v.status for v in verdicts] == ["timeout", "ok"] and verdicts[1].correct
    assert seconds <= LIMIT + 1 + restart  # the earlier test's killed worker may still be starting


def test_several_hanging_pairs_do_not_stall_the_rest(pool, restart):
    answers = [TOWER, "\\sqrt{8}", "10^{10^{10^{10}}}", "(1,2)"]
    verdicts, seconds = timed_judge(pool, answers, ["1", "2\\sqrt{2}", "7", "(2,1)"])
    assert [(v.correct, v.status) for v in verdicts] == [
        (False, "timeout"), (True, "ok"), (False, "timeout"), (False, "ok")]
    assert seconds <= 2 * (LIMIT + 1) + restart  # two workers, each killed once and replaced


def test_degenerate_completions_end_within_the_limit(pool, restart):
    """Extraction and the quick readings run in the caller, without a limit: they must stay linear in the text."""
    completions = ["\\boxed{" * 50_000, "\\boxed{1} and " * 20_000, "Final Answer: " * 20_000, "(" * 100_000 + "1",
                   "\\boxed{" + "x=" * 50_000 + "1}", "1,2" * 50_000, " ".join(f"\\boxed{{{i}}}" for i in range(3000)),
                   f"\\boxed{{x = {TOWER} = 1}}"]
    start = time.perf_counter()
    verdicts = pool.verify(completions, ["1"] * len(completions))
    assert time.perf_counter() - start <= 2 * (LIMIT + 1) + restart
    assert verdicts[1].correct and verdicts[4].correct and verdicts[7].correct  # the value stated last is 1


def test_a_killed_worker_is_replaced_and_the_pool_keeps_judging(pool):
    pool.judge([TOWER, TOWER], ["1", "2"])
    verdicts = pool.judge(["\\frac{x^2-1}{x-1}", "\\{1,2\\}"], ["x+1", "\\{2,1\\}"])
    assert [(v.correct, v.status) for v in verdicts] == [(True, "ok"), (True, "ok")]


def test_statuses_and_order_are_kept_across_quick_and_pool_pairs(pool):
    completions = ["#### 42", "no answer here", "the answer is \\frac{1}{.", "\\boxed{(x+1)^2}", "The answer is 7.", "\\boxed{0.5}"]
    references = ["42", "1", "2", "x^2+2x+1", "8", "$\\frac{1}{2}$"]
    verdicts = pool.verify(completions, references)
    assert [(v.status, v.correct) for v in verdicts] == [
        ("ok", True), ("no_answer", False), ("parse_error", False), ("ok", True), ("ok", False), ("ok", True)]
    assert verdicts[3].extracted == "(x+1)^2"


def test_the_pool_and_in_process_judging_agree(pool):
    answers = ["\\frac{1}{2004!}", "[1,2)", "n=1,2,3", "\\pm 2021", "x=3", "\\sqrt{12}", "y=2x+1", "0.5", "5000"]
    references = ["\\frac{1}{2006!}", "(1,2]", "n=2,3,4", "2021", "3", "2\\sqrt{3}", "y=1+2x", "50", "50"]
    with make_verifier(workers=0) as in_process:
        expected = in_process.judge(answers, references)
    assert pool.judge(answers, references) == expected
    assert [v.correct for v in expected] == [False, False, False, False, True, True, True, False, False]


def test_exact_answer_scorer_scores_none_for_what_it_cannot_judge(pool):
    def sample(text):
        return Sample(problem_id="p", sample_index=0, iteration=1, prompt="q", completion=text, reference="3",
                      finish_reason="stop", num_tokens=1)

    samples = [sample("#### 3"), sample("#### 4"), sample("I have no idea"), sample(f"\\boxed{{{TOWER}}}")]
    samples.append(Sample(problem_id="q", sample_index=0, iteration=1, prompt="q", completion="#### 3", reference="",
                          finish_reason="stop", num_tokens=1))
    scores = make_scorer("exact_answer").score(samples, context(pool))
    assert scores == [1.0, 0.0, None, None, None]  # the last has no reference to judge against
    assert [s.verdict for s in samples] == ["ok", "ok", "no_answer", "timeout", None]
    assert [s.correct for s in samples] == [True, False, False, False, None]


@pytest.mark.parametrize("settings, message", [
    ({"timeout": 0}, "timeout"), ({"workers": -1}, "workers"), ({"fallback": "last_word"}, "fallback"),
    ({"rel_tol": 2.0}, "rel_tol"),
])
def test_bad_settings_are_a_one_line_user_error(settings, message):
    with pytest.raises(UserError, match=message):
        make_verifier(**settings)
