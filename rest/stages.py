"""The loop's stages. Each reads its inputs, writes one artifact atomically, and is skipped when that
artifact already exists, so rerunning a command resumes where it stopped."""

from __future__ import annotations

import logging
import time
from collections import Counter
from pathlib import Path

from rest.artifacts import atomic_dir, read_json, write_json, write_jsonl
from rest.evaluate import EvalSettings, evaluate
from rest.records import Sample
from rest.rewards import normalize
from rest.sampler import SamplingSettings, sample_seed
from rest.scorers.exact_answer import label

log = logging.getLogger(__name__)
STATS = "stats.json"


def grow_and_improve(out: Path, iteration: int, policy: str, task, sampler, settings: SamplingSettings,
                     scorer, keep, verifier, split: str = "pool") -> None:
    """Grow `settings.n` samples per `split` problem with `policy`, judge and score them, mark the kept ones.
    Writes every scored sample (with its `kept` flag) as a `datasets` dataset at `out`. The engine is shut
    down after sampling, so a model-based scorer has the memory."""
    if (out / STATS).exists():
        log.info("iteration %d: grown samples exist at %s, skipping Grow/Improve", iteration, out)
        return
    problems = task.problems(split)
    start = time.perf_counter()
    log.info("iteration %d: Grow: %d problems x %d samples", iteration, len(problems), settings.n)
    prompts = [task.prompt(p) for p in problems]
    seeds = [sample_seed(settings.seed, "grow", iteration, p.id) for p in problems]
    outputs = sampler.generate(policy, prompts, settings, seeds)
    sampler.close()
    samples = [
        Sample(problem_id=p.id, sample_index=j, iteration=iteration, prompt=prompt, completion=c.text,
               reference=p.answer, finish_reason=c.finish_reason, num_tokens=len(c.token_ids),
               cumulative_logprob=c.cumulative_logprob, token_ids=c.token_ids)
        for p, prompt, completions in zip(problems, prompts, outputs) for j, c in enumerate(completions)
    ]
    grow_seconds = time.perf_counter() - start
    stats = {"grown": len(samples), "seconds_grow": round(grow_seconds, 2),
             **improve(samples, scorer, keep, verifier, policy)}
    stats["seconds_improve"] = round(time.perf_counter() - start - grow_seconds, 2)
    save_samples(out, samples, stats)


def improve(samples: list[Sample], scorer, keep, verifier, policy: str | None = None) -> dict:
    """Judge every sample with the verifier (`correct`), score it with the scorer, then mark those the
    filter chain keeps. Returns counts."""
    start = time.perf_counter()
    label(samples, verifier)
    judged = time.perf_counter()
    try:
        scores = scorer.score(samples, policy)
    finally:
        scorer.close()  # a judge model's memory is freed before training
    log.info("Improve: %d samples judged by the verifier in %.1fs, scored by %s in %.1fs", len(samples),
             judged - start, scorer.name, time.perf_counter() - judged)
    for sample, value, reward in zip(samples, scores, normalize(scores, bounded=getattr(scorer, "bounded", False))):
        sample.scores[scorer.name], sample.reward = value, reward
    unscorable = sum(v is None for v in scores)
    if unscorable:
        log.warning("%d of %d samples could not be scored by %s", unscorable, len(samples), scorer.name)
    kept = keep(samples)
    for sample in kept:
        sample.kept = True
    log.info("Improve: %d of %d samples correct, %d kept", sum(bool(s.correct) for s in samples), len(samples), len(kept))
    verdicts = Counter(s.verdict for s in samples)
    return {"kept": len(kept), "correct": sum(bool(s.correct) for s in samples), "unscorable": unscorable,
            "no_answer": verdicts["no_answer"], "timeouts": verdicts["timeout"]}


def refilter(out: Path, iteration: int, source: Path, keep) -> None:
    """ReST's later Improve steps: the samples grown at `source`, filtered again (a higher threshold)."""
    if (out / STATS).exists():
        log.info("iteration %d: filtered samples exist at %s, skipping Improve", iteration, out)
        return
    samples = load_samples(source)
    for sample in samples:
        sample.kept = False
    kept = keep(samples)
    for sample in kept:
        sample.kept = True
    log.info("iteration %d: Improve again on %s: %d of %d samples kept", iteration, source, len(kept), len(samples))
    save_samples(out, samples, {"grown": 0, "kept": len(kept), "correct": sum(bool(s.correct) for s in samples),
                                "filtered_from": str(source)})


