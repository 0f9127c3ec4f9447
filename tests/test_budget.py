"""Grow's sampling budget: the adaptive planner (pure), the fixed budget as Grow always was, the adaptive one
through Grow on the session's vLLM engine, and bad settings as one line before any work."""

import logging
import random
import re
import subprocess
import sys

import pytest
from conftest import ROOT, config, sampling

from rest.artifacts import load_samples, read_json
from rest.budget import Adaptive, Fixed, Tally
from rest.config import CONFIG_DIR, build
from rest.config_check import config_error
from rest.records import Problem
from rest.sampler import Completion, sample_seed
from rest.stages.grow import grow, grow_stage

SETTINGS = sampling(n=8, seed=0)


class ZeroTask:
    """`size` pool problems whose answer is 0; those in `solvable` are the ones the fake sampler gets right."""

    answer_fallback = None

    def __init__(self, size: int = 3, solvable: tuple[int, ...] = ()):
        self.size, self.solvable = size, solvable

    def problems(self, split):
        return [Problem(id=f"{split}-{i}", question=f"Compute {i} - {i}.", answer="0") for i in range(self.size)]

    def prompt(self, problem):
        return problem.question + "\n"


class SeededSampler:
    """Each prompt's completions drawn from its seed: distinct texts, right ("#### 0") for the solvable problems
    ("Compute 0 - 0." when ZeroTask(solvable=(0,))), wrong otherwise. Records every (prompt, n, seed)."""

    def __init__(self, solvable: tuple[int, ...]):
        self.right = {f"Compute {i} - {i}.\n" for i in solvable}
        self.requests = []

    def stream(self, policy, batches, settings):
        for prompts, seeds in batches:
            self.requests += [(p, settings.n, s) for p, s in zip(prompts, seeds)]
            yield [self.completions(p, settings.n, s) for p, s in zip(prompts, seeds)]

    def completions(self, prompt, n, seed):
        rng = random.Random(seed)
        answer = "0" if prompt in self.right else "1"
        return [Completion(f"{rng.randrange(10**9)}\n#### {answer}", [1, 2], "stop", -1.0) for _ in range(n)]


def play(budget, problems, correct_rate: dict[str, float], rounds: int = 50):
    """Runs the planner against made-up verdicts; returns the tallies and every round's requests."""
    tallies, plans, rng = {p.id: Tally() for p in problems}, [], random.Random(0)
    for round_ in range(rounds):
        requests = budget.plan(problems, tallies, round_, SETTINGS, 1)
        if not requests:
            break
        plans.append(requests)
        for r in requests:
            for j in range(r.count):
                tallies[r.problem.id].drawn += 1
                if rng.random() < correct_rate[r.problem.id]:
                    tallies[r.problem.id].correct.add(f"{round_}-{j}")
    return tallies, plans


def problems(count: int) -> list[Problem]:
    return [Problem(id=f"pool-{i}", question=str(i), answer="0") for i in range(count)]


def test_a_problem_with_enough_correct_samples_is_not_sampled_again():
    ps = problems(4)
    tallies, plans = play(Adaptive(4, 1, 16, target=2), ps, {"pool-0": 1.0, "pool-1": 1.0, "pool-2": 0.0, "pool-3": 0.0})
    assert tallies["pool-0"].drawn == tallies["pool-1"].drawn == 2
    assert all(r.problem.id not in ("pool-0", "pool-1") for plan in plans[2:] for r in plan)


def test_unsolved_problems_get_the_rest_of_the_budget_up_to_the_maximum():
    ps = problems(4)
    rates = {"pool-0": 1.0, "pool-1": 1.0, "pool-2": 0.0, "pool-3": 0.0}
    tallies, _ = play(Adaptive(4, 2, 6, target=2), ps, rates)  # 16 in all: 2 + 2 solved, 6 + 6 unsolved (the max)
    assert [tallies[p.id].drawn for p in ps] == [2, 2, 6, 6]
    tallies, _ = play(Adaptive(3, 1, 16, target=1), ps, rates)  # 12 in all: 1 + 1 solved, the 10 left shared
    assert [tallies[p.id].drawn for p in ps] == [1, 1, 5, 5]


