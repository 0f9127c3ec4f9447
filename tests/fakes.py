"""Stand-ins for the expensive parts (vLLM, SFT), addressable by Hydra `_target_` in loop tests."""

import json
import re
import signal
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from rest import stop
from rest.sampler import Completion

TEXTS = ["#### 0", "the answer is 0.", "0 - 0 = 0\n#### 0", "#### 1", "I think 0 - 0 = 1\n#### 1", "x"]


class ScriptedSampler:
    """A `Sampler` that answers every prompt with the first n of `texts` (a list, or a function of the prompt).
    `calls` records each call's n (class-wide, for instances Hydra builds)."""

    calls: ClassVar[list[int]] = []
    engine_starts = 0

    def __init__(self, texts: list[str] | Callable[[str], list[str]] = TEXTS, **_):
        self.texts = texts

    def generate(self, policy, prompts, settings, seeds=None):
        ScriptedSampler.calls.append(settings.n)
        return [[Completion(t, list(range(len(t))), "stop", -1.0) for t in self._texts(p)[: settings.n]]
                for p in prompts]

    def stream(self, policy, batches, settings):
        for prompts, seeds in batches:
            yield self.generate(policy, prompts, settings, seeds)

    def release(self):
        pass

    def close(self):
        pass

    def _texts(self, prompt: str) -> list[str]:
        return self.texts(prompt) if callable(self.texts) else self.texts * 4


class CurveSampler(ScriptedSampler):
    """Answers an arithmetic problem ("Compute 2 - 4.") right when `right(prompt, iteration, j)` says so for its
    j-th sample, else wrong; the policy's iteration is read from its path (iter_N/checkpoint; else 0, the base)."""

    right: ClassVar[Callable[[str, int, int], bool]] = staticmethod(lambda prompt, iteration, j: True)

    def generate(self, policy, prompts, settings, seeds=None):
        ScriptedSampler.calls.append(settings.n)
        found = re.search(r"iter_(\d+)", str(policy))
        iteration = int(found.group(1)) if found else 0
        texts = [[self._answer(p, CurveSampler.right(p, iteration, j)) for j in range(settings.n)] for p in prompts]
        return [[Completion(t, [0] * len(t), "stop", -1.0) for t in row] for row in texts]

    @staticmethod
    def _answer(prompt: str, right: bool) -> str:
        value = eval(prompt.removeprefix("Compute ").strip().rstrip("."))  # the task's own digits and + -
        return f"#### {value if right else value + 1}"


class LengthScorer:
    """An unbounded score: the completion's length."""

    bounded = False

    def score(self, samples, context):
        return [float(len(s.completion)) for s in samples]

    def release(self):
        pass


class Stopping(LengthScorer):
    """Scores by length, records how many rows each call scored, and stops the run at call `stop_at` (a kill); with
    `swallowed`, that call's Ctrl-C lands where Python drops it, and the call goes on."""

    def __init__(self, stop_at: int | None = None, swallowed: bool = False):
        self.calls, self.stop_at, self.swallowed = [], stop_at, swallowed

    def score(self, samples, context):
        if len(self.calls) + 1 == self.stop_at:
            if not self.swallowed:
                raise KeyboardInterrupt
            signal_in_a_weakref_callback()
        self.calls.append(len(samples))
        return super().score(samples, context)


class Thing:
    pass


def signal_in_a_weakref_callback(signum: int = signal.SIGINT) -> None:
    """A stop signal handled inside a weakref callback (garbage collection), where Python drops what it raises."""
    thing = Thing()
    watch = weakref.ref(thing, lambda _: stop._stop(signum, None))
    del thing
    assert watch() is None


class RecordingTrainer:
    """Writes a stub checkpoint and records what each step trained on (examples.json) and from."""

    def __init__(self, **_):
        pass

    def train(self, examples, init_from, out_dir, report=None):
        Path(out_dir).mkdir(parents=True)
        (Path(out_dir) / "trained_from.txt").write_text(init_from)
        (Path(out_dir) / "examples.json").write_text(json.dumps(examples))
        return str(out_dir)
