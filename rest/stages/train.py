"""Train (the M-step): SFT on the samples an Improve step kept (and the retried ones, rest/stages/retry.py), from
the base model (ReST-EM) or from the previous policy (ReST); ReST may mix in the seed split's worked solutions
(lambda)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from rest.artifacts import load_samples, read_json, write_json
from rest.contracts import Task, Trainer
from rest.reference_answer import ReferenceAnswer

log = logging.getLogger(__name__)


def train_stage(out: Path, iteration: int, trainer: Trainer, samples_dir: Path, init_from: str,
                mix: list[dict] | None, mix_weight: float, extra: Path | None = None, report: dict | None = None,
                answer: ReferenceAnswer | None = None) -> str:
    """SFT `init_from` on the samples kept in `samples_dir`, and in the samples datasets inside `extra` if it
    exists (iter_N/retry/); returns the next policy (the checkpoint at `out`).
    With `mix_weight` = lambda > 0, examples drawn from `mix` make up a fraction lambda of the training set.
    With nothing kept there is nothing to learn: the policy is `init_from`. `report`: where the trainer reports its
    loss curve (the run's logger, rest/loggers.py). train.json counts the completion tokens of the kept and retried
    samples trained on (`tokens_trained`; seed-mix examples are not counted). `answer` (algorithm.answer=reference,
    rest/reference_answer.py): each kept sample's answer is replaced by the reference's."""
    marker = out.with_name("train.json")
    if marker.exists():
        log.info("iteration %d: Train finished before (%s), skipping", iteration, marker)
        return str(out) if read_json(marker)["trained_on"] else init_from  # where the run is now: it may have moved
    examples = kept_examples(samples_dir, answer)
    if extra and extra.exists():
        added = [e for d in sorted(p for p in extra.iterdir() if p.is_dir()) for e in kept_examples(d, answer)]
        log.info("iteration %d: %d retried samples join the %d kept ones", iteration, len(added), len(examples))
        examples += added
    if examples and mix and mix_weight > 0:
        count = round(mix_weight / (1 - mix_weight) * len(examples))
        examples += [mix[i % len(mix)] for i in range(count)]
        log.info("iteration %d: mixing in %d seed examples (lambda = %.2f)", iteration, count, mix_weight)
    start = time.perf_counter()
    if examples:
        log.info("iteration %d: Train: %d examples, starting from %s", iteration, len(examples), init_from)
        policy = trainer.train(examples, init_from, out, report)
    else:
        log.warning("iteration %d: no sample was kept; nothing to train on, the policy stays %s", iteration, init_from)
        policy = init_from
    tokens = sum(e.get("num_tokens", 0) for e in examples)  # seed-mix examples carry no count
    write_json(marker, {"trained_on": len(examples), "tokens_trained": tokens, "init_from": init_from, "policy": policy,
                        "seconds_train": round(time.perf_counter() - start, 2)})
    return policy


def kept_examples(samples_dir: Path, answer: ReferenceAnswer | None = None) -> list[dict]:
    """The kept samples as training examples, each with its loss `weight` (1 unless trainer.weighting set it);
    with `answer`, each completion ends in the reference answer instead of its own (`num_tokens` stays the
    sampled completion's)."""
    return [{"prompt": s.prompt, "completion": answer(s) if answer else s.completion, "num_tokens": s.num_tokens,
             "weight": s.weight} for s in load_samples(samples_dir) if s.kept]


def seed_examples(task: Task) -> list[dict]:
    """The seed split's worked solutions as training examples (ReST's mix-in of the original data)."""
    return [{"prompt": task.prompt(p), "completion": p.solution} for p in task.problems("seed") if p.solution]