@pytest.mark.parametrize(("mean", "per_round", "most", "target"), [(1, 1, 1, None), (2.5, 2, 5, 1), (4, 3, 16, 2),
                                                                    (1.7, 4, 4, 10), (8, 8, 8, None)])
def test_the_samples_drawn_never_exceed_the_budget(mean, per_round, most, target):
    ps = problems(37)
    rates = {p.id: random.Random(p.id).choice([0.0, 0.05, 0.3, 0.9]) for p in ps}
    budget = Adaptive(mean, per_round, most, target)
    tallies, plans = play(budget, ps, rates)
    drawn = sum(t.drawn for t in tallies.values())
    assert drawn <= budget.total(len(ps), SETTINGS) == int(mean * len(ps))
    assert max(t.drawn for t in tallies.values()) <= most and all(r.count <= per_round for p in plans for r in p)
    if target is None:  # nothing stops early: the budget is spent, or every problem has its maximum
        assert drawn == min(int(mean * len(ps)), most * len(ps))


def test_requests_depend_on_the_problem_and_round_not_on_the_order_of_problems():
    ps, budget = problems(9), Adaptive(2.5, 2, 4, target=1)  # 22 in all, 18 drawn: 4 shared among 8 open
    tallies = {p.id: Tally(drawn=2, correct={"x"} if p.id == "pool-0" else set()) for p in ps}
    forward = {r.problem.id: r for r in budget.plan(ps, tallies, 1, SETTINGS, 1)}
    backward = {r.problem.id: r for r in budget.plan(ps[::-1], tallies, 1, SETTINGS, 1)}
    assert forward == backward and sum(r.count for r in forward.values()) == 4 and "pool-0" not in forward
    assert {r.seed for r in forward.values()} == {sample_seed(0, "grow", 1, 1, pid) for pid in forward}
    assert {r.first_index for r in forward.values()} == {2}
    other_round = budget.plan(ps, tallies, 2, SETTINGS, 1)
    assert {r.seed for r in other_round}.isdisjoint(r.seed for r in forward.values())


def test_the_fixed_budget_is_the_default_and_plans_what_grow_always_drew():
    assert isinstance(build(config().budget), Fixed)
    ps = problems(3)
    (plan,) = play(Fixed(), ps, {p.id: 0.5 for p in ps})[1]
    assert [(r.problem, r.count, r.first_index, r.seed) for r in plan] == [
        (p, 8, 0, sample_seed(0, "grow", 1, p.id)) for p in ps]


def test_grow_with_the_fixed_budget_gives_the_samples_grow_always_gave(tmp_path, sampler, tiny_model, verifier):
    task, settings = ZeroTask(size=4), sampling(n=3)
    grow_stage(tmp_path / "grown", 1, tiny_model, task, "pool", sampler, settings, verifier, Fixed())
    before = [s for chunk in grow(sampler, tiny_model, task, [task.problems("pool")], settings, verifier, ("grow", 1), 1)
              for s in chunk]
    assert [s.to_row() for s in load_samples(tmp_path / "grown")] == [s.to_row() for s in before]
    assert read_json(tmp_path / "grown" / "stats.json")["rounds"] == 1


class Killed(Exception):
    pass


class DiesAfter(SeededSampler):
    """A SeededSampler killed once it has handed over `batches` batches."""

    def __init__(self, batches: int):
        super().__init__(solvable=(0,))
        self.left = batches

    def stream(self, policy, batches, settings):
        for outputs in super().stream(policy, batches, settings):
            if not self.left:
                raise Killed
            self.left -= 1
            yield outputs


