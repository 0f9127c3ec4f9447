"""Rationalization (STaR) and reflection (Re-ReST): unsolved problems sampled again with a hint or a wrong attempt
shown; only verified answers are trained on, always under the plain prompt. A scripted sampler stands in for the
engine: it answers right only when it is told the answer, or told its attempt was wrong (or the answer is even)."""

import json
import re
import subprocess
import sys

import pytest
from conftest import ROOT, config, context, sampling, written
from fakes import LengthScorer, ScriptedSampler

from rest.artifacts import load_samples
from rest.config import build
from rest.errors import UserError
from rest.filters import ArithmeticStepsHold, LengthBounds, Threshold
from rest.records import Problem
from rest.run import Run
from rest.scorers.exact_answer import ExactAnswerScorer
from rest.scorers.rewards import normalize
from rest.stages.grow import grow_stage
from rest.stages.retry import Rationalize, Reflect, draw_retries, keep_retried

BOTH = ("mode.rationalize.enabled=true", "mode.reflect.enabled=true")
PLAIN_PROMPT = re.compile(r"Compute [-+\d ]+\.\n")


def value(prompt: str) -> int:
    """The true value of the arithmetic chain in the prompt, read left to right."""
    tokens = re.search(r"Compute ([-+\d ]+)\.", prompt).group(1).split()
    total = int(tokens[0])
    for op, number in zip(tokens[1::2], tokens[2::2]):
        total += int(number) if op == "+" else -int(number)
    return total


def answers(prompt: str) -> list[str]:
    """Told the answer: it twice (the same text) and once wrong; told it was wrong: right, then wrong again;
    on its own: right only when the answer is even."""
    hint = re.search(r"The answer is (-?\d+)\.", prompt)
    if hint:
        return [f"#### {hint.group(1)}", f"#### {hint.group(1)}", "#### 99"]
    if "is wrong." in prompt or "No final answer" in prompt:
        return [f"so it is {value(prompt)}\n#### {value(prompt)}", "#### 98"]
    truth = value(prompt)
    return [f"#### {truth}", "#### 97"] if truth % 2 == 0 else ["#### 97", "no answer"]


class ListTask:
    """A task of the given problems, each prompted as its bare question."""

    answer_fallback = None

    def __init__(self, problems: list[Problem]):
        self._problems = problems

    def problems(self, split):
        return self._problems

    def prompt(self, problem):
        return problem.question + "\n"


class CapturingTrainer:
    """Records the examples each Train step receives; the policy stays where it was."""

    def __init__(self):
        self.examples: list[dict] = []

    def train(self, examples, init_from, out_dir, report=None):
        self.examples += examples
        return init_from


def run_loop(run_dir, tiny_model, *overrides: str) -> tuple[list[dict], list[dict], Run]:
    """One ReST-EM iteration on 12 pool problems (Grow n=2); returns (metrics rows, training examples, the run)."""
    cfg = config(f"model.path={tiny_model}", "task.limits.pool=12", "task.limits.test=2", "algorithm.iterations=1",
                 "sampler.grow.n=2", "mode.eval.k=1", "verifier.workers=0", *overrides)
    loop, trainer = build(cfg.mode, _recursive_=False, _convert_="all"), CapturingTrainer()
    with Run(cfg, run_dir) as run:
        run.sampler, run.trainer = ScriptedSampler(answers), trainer
        assert loop.run(run) == 0
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return rows, trainer.examples, run


def retry(out, sources, grown, task, sampler, verifier, cap, scorers=None) -> None:
    """Retry as the loop runs it: the draws, then their scores and kept flags (scored with the verifier alone
    unless `scorers` are given; the reward is the first scorer's)."""
    scorers = scorers or {"exact_answer": ExactAnswerScorer()}
    retried = draw_retries(out, 1, sources, grown, "policy", task, "pool", sampler, sampling(), verifier)
    keep_retried(out, 1, sources, retried, scorers, next(iter(scorers)), context(verifier), cap)


@pytest.fixture(scope="module")
def both_on(tmp_path_factory, tiny_model):
    run_dir = tmp_path_factory.mktemp("retry")
    rows, examples, run = run_loop(run_dir, tiny_model, *BOTH)
    odd = [p for p in run.task.problems("pool") if int(p.answer) % 2]
    return run_dir, rows, examples, odd, run.task


