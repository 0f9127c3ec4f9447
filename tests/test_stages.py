"""Stage logic without vLLM: a scripted sampler stands in for the engine."""

import logging
import math

import pytest
from conftest import context, make_scorer, sampling
from fakes import ScriptedSampler

from rest.artifacts import load_samples
from rest.filters import CapPerProblem, Chain, DropDuplicates, KeepCorrect, TopKPerProblem
from rest.records import Problem, Sample
from rest.stages import stage_stats
from rest.stages.grow import grow_stage, warn_if_unanswered
from rest.stages.improve import improve, update_scorers
from rest.stages.train import train_stage

KEEP_ONE_CORRECT = Chain([KeepCorrect(), DropDuplicates(), CapPerProblem(1)])


class ZeroTask:
    """Two pool problems whose answer is 0."""

    answer_fallback = None

    def problems(self, split):
        return [Problem(id=f"{split}-{i}", question=f"Compute {i} - {i}.", answer="0") for i in range(2)]

    def prompt(self, problem):
        return problem.question + "\n"


def grow_and_improve(it_dir, sampler, verifier, n=3, scorers=None, keep=KEEP_ONE_CORRECT, policy="policy", base=None):
    scorers = scorers or {"exact_answer": make_scorer("exact_answer")}
    grow_stage(it_dir / "grown", 1, policy, ZeroTask(), "pool", sampler, sampling(n=n), verifier)
    improve(it_dir / "samples", 1, it_dir / "grown", scorers, next(iter(scorers)), keep, context(verifier, policy, base))


def test_grow_judges_improve_scores_and_both_are_skipped_when_their_artifacts_exist(tmp_path, verifier):
    sampler = ScriptedSampler(["#### 0", "#### 1", "no answer"])
    grow_and_improve(tmp_path, sampler, verifier)
    grown, samples = load_samples(tmp_path / "grown"), load_samples(tmp_path / "samples")
    assert [(s.problem_id, s.sample_index) for s in samples] == [(f"pool-{i}", j) for i in range(2) for j in range(3)]
    assert [(s.correct, s.verdict, s.scores) for s in grown[:3]] == [(True, "ok", {}), (False, "ok", {}),
                                                                     (False, "no_answer", {})]
    assert [(s.correct, s.kept, s.scores["exact_answer"]) for s in samples[:3]] == [
        (True, True, 1.0), (False, False, 0.0), (False, False, None)]
    stats = stage_stats(tmp_path)
    assert (stats["grown"], stats["correct"], stats["kept"], stats["unscorable_exact_answer"]) == (6, 2, 2, 2)

    calls = len(ScriptedSampler.calls)
    grow_and_improve(tmp_path, sampler, verifier)
    assert len(ScriptedSampler.calls) == calls  # the second call found the artifacts and did not sample


def test_grow_reads_unmarked_answers_the_way_the_task_says(tmp_path, verifier):
    sampler = ScriptedSampler(["0", "#### 0"])
    for fallback, expected in ((None, [False, True]), ("last_expression", [True, True])):
        task = ZeroTask()
        task.answer_fallback = fallback
        grow_stage(tmp_path / str(fallback), 1, "policy", task, "pool", sampler, sampling(n=2), verifier)
        assert [s.correct for s in load_samples(tmp_path / str(fallback))[:2]] == expected


@pytest.mark.parametrize("completions, warned", [(["no answer", "none", "#### 0"], True),
                                                   (["no answer", "#### 1", "#### 0"], False)])
def test_grow_warns_when_most_completions_have_no_answer_the_verifier_reads(tmp_path, verifier, caplog,
                                                                             completions, warned):
    caplog.set_level(logging.WARNING)
    grow_stage(tmp_path / "grown", 1, "policy", ZeroTask(), "pool", ScriptedSampler(completions), sampling(n=3),
               verifier)
    warnings = [r.getMessage() for r in caplog.records if "no answer the verifier can read" in r.getMessage()]
    expected = (f"iteration 1: 4 of 6 completions have no answer the verifier can read (0 stopped at "
                f"sampler.grow.max_tokens={sampling().max_tokens}): ask for the answer's form in the prompt "
                "(task.prompt_template, task.chat_template) or raise max_tokens")
    assert warnings == ([expected] if warned else [])


def test_the_warning_tells_completions_cut_at_the_engines_context_from_those_cut_at_max_tokens(caplog):
    def cut(finish_reason: str, num_tokens: int) -> Sample:
        return Sample(problem_id="p", sample_index=0, iteration=1, prompt="q", completion="c", reference="0",
                      finish_reason=finish_reason, num_tokens=num_tokens)

    caplog.set_level(logging.WARNING)
    warn_if_unanswered(1, [cut("length", 48), cut("length", 5), cut("length", 5), cut("stop", 3)], 4, max_tokens=48)
    assert ("4 of 4 completions have no answer the verifier can read (1 stopped at sampler.grow.max_tokens=48, 2 at "
            "the engine's context, sampler.engine.max_model_len): ask") in caplog.text
    assert caplog.text.rstrip().endswith("or raise max_tokens or max_model_len")


def test_a_scorer_crash_keeps_the_grown_samples(tmp_path, verifier):
    class Crashing:
        bounded = True

        def score(self, samples, context):
            raise RuntimeError("judge out of memory")

        def release(self):
            pass

    try:
        grow_and_improve(tmp_path, ScriptedSampler(["#### 0"]), verifier, n=1, scorers={"crashing": Crashing()})
    except RuntimeError:
        pass
    assert len(load_samples(tmp_path / "grown")) == 2 and not (tmp_path / "samples").exists()
    calls = len(ScriptedSampler.calls)
    grow_and_improve(tmp_path, ScriptedSampler(["#### 0"]), verifier, n=1)  # rerun: only Improve is redone
    assert len(ScriptedSampler.calls) == calls and stage_stats(tmp_path)["kept"] == 2