@pytest.mark.parametrize("budget", [Fixed(), Adaptive(4, 2, 6, target=1)])
def test_a_killed_grow_resumes_from_its_finished_chunks_and_equals_an_uninterrupted_one(
        tmp_path, verifier, monkeypatch, budget):
    monkeypatch.setattr("rest.stages.grow.CHUNK", 2)
    task, settings = ZeroTask(size=5, solvable=(0,)), sampling(n=4)
    whole, resumed = SeededSampler(solvable=(0,)), SeededSampler(solvable=(0,))
    grow_stage(tmp_path / "whole", 1, "policy", task, "pool", whole, settings, verifier, budget)
    with pytest.raises(Killed):  # after the first round's first two chunks (problems 0-3) of three
        grow_stage(tmp_path / "grown", 1, "policy", task, "pool", DiesAfter(2), settings, verifier, budget)
    assert len(list((tmp_path / "grown.parts").rglob("*.jsonl"))) == 2 and not (tmp_path / "grown").exists()
    grow_stage(tmp_path / "grown", 1, "policy", task, "pool", resumed, settings, verifier, budget)
    assert resumed.requests[0][0] == "Compute 4 - 4.\n" and resumed.requests == whole.requests[4:]
    assert [s.to_row() for s in load_samples(tmp_path / "grown")] == [s.to_row() for s in load_samples(tmp_path / "whole")]
    assert read_json(tmp_path / "grown" / "stats.json") | {"seconds_grow": 0} == read_json(
        tmp_path / "whole" / "stats.json") | {"seconds_grow": 0}
    assert not (tmp_path / "grown.parts").exists()


def test_a_killed_grow_resumes_from_its_chunks_after_its_run_directory_moved(tmp_path, verifier, monkeypatch):
    monkeypatch.setattr("rest.stages.grow.CHUNK", 2)
    task, settings = ZeroTask(size=5, solvable=(0,)), sampling(n=4)
    (tmp_path / "run" / "iter_1" / "checkpoint").mkdir(parents=True)  # the policy: the run's own checkpoint
    whole, resumed = SeededSampler(solvable=(0,)), SeededSampler(solvable=(0,))
    grow_stage(tmp_path / "whole", 2, "policy", task, "pool", whole, settings, verifier)
    with pytest.raises(Killed):
        grow_stage(tmp_path / "run" / "iter_2" / "grown", 2, str(tmp_path / "run" / "iter_1" / "checkpoint"), task,
                   "pool", DiesAfter(2), settings, verifier)
    moved = (tmp_path / "run").rename(tmp_path / "moved")
    grow_stage(moved / "iter_2" / "grown", 2, str(moved / "iter_1" / "checkpoint"), task, "pool", resumed, settings,
               verifier)
    assert resumed.requests == whole.requests[4:]  # the two chunks made before the move are kept


def test_grow_logs_its_progress_chunk_by_chunk_counting_the_chunks_a_killed_grow_kept(tmp_path, verifier, monkeypatch,
                                                                                     caplog):
    monkeypatch.setattr("rest.stages.grow.CHUNK", 2)
    caplog.set_level(logging.INFO, logger="rest.stages.grow")
    task, settings = ZeroTask(size=5, solvable=(0,)), sampling(n=4)

    def progress() -> list[str]:
        lines = [r.getMessage() for r in caplog.records if "problems sampled" in r.getMessage()]
        caplog.clear()
        return [re.sub(r" in \d+s, about \d+s left$", "", line) for line in lines]

    grow_stage(tmp_path / "whole", 1, "policy", task, "pool", SeededSampler(solvable=(0,)), settings, verifier)
    assert progress() == [f"iteration 1: Grow: {done} of 5 problems sampled ({4 * done} samples)" for done in (2, 4, 5)]
    with pytest.raises(Killed):
        grow_stage(tmp_path / "grown", 1, "policy", task, "pool", DiesAfter(2), settings, verifier)
    progress()
    grow_stage(tmp_path / "grown", 1, "policy", task, "pool", SeededSampler(solvable=(0,)), settings, verifier)
    assert progress() == ["iteration 1: Grow: 5 of 5 problems sampled (20 samples)"]