def update_scorer(out: Path, iteration: int, scorer, samples_dir: Path) -> None:
    """Online update of a scorer that learns (the implicit PRM) on this iteration's verifier labels; the next
    iteration scores with the checkpoint saved at `out`. When it exists, it is adopted instead of retrained."""
    marker = out.with_name("scorer_update.json")
    if marker.exists():
        log.info("iteration %d: scorer update finished before (%s), using it", iteration, marker)
        scorer.use(read_json(marker)["scorer_checkpoint"])
        return
    start = time.perf_counter()
    log.info("iteration %d: updating scorer %s on this iteration's verifier labels", iteration, scorer.name)
    stats = scorer.update(load_samples(samples_dir), out)
    write_json(marker, {"scorer_checkpoint": str(out), **{f"scorer_{k}": v for k, v in stats.items()},
                        "seconds_scorer_update": round(time.perf_counter() - start, 2)})


def train(out: Path, iteration: int, trainer, samples_dir: Path, init_from: str, mix: list[dict] | None = None,
          mix_weight: float = 0.0) -> str:
    """SFT `init_from` on the samples kept in `samples_dir`; returns the next policy (the checkpoint at `out`).
    With `mix_weight` = lambda > 0, examples drawn from `mix` (the seed split's solutions) make up a fraction
    lambda of the training set. With nothing kept there is nothing to learn: the policy is `init_from`."""
    marker = out.with_name("train.json")
    if marker.exists():
        log.info("iteration %d: Train finished before (%s), skipping", iteration, marker)
        return read_json(marker)["policy"]
    examples = [{"prompt": s.prompt, "completion": s.completion} for s in load_samples(samples_dir) if s.kept]
    if examples and mix and mix_weight > 0:
        count = round(mix_weight / (1 - mix_weight) * len(examples))
        examples += [mix[i % len(mix)] for i in range(count)]
        log.info("iteration %d: mixing in %d seed examples (lambda = %.2f)", iteration, count, mix_weight)
    start = time.perf_counter()
    if examples:
        log.info("iteration %d: Train: %d examples, starting from %s", iteration, len(examples), init_from)
        policy = trainer.train(examples, init_from, out)
    else:
        log.warning("iteration %d: no sample was kept; nothing to train on, the policy stays %s", iteration, init_from)
        policy = init_from
    write_json(marker, {"trained_on": len(examples), "init_from": init_from, "policy": policy,
                        "seconds_train": round(time.perf_counter() - start, 2)})
    return policy


def evaluate_policy(out: Path, iteration: int, policy: str, task, sampler, settings: EvalSettings,
                    verifier) -> dict:
    """Held-out metrics of `policy`, written to `out` (eval.json) with per-problem rows beside it."""
    if out.exists():
        log.info("iteration %d: eval exists at %s, skipping Evaluate", iteration, out)
        return read_json(out)
    log.info("iteration %d: Evaluate %s on %s", iteration, policy, settings.split)
    metrics, rows = evaluate(sampler, policy, task, settings, verifier)
    write_jsonl(out.with_name("eval_problems.jsonl"), rows)
    write_json(out, metrics)
    return metrics


def save_samples(out: Path, samples: list[Sample], stats: dict) -> None:
    import datasets

    with atomic_dir(out) as tmp:
        datasets.Dataset.from_list([s.to_row() for s in samples]).save_to_disk(str(tmp))
        write_json(tmp / STATS, stats)


def load_samples(path: Path) -> list[Sample]:
    import datasets

    return [Sample.from_row(row) for row in datasets.load_from_disk(str(path))]


def stage_stats(iteration_dir: Path) -> dict:
    """Merged numbers of an iteration's finished stages (for metrics.jsonl)."""
    merged = {}
    for path in (iteration_dir / "samples" / STATS, iteration_dir / "scorer_update.json", iteration_dir / "train.json",
                 iteration_dir / "eval.json"):
        if path.exists():
            merged.update(read_json(path))
    return merged