class Fixed:
    """A scorer that gives the samples these values, whatever they are."""

    bounded = False

    def __init__(self, values):
        self.values = values

    def score(self, samples, context):
        return self.values

    def release(self):
        pass


def test_a_nan_or_infinite_score_is_counted_as_one_that_could_not_be_scored(tmp_path, verifier):
    scorers = {"exact_answer": make_scorer("exact_answer"), "odd": Fixed([math.nan, -math.inf, 0.5, None])}
    grow_and_improve(tmp_path, ScriptedSampler(["#### 0", "#### 1"]), verifier, n=2, scorers=scorers)
    assert [s.scores["odd"] for s in load_samples(tmp_path / "samples")] == [None, None, 0.5, None]
    assert stage_stats(tmp_path)["unscorable_odd"] == 3


def test_a_scorer_that_returns_too_few_scores_stops_improve(tmp_path, verifier):
    scorers = {"exact_answer": make_scorer("exact_answer"), "short": Fixed([0.5])}
    with pytest.raises(RuntimeError, match="scorer short returned 1 scores for 4 samples"):
        grow_and_improve(tmp_path, ScriptedSampler(["#### 0", "#### 1"]), verifier, n=2, scorers=scorers)


def test_every_scorer_is_a_column_named_by_its_key(tmp_path, verifier, tiny_model):
    scorers = {"exact_answer": make_scorer("exact_answer"), "judge_a": make_scorer("endogenous"),
               "judge_b": make_scorer("endogenous", instruction="Check the arithmetic.\n")}
    grow_and_improve(tmp_path, ScriptedSampler(["#### 0", "0 - 0 = 0\n#### 0"]), verifier, n=2, scorers=scorers,
                     policy=tiny_model)
    samples = load_samples(tmp_path / "samples")
    assert all(set(s.scores) == {"exact_answer", "judge_a", "judge_b"} for s in samples)
    assert samples[0].scores["judge_a"] != samples[0].scores["judge_b"]  # two judges, two columns


def test_train_with_nothing_kept_keeps_the_policy_and_records_it(tmp_path, verifier):
    grow_and_improve(tmp_path, ScriptedSampler(["#### 7"]), verifier, n=1)
    policy = train_stage(tmp_path / "checkpoint", 1, trainer=None, samples_dir=tmp_path / "samples",
                         init_from="base", mix=None, mix_weight=0.0)
    assert policy == "base" and stage_stats(tmp_path)["trained_on"] == 0
    assert not (tmp_path / "checkpoint").exists()


def test_a_scorer_update_is_saved_used_next_and_adopted_on_resume(tmp_path, tiny_model, verifier):
    settings = {"steps": 1, "lr": 1e-2, "batch_size": 2, "balance": "sample", "seed": 0}
    scorer = make_scorer("implicit_prm", update=True, update_settings=settings)
    scorers, ctx = {"implicit_prm": scorer}, context(verifier, tiny_model, base_model=tiny_model)
    grow_and_improve(tmp_path, ScriptedSampler(["#### 0", "#### 1"]), verifier, n=2, scorers=scorers, policy=tiny_model,
                     base=tiny_model)
    assert all(s.scores["implicit_prm"] == 0.0 for s in load_samples(tmp_path / "samples"))  # phi = ref
    update_scorers(tmp_path / "scorers", 1, scorers, tmp_path / "samples", ctx)
    checkpoint = tmp_path / "scorers" / "implicit_prm"
    assert scorer.current(ctx) == str(checkpoint) and stage_stats(tmp_path)["scorer_implicit_prm_examples"] == 4

    resumed = make_scorer("implicit_prm", update=True, update_settings=settings)
    mtime = (checkpoint / "model.safetensors").stat().st_mtime_ns
    update_scorers(tmp_path / "scorers", 1, {"implicit_prm": resumed}, tmp_path / "samples", ctx)  # adopted
    assert resumed.current(ctx) == str(checkpoint)
    assert (checkpoint / "model.safetensors").stat().st_mtime_ns == mtime
    grow_and_improve(tmp_path / "next", ScriptedSampler(["#### 0", "#### 1"]), verifier, n=2,
                     scorers={"implicit_prm": resumed}, policy=tiny_model, base=tiny_model)
    scores = [s.scores["implicit_prm"] for s in load_samples(tmp_path / "next" / "samples")]
    assert scores[0] != 0.0 and scores[0] > scores[1]  # the next iteration is scored by the updated PRM


def test_endogenous_reward_ranks_the_verified_samples_in_improve(tmp_path, tiny_model, verifier):
    texts = ["#### 0", "0 - 0 = 0, so the answer is 0.\n#### 0", "#### 1"]
    keep = Chain([KeepCorrect(), TopKPerProblem("endogenous", 1)])
    grow_and_improve(tmp_path, ScriptedSampler(texts), verifier, scorers={"endogenous": make_scorer("endogenous")},
                     keep=keep, policy=tiny_model)
    samples = load_samples(tmp_path / "samples")
    assert [s.correct for s in samples[:3]] == [True, True, False]
    scores = [s.scores["endogenous"] for s in samples[:3]]
    best = max(range(2), key=lambda i: scores[i])
    assert [s.kept for s in samples[:3]] == [i == best for i in range(3)]  # one per problem: the best correct one
