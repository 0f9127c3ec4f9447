"""Stage logic without vLLM: a scripted sampler stands in for the engine."""

from rest import stages
from rest.filters import CapPerProblem, Chain, DropDuplicates, KeepCorrect
from rest.records import Problem
from rest.sampler import Completion, SamplingSettings
from rest.scorers.exact_answer import ExactAnswerScorer
from rest.verifier import Verifier

VERIFIER = Verifier(workers=0)


class ScriptedSampler:
    """Answers every prompt with the same texts; counts calls."""

    def __init__(self, texts):
        self.texts, self.calls = texts, 0

    def generate(self, model_path, prompts, settings, seeds=None):
        self.calls += 1
        return [[Completion(t, [1, 2], "stop", -1.0) for t in self.texts[: settings.n]] for _ in prompts]

    def close(self):
        pass


class ZeroTask:
    """Two pool problems whose answer is 0."""

    def problems(self, split):
        return [Problem(id=f"{split}-{i}", question=f"Compute {i} - {i}.", answer="0") for i in range(2)]

    def prompt(self, problem):
        return problem.question + "\n"


def grow(out, sampler, n=3, scorer=None):
    task = ZeroTask()
    keep = Chain([KeepCorrect(), DropDuplicates(), CapPerProblem(1)])
    stages.grow_and_improve(out, 1, "policy", task, sampler, SamplingSettings(n=n),
                            scorer or ExactAnswerScorer(VERIFIER), keep, VERIFIER)


def test_grow_scores_marks_kept_and_is_skipped_when_its_artifact_exists(tmp_path):
    sampler = ScriptedSampler(["#### 0", "#### 1", "no answer"])
    grow(tmp_path / "samples", sampler)
    samples = stages.load_samples(tmp_path / "samples")
    assert [(s.problem_id, s.sample_index) for s in samples] == [(f"pool-{i}", j) for i in range(2) for j in range(3)]
    assert [(s.correct, s.kept, s.scores["exact_answer"]) for s in samples[:3]] == [
        (True, True, 1.0), (False, False, 0.0), (False, False, None)]
    stats = stages.stage_stats(tmp_path)
    assert (stats["grown"], stats["correct"], stats["kept"], stats["unscorable"]) == (6, 2, 2, 2)

    grow(tmp_path / "samples", sampler)
    assert sampler.calls == 1  # the second call found the artifact and did not sample


def test_train_with_nothing_kept_keeps_the_policy_and_records_it(tmp_path):
    grow(tmp_path / "samples", ScriptedSampler(["#### 7"]), n=1)
    policy = stages.train(tmp_path / "checkpoint", 1, trainer=None, samples_dir=tmp_path / "samples",
                          init_from="base")
    assert policy == "base" and stages.stage_stats(tmp_path)["trained_on"] == 0
    assert not (tmp_path / "checkpoint").exists()


def test_a_scorer_update_is_saved_used_next_and_adopted_on_resume(tmp_path, tiny_model):
    from rest.scorers.implicit_prm import ImplicitPRMScorer

    settings = {"steps": 1, "lr": 1e-2, "batch_size": 2}
    scorer = ImplicitPRMScorer(base_model=tiny_model, update_settings=settings)
    grow(tmp_path / "samples", ScriptedSampler(["#### 0", "#### 1"]), n=2, scorer=scorer)
    assert all(s.scores["implicit_prm"] == 0.0 for s in stages.load_samples(tmp_path / "samples"))  # phi = ref
    stages.update_scorer(tmp_path / "scorer", 1, scorer, tmp_path / "samples")
    assert scorer.current == str(tmp_path / "scorer") and stages.stage_stats(tmp_path)["scorer_examples"] == 4

    resumed = ImplicitPRMScorer(base_model=tiny_model, update_settings=settings)
    mtime = (tmp_path / "scorer" / "model.safetensors").stat().st_mtime_ns
    stages.update_scorer(tmp_path / "scorer", 1, resumed, tmp_path / "samples")  # finished before: adopted
    assert resumed.current == str(tmp_path / "scorer")
    assert (tmp_path / "scorer" / "model.safetensors").stat().st_mtime_ns == mtime
    grow(tmp_path / "samples_2", ScriptedSampler(["#### 0", "#### 1"]), n=2, scorer=resumed)
    scores = [s.scores["implicit_prm"] for s in stages.load_samples(tmp_path / "samples_2")]
    assert scores[0] != 0.0 and scores[0] > scores[1]  # the next iteration is scored by the updated PRM


def test_endogenous_reward_ranks_the_verified_samples_in_improve(tmp_path, tiny_model):
    from rest.filters import TopKPerProblem
    from rest.scorers.endogenous import EndogenousScorer

    texts = ["#### 0", "0 - 0 = 0, so the answer is 0.\n#### 0", "#### 1"]
    keep = Chain([KeepCorrect(), TopKPerProblem("endogenous", 1)])
    stages.grow_and_improve(tmp_path / "samples", 1, tiny_model, ZeroTask(), ScriptedSampler(texts),
                            SamplingSettings(n=3), EndogenousScorer(), keep, VERIFIER)
    samples = stages.load_samples(tmp_path / "samples")
    assert [s.correct for s in samples[:3]] == [True, True, False]
    scores = [s.scores["endogenous"] for s in samples[:3]]
    best = max(range(2), key=lambda i: scores[i])
    assert [s.kept for s in samples[:3]] == [i == best for i in range(3)]  # one per problem: the best correct one