def test_hints_and_wrong_attempts_are_never_trained_on(both_on):
    _, _, examples, odd, task = both_on
    assert examples and all(PLAIN_PROMPT.fullmatch(e["prompt"]) for e in examples)
    retried = {(task.prompt(p), c) for p in odd for c in (f"#### {p.answer}", f"so it is {p.answer}\n#### {p.answer}")}
    assert retried <= {(e["prompt"], e["completion"]) for e in examples}
    assert not any("99" in e["completion"] or "98" in e["completion"] for e in examples)


def test_only_unsolved_problems_are_retried_and_only_verified_samples_kept(both_on):
    run_dir, _, _, odd, _ = both_on
    assert 0 < len(odd) < 12
    for name, n in (("rationalize", 3), ("reflect", 2)):
        samples = load_samples(run_dir / "iter_1" / "retry" / name)
        assert [s.problem_id for s in samples] == [p.id for p in odd for _ in range(n)]
        kept = [s for s in samples if s.kept]
        assert all(s.correct for s in kept) and [s.problem_id for s in kept] == [p.id for p in odd]  # dedup: one each


def test_retry_counts_land_in_metrics(both_on):
    _, rows, examples, odd, _ = both_on
    row, unsolved = rows[1], len(odd)
    assert {k: row[f"rationalize_{k}"] for k in ("problems", "samples", "correct", "kept", "solved")} == {
        "problems": unsolved, "samples": 3 * unsolved, "correct": 2 * unsolved, "kept": unsolved, "solved": unsolved}
    assert {k: row[f"reflect_{k}"] for k in ("problems", "samples", "correct", "kept", "solved")} == {
        "problems": unsolved, "samples": 2 * unsolved, "correct": unsolved, "kept": unsolved, "solved": unsolved}
    assert row["trained_on"] == row["kept"] + 2 * unsolved == len(examples) and row["tokens_reflect"] > 0


def test_a_rerun_skips_the_finished_retry_and_trains_on_it_again(both_on, tiny_model, caplog):
    run_dir, _, examples, _, _ = both_on
    for path in (run_dir / "iter_1" / "train.json", run_dir / "iter_1" / "eval.json"):
        path.unlink()
    with caplog.at_level("INFO"):
        _, again, _ = run_loop(run_dir, tiny_model, *BOTH)
    assert "skipping Retry" in caplog.text and "Retry (" not in caplog.text and again == examples


def test_with_both_off_nothing_is_retried_and_training_is_unchanged(both_on, tmp_path, tiny_model):
    _, _, with_retry, _, _ = both_on
    rows, examples, _ = run_loop(tmp_path, tiny_model)
    assert not (tmp_path / "iter_1" / "retry").exists() and not any("rationalize" in k or "reflect" in k for k in rows[1])
    assert examples == with_retry[: rows[1]["kept"]] and rows[1]["trained_on"] == rows[1]["kept"]


def test_retry_caps_both_sources_together_and_resumes_from_its_artifact(tmp_path, verifier):
    task = ListTask([Problem(id=f"p{i}", question=f"Compute {i} + 1.", answer=str(i + 1)) for i in range(3)])
    grow_stage(tmp_path / "grown", 1, "policy", task, "pool", ScriptedSampler(answers), sampling(n=2), verifier)
    sources = (Rationalize(True, 3, "{question} The answer is {answer}."), Reflect(True, 2, "{question} {attempt} {feedback}"))
    args = (sources, tmp_path / "grown", task, ScriptedSampler(answers), verifier, 1)
    retry(tmp_path / "retry", *args)
    rationalized, reflected = (load_samples(tmp_path / "retry" / name) for name in ("rationalize", "reflect"))
    assert [s.problem_id for s in rationalized] == ["p0"] * 3 + ["p2"] * 3  # p1 (answer 2) was solved by Grow
    assert [s.sample_index for s in rationalized if s.kept] == [0, 0] and not any(s.kept for s in reflected)  # cap 1
    assert all(s.prompt == f"Compute {s.problem_id[1]} + 1.\n" for s in rationalized + reflected)
    calls = len(ScriptedSampler.calls)
    retry(tmp_path / "retry", *args)
    assert len(ScriptedSampler.calls) == calls


