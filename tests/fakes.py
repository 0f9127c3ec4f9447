"""Stand-ins for the expensive parts (vLLM, SFT), addressable by Hydra `_target_` in loop tests."""

from pathlib import Path
from typing import ClassVar

from rest.sampler import Completion

TEXTS = ["#### 0", "the answer is 0.", "0 - 0 = 0\n#### 0", "#### 1", "I think 0 - 0 = 1\n#### 1", "x"]


class ScriptedEngine:
    """Answers every prompt with the first n of TEXTS."""

    calls: ClassVar[list[int]] = []

    def __init__(self, **_):
        pass

    def generate(self, model_path, prompts, settings, seeds=None):
        ScriptedEngine.calls.append(settings.n)
        return [[Completion(t, list(range(len(t))), "stop", -1.0) for t in (TEXTS * 4)[: settings.n]] for _ in prompts]

    def close(self):
        pass


class LengthScorer:
    """An unbounded score: the completion's length."""

    name = "length"
    bounded = False

    def score(self, samples, policy=None):
        return [float(len(s.completion)) for s in samples]

    def close(self):
        pass


class RecordingTrainer:
    """Writes a stub checkpoint and records what each step trained on and from."""

    def __init__(self, **_):
        pass

    def train(self, examples, init_from, out_dir):
        Path(out_dir).mkdir(parents=True)
        (Path(out_dir) / "trained_from.txt").write_text(init_from)
        return str(out_dir)