def test_chunks_kept_by_a_killed_grow_are_dropped_when_the_rerun_samples_otherwise(tmp_path, verifier, monkeypatch):
    monkeypatch.setattr("rest.stages.grow.CHUNK", 2)
    task = ZeroTask(size=5, solvable=(0,))
    with pytest.raises(Killed):
        grow_stage(tmp_path / "grown", 1, "policy", task, "pool", DiesAfter(2), sampling(n=4), verifier)
    rerun = SeededSampler(solvable=(0,))
    grow_stage(tmp_path / "grown", 1, "policy", task, "pool", rerun, sampling(n=4, temperature=0.5), verifier)
    assert [prompt for prompt, _, _ in rerun.requests] == [p.question + "\n" for p in task.problems("pool")]


def test_adaptive_grow_stops_solved_problems_and_reports_rounds(tmp_path, verifier):
    task, fake = ZeroTask(size=3, solvable=(0,)), SeededSampler(solvable=(0,))
    grow_stage(tmp_path / "grown", 1, "policy", task, "pool", fake, sampling(), verifier, Adaptive(4, 1, 6, target=2))
    samples = load_samples(tmp_path / "grown")
    indices = {pid: [s.sample_index for s in samples if s.problem_id == pid] for pid in ("pool-0", "pool-1", "pool-2")}
    assert indices == {"pool-0": [0, 1], "pool-1": [0, 1, 2, 3, 4], "pool-2": [0, 1, 2, 3, 4]}
    stats = read_json(tmp_path / "grown" / "stats.json")
    assert {k: stats[k] for k in ("grown", "correct", "rounds", "problems_solved", "budget_unspent")} == {
        "grown": 12, "correct": 2, "rounds": 5, "problems_solved": 1, "budget_unspent": 0}
    assert all(n == 1 for _, n, _ in fake.requests)


def test_adaptive_grow_on_vllm_stays_within_budget_and_a_rerun_gives_the_same_samples(
        tmp_path, sampler, tiny_model, verifier, monkeypatch):
    task, budget = ZeroTask(size=3), Adaptive(3.5, 2, 4, target=1)  # 10 samples: 6, then 4 shared as 2 + 1 + 1
    for run in ("first", "rerun", "one_prompt_per_batch"):
        if run == "one_prompt_per_batch":
            monkeypatch.setattr("rest.stages.grow.CHUNK", 1)
        grow_stage(tmp_path / run, 1, tiny_model, task, "pool", sampler, sampling(), verifier, budget)
    first, rerun, rebatched = (load_samples(tmp_path / run) for run in ("first", "rerun", "one_prompt_per_batch"))
    assert len(first) <= 10 and [s.to_row() for s in first] == [s.to_row() for s in rerun]
    # other batches, the same samples (log-probabilities may differ in the last digits: CPU kernels and batch size)
    assert [(s.problem_id, s.sample_index, s.token_ids) for s in first] == [
        (s.problem_id, s.sample_index, s.token_ids) for s in rebatched]
    if not any(s.correct for s in first):  # the random tiny model solves nothing: the whole budget is spent
        assert sorted(sum(s.problem_id == p.id for s in first) for p in task.problems("pool")) == [3, 3, 4]


@pytest.mark.parametrize(("override", "key"), [("budget.samples_per_problem=0.5", "budget.samples_per_problem"),
                                               ("budget.per_round=0", "budget.per_round"),
                                               ("budget.max_per_problem=1 budget.per_round=2", "budget.max_per_problem"),
                                               ("budget.target=0", "budget.target")])
def test_bad_budget_settings_are_one_line_from_the_config_check(override, key):
    problem = config_error(CONFIG_DIR, ["budget=adaptive", *override.split()])
    assert problem is not None and key in problem and "\n" not in problem


def test_a_budget_smaller_than_the_problems_stops_run_py_with_one_line_before_work(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "run.py"), "budget=adaptive", "budget.samples_per_problem=0.5",
                             f"hydra.run.dir={tmp_path / 'run'}"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1 and "samples_per_problem" in lines[0], lines
    assert not (tmp_path / "run").exists()