def test_a_retry_question_the_engine_refuses_gets_no_samples_and_is_counted(tmp_path, verifier):
    class ShortContext(ScriptedSampler):
        """Refuses a question over 40 characters, as vLLM one longer than its context, unless told to skip it."""

        def generate(self, policy, prompts, settings, seeds=None):
            if any(len(p) > 40 for p in prompts) and not settings.skip_refused:
                raise UserError("vLLM refused a prompt")
            return [[] if len(p) > 40 else completions for p, completions
                    in zip(prompts, super().generate(policy, prompts, settings, seeds))]

    task = ListTask([Problem(id="p0", question="Compute 0 + 1.", answer="1"),
                     Problem(id="p1", question="Compute 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9.", answer="45")])
    grow_stage(tmp_path / "grown", 1, "policy", task, "pool", ScriptedSampler(answers), sampling(n=2), verifier)
    retry(tmp_path / "retry", (Rationalize(True, 2, "{question} The answer is {answer}."),), tmp_path / "grown", task,
          ShortContext(answers), verifier, None)
    stats = json.loads((tmp_path / "retry" / "stats.json").read_text())
    assert (stats["rationalize_problems"], stats["rationalize_refused"], stats["rationalize_solved"]) == (2, 1, 1)
    assert {s.problem_id for s in load_samples(tmp_path / "retry" / "rationalize")} == {"p0"}


def test_a_sources_check_rejects_its_verified_samples_and_the_cap_goes_to_the_other_source(tmp_path, verifier):
    task = ListTask([Problem(id="p0", question="Compute 0 + 1.", answer="1")])
    grow_stage(tmp_path / "grown", 1, "policy", task, "pool", ScriptedSampler(answers), sampling(n=2), verifier)
    rationalize = Rationalize(True, 3, "{question} The answer is {answer}.", check=LengthBounds(min_tokens=10**6))
    reflect = Reflect(True, 2, "{question} {attempt} {feedback}", check=ArithmeticStepsHold())
    retry(tmp_path / "retry", (rationalize, reflect), tmp_path / "grown", task, ScriptedSampler(answers), verifier, 1)
    rationalized, reflected = (load_samples(tmp_path / "retry" / name) for name in ("rationalize", "reflect"))
    assert sum(bool(s.correct) for s in rationalized) == 2 and not any(s.kept for s in rationalized)
    assert [(s.sample_index, s.correct, s.kept) for s in reflected] == [(0, True, True), (1, False, False)]


def test_retried_samples_are_scored_and_a_sources_check_can_read_their_scores(tmp_path, verifier):
    task = ListTask([Problem(id="p0", question="Compute 0 + 1.", answer="1")])
    grow_stage(tmp_path / "grown", 1, "policy", task, "pool", ScriptedSampler(answers), sampling(n=2), verifier)
    longer = Threshold(min=10, score="length")  # rationalized "#### 1" is too short; reflected "so it is 1\n#### 1" is not
    sources = (Rationalize(True, 3, "{question} The answer is {answer}.", check=longer),
               Reflect(True, 2, "{question} {attempt} {feedback}", check=longer))
    scorers = {"length": LengthScorer(), "exact_answer": ExactAnswerScorer()}
    retry(tmp_path / "retry", sources, tmp_path / "grown", task, ScriptedSampler(answers), verifier, 10, scorers)
    retried = [s for name in ("rationalize", "reflect") for s in load_samples(tmp_path / "retry" / name)]
    assert [s.scores for s in retried] == [{"length": len(s.completion), "exact_answer": float(s.correct)} for s in retried]
    assert [s.reward for s in retried] == normalize([len(s.completion) for s in retried], bounded=False)
    assert [s.completion for s in retried if s.kept] == ["so it is 1\n#### 1"]
    assert json.loads((tmp_path / "retry" / "stats.json").read_text())["retry_unscorable_length"] == 0


def test_a_check_given_as_a_class_path_is_built():
    loop = build(config("mode.rationalize.check=rest.filters.ArithmeticStepsHold").mode, _recursive_=False,
                 _convert_="all")
    assert isinstance(loop.rationalize.check, ArithmeticStepsHold) and loop.reflect.check is None


