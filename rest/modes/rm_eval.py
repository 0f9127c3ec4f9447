"""`python run.py mode=rm_eval`: how well each scorer in `rm_eval.scorers` tells good samples from bad.

(a) With `rm_eval.pairs=FILE.jsonl` (the RM-Bench layout: prompt, chosen, rejected, optional domain):
    pairwise accuracy of each scorer, overall and per domain.
(b) Otherwise, on the task: `rm_eval.n` samples per problem of `rm_eval.split` from the policy (default the
    base model), judged by the verifier. Per scorer: how often a correct sample outscores an incorrect one of
    the same problem, best-of-N accuracy (N in `rm_eval.best_of`) beside random pick, majority vote and the
    verifier as oracle, and the correlation of the score with completion length.
Writes rm_eval.json and rm_eval.md (and, for (b), the scored samples as rm_eval_samples.jsonl) in the run dir.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from rest import ranking
from rest.artifacts import write_json, write_jsonl, write_text
from rest.errors import UserError
from rest.evaluate import majority_answer
from rest.loop import build_scorer
from rest.models import resolve_base_model
from rest.records import Sample
from rest.rows import read_rows, report_bad_rows
from rest.sampler import SamplingSettings, sample_seed
from rest.scorers.exact_answer import label

log = logging.getLogger(__name__)


def run(cfg: DictConfig, run_dir: Path) -> int:
    settings = cfg.rm_eval
    if not settings.scorers:
        raise UserError("rm_eval.scorers is empty: name at least one scorer to evaluate")
    verifier = instantiate(cfg.verifier)
    base = resolve_base_model(cfg.model, instantiate(cfg.task))
    try:
        scorers = {name: build_scorer(scorer_cfg, verifier, base) for name, scorer_cfg in settings.scorers.items()}
        if settings.pairs:
            result = _pairs(settings.pairs, scorers, settings.policy or base)
            table = _pairs_table(result)
        else:
            result, samples = _best_of_n(cfg, scorers, verifier, settings.policy or base)
            table = _best_of_n_table(result)
            write_jsonl(run_dir / "rm_eval_samples.jsonl", [s.to_row() for s in samples])
    finally:
        verifier.close()
    write_json(run_dir / "rm_eval.json", result)
    write_text(run_dir / "rm_eval.md", table)
    log.info("rm_eval written to %s\n%s", run_dir / "rm_eval.md", table)
    return 1 if result.get("bad_rows") else 0


def _pairs(path: str, scorers: dict, policy: str) -> dict:
    rows = read_rows(path, {"prompt": (str,), "chosen": (str,), "rejected": (str,)}, non_empty=("chosen", "rejected"))
    bad = report_bad_rows(rows)
    good = [row.data for row in rows if not row.problem]
    if not good:
        raise UserError(f"rm_eval.pairs: {path} has no usable row")
    result = {"pairs": len(good), "bad_rows": bad, "scorers": {}}
    for name, scorer in scorers.items():
        both = _score(scorer, [(r["prompt"], r["chosen"]) for r in good] + [(r["prompt"], r["rejected"]) for r in good],
                      policy)
        chosen, rejected = both[: len(good)], both[len(good) :]
        by_domain = defaultdict(list)
        for row, c, r in zip(good, chosen, rejected):
            by_domain[str(row.get("domain") or "all")].append((c, r))
        result["scorers"][name] = {
            "accuracy": ranking.pairwise_accuracy(chosen, rejected),
            "by_domain": {d: ranking.pairwise_accuracy(*map(list, zip(*pairs))) for d, pairs in sorted(by_domain.items())},
        }
    return result


def _best_of_n(cfg: DictConfig, scorers: dict, verifier, policy: str) -> tuple[dict, list[Sample]]:
    settings = cfg.rm_eval
    samples = _sample(cfg, policy)
    label(samples, verifier)
    groups_by = {}
    for name, scorer in scorers.items():
        log.info("rm_eval: scoring %d samples with %s", len(samples), name)
        try:
            values = scorer.score(samples, policy)
        finally:
            scorer.close()
        for sample, value in zip(samples, values):
            sample.scores[name] = value
        groups_by[name] = _groups(samples, name)
    correct_groups = _groups(samples, None)
    result = {"policy": policy, "problems": len(correct_groups), "n": settings.n,
              "sample_accuracy": sum(bool(s.correct) for s in samples) / len(samples),
              "best_of": {}, "correct_over_incorrect": {}, "length_correlation": {}}
    for n in settings.best_of:
        row = {"random": ranking.random_pick(correct_groups, n), "majority": _majority(samples, n, verifier),
               **{name: ranking.best_of_n(groups, n) for name, groups in groups_by.items()},
               "oracle": ranking.oracle(correct_groups, n)}
        result["best_of"][str(n)] = row
    for name, groups in groups_by.items():
        accuracy, pairs = ranking.correct_over_incorrect(groups)
        result["correct_over_incorrect"][name] = {"accuracy": accuracy, "pairs": pairs}
        result["length_correlation"][name] = ranking.length_correlation(
            [s.scores[name] for s in samples], [s.num_tokens for s in samples])
    return result, samples


def _sample(cfg: DictConfig, policy: str) -> list[Sample]:
    settings = cfg.rm_eval
    task = instantiate(cfg.task)
    problems = task.problems(settings.split)[: settings.limit or None]
    sampling = SamplingSettings(n=settings.n, temperature=settings.temperature, max_tokens=settings.max_tokens,
                                stop=list(OmegaConf.to_container(settings.stop, resolve=True) or []))
    sampler = instantiate(cfg.sampler.engine)
    prompts = [task.prompt(p) for p in problems]
    try:
        log.info("rm_eval: sampling %d problems x %d with %s", len(problems), settings.n, policy)
        outputs = sampler.generate(policy, prompts, sampling, [sample_seed(settings.seed, "rm_eval", p.id) for p in problems])
    finally:
        sampler.close()
    return [Sample(problem_id=p.id, sample_index=j, iteration=0, prompt=prompt, completion=c.text, reference=p.answer,
                   finish_reason=c.finish_reason, num_tokens=len(c.token_ids), cumulative_logprob=c.cumulative_logprob,
                   token_ids=c.token_ids)
            for p, prompt, completions in zip(problems, prompts, outputs) for j, c in enumerate(completions)]


def _groups(samples: list[Sample], score: str | None) -> list[tuple[list, list[bool]]]:
    """Per problem: (scores under `score`, correctness), in sample order."""
    by_problem: dict[str, tuple[list, list[bool]]] = {}
    for s in samples:
        scores, correct = by_problem.setdefault(s.problem_id, ([], []))
        scores.append(s.scores.get(score) if score else None)
        correct.append(bool(s.correct))
    return list(by_problem.values())


def _majority(samples: list[Sample], n: int, verifier) -> float:
    by_problem: dict[str, list[Sample]] = {}
    for s in samples:
        by_problem.setdefault(s.problem_id, []).append(s)
    votes = [majority_answer([s.extracted for s in group[:n]]) for group in by_problem.values()]
    verdicts = verifier.judge(votes, [group[0].reference for group in by_problem.values()])
    return sum(v.correct for v in verdicts) / max(len(verdicts), 1)


def _score(scorer, pairs: list[tuple[str, str]], policy: str | None) -> list[float | None]:
    samples = [Sample(problem_id=str(i), sample_index=0, iteration=0, prompt=p, completion=c, reference="",
                      finish_reason="", num_tokens=0) for i, (p, c) in enumerate(pairs)]
    try:
        return scorer.score(samples, policy)
    finally:
        scorer.close()


def _pairs_table(result: dict) -> str:
    domains = sorted({d for r in result["scorers"].values() for d in r["by_domain"]})
    lines = ["| scorer | accuracy | " + " | ".join(domains) + " |", "|---" * (len(domains) + 2) + "|"]
    for name, r in result["scorers"].items():
        lines.append(f"| {name} | {_fmt(r['accuracy'])} | " + " | ".join(_fmt(r["by_domain"].get(d)) for d in domains) + " |")
    return "\n".join(lines) + f"\n\n{result['pairs']} pairs ({result['bad_rows']} bad rows skipped); ties count half.\n"


def _best_of_n_table(result: dict) -> str:
    methods = list(next(iter(result["best_of"].values())))
    lines = ["| best-of-N | " + " | ".join(methods) + " |", "|---" * (len(methods) + 1) + "|"]
    for n, row in result["best_of"].items():
        lines.append(f"| N = {n} | " + " | ".join(_fmt(row[m]) for m in methods) + " |")
    lines += ["", "| scorer | correct ranked above incorrect (pairs) | corr(score, length) |", "|---|---|---|"]
    for name, r in result["correct_over_incorrect"].items():
        lines.append(f"| {name} | {_fmt(r['accuracy'])} ({r['pairs']}) | {_fmt(result['length_correlation'][name])} |")
    return "\n".join(lines) + (f"\n\n{result['problems']} problems x {result['n']} samples from {result['policy']}; "
                               f"{_fmt(result['sample_accuracy'])} of samples correct.\n")


def _fmt(value) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"