def test_nothing_unsolved_draws_nothing_and_counts_zero(tmp_path, verifier):
    class Solved:
        answer_fallback = None

        def problems(self, split):
            return [Problem(id="p0", question="Compute 1 + 1.", answer="2")]

        def prompt(self, problem):
            return problem.question + "\n"

    class Untouchable:
        def stream(self, policy, batches, settings):
            raise AssertionError("the engine was asked to sample")

    from rest.stages import stage_stats

    grow_stage(tmp_path / "grown", 1, "policy", Solved(), "pool", ScriptedSampler(answers), sampling(n=2), verifier)
    retry(tmp_path / "retry", (Reflect(True, 2, "{question} {attempt}"),), tmp_path / "grown", Solved(), Untouchable(),
          verifier, None)
    stats = stage_stats(tmp_path)
    assert (stats["reflect_problems"], stats["reflect_samples"], stats["reflect_kept"]) == (0, 0, 0)
    assert not (tmp_path / "retry" / "reflect").exists()


@pytest.mark.parametrize(("override", "message"), [
    ("mode.rationalize.template='{question} is it?'", "mode.rationalize.template: missing {answer}"),
    ("mode.reflect.template='{question}: {feedback}'", "mode.reflect.template: missing {attempt}"),
    ("mode.reflect.template='{question} {attempt} {hint}'", "mode.reflect.template: unknown field {hint}"),
    ("mode.rationalize.n=0", "mode.rationalize.n: draw a whole number >= 1 of samples"),
    ("mode.reflect.n=-1", "mode.reflect.n: draw a whole number >= 1 of samples"),
    ("mode.rationalize.template=5", ("mode.rationalize.template must be text (a template with {question} and "
                                    "{answer}), got 5")),
    ("mode.rationalize.n=1.5", "mode.rationalize.n: draw a whole number >= 1 of samples per unsolved problem (got 1.5)"),
    ("mode.rationalize.check=rest.filters.NoSuchFilter", "mode.rationalize.check: rest.filters.NoSuchFilter"),
    ("mode.reflect.check={_target_:rest.filters.CapPerProblem,cap:0}", "mode.reflect.check: filter: cap must be a whole number >= 1"),
])
def test_a_bad_retry_setting_is_one_line(override, message):
    with pytest.raises(UserError) as err:
        build(config(override).mode, _recursive_=False, _convert_="all")
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_rationalizing_without_references_fails_before_any_model(tmp_path):
    class NoReferences:
        def problems(self, split):
            return [Problem(id="p0", question="Compute 1 + 1.", answer="")]

    cfg = config("mode.rationalize.enabled=true")
    loop = build(cfg.mode, _recursive_=False, _convert_="all")
    with Run(cfg, tmp_path) as run:
        run.task = NoReferences()
        with pytest.raises(UserError, match="mode.rationalize: the task's pool problems have no reference answers"):
            loop.run(run)
        assert "sampler" not in vars(run) and "base_model" not in vars(run) and not written(tmp_path)


def test_a_bad_retry_setting_on_the_command_line_is_one_line_without_traceback(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "run.py"), "mode.reflect.n=0", f"hydra.run.dir={tmp_path}"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1 and "mode.reflect.n" in lines[0], lines


def test_reflection_calls_wrong_only_an_answer_the_verifier_judged_wrong():
    from dataclasses import replace

    from rest.records import Sample
    from rest.stages.retry import shown_attempt

    sample = Sample(problem_id="p", sample_index=0, iteration=1, prompt="q", completion="#### 5", reference="4",
                    finish_reason="stop", num_tokens=3, extracted="5", correct=None, verdict="timeout")
    timed_out, judged = sample, replace(sample, sample_index=1, completion="#### 7", extracted="7", correct=False)
    unanswered = replace(sample, sample_index=2, completion="no idea", extracted=None, correct=False, verdict="no_answer")
    assert shown_attempt([timed_out, judged]) == (judged, "The answer 7 is wrong.")  # once: "The answer 5 is wrong."
    assert shown_attempt([timed_out, unanswered]) == (unanswered, "No final answer was given.")
    assert shown_attempt([timed_out]) == (timed_out, "The answer 5 could not be checked.")
