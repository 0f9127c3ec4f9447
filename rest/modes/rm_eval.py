"""`python run.py mode=rm_eval`: how well each scorer in `mode.scorers` tells good samples from bad.

(a) With `mode.pairs=FILE.jsonl` (the RM-Bench layout: prompt, chosen, rejected, optional domain):
    pairwise accuracy of each scorer, overall and per domain (pairs without one: `(no domain)`).
(b) Otherwise, on the task: `mode.n` samples per problem of `mode.split` from the policy (default the
    base model) with the Grow settings, judged by the verifier. Per scorer: how often a correct sample outscores an incorrect one of
    the same problem, best-of-N accuracy (N in `mode.best_of`) beside random pick, majority vote and the
    verifier as oracle, and the correlation of the score with completion length.
Writes rm_eval.json and rm_eval.md (and, for (b), the scored samples as rm_eval_samples.jsonl) in the run dir.
Both keep their work in `rm_eval.parts/` until those are written: the samples (judged, for (b)), then the samples
again after each scorer. A rerun of a killed or interrupted command skips each scorer already done with the same
settings, and (b) samples nothing, when what the samples came from is the same (`plan.json`: (a) the pairs file's
SHA-256, the policy; (b) the policy, split, limit, n, Grow settings and seed; both the task, verifier and
model); otherwise what was kept is made again.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
from collections import defaultdict
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from omegaconf import OmegaConf

from rest import ranking
from rest.artifacts import read_json, sha256_of, write_json, write_jsonl, write_text
from rest.contracts import Judge, Scorer, ScoringContext
from rest.errors import UserError, is_whole
from rest.evaluate import majority_answer
from rest.models import check_model_path
from rest.modes.generate import read_jsonl
from rest.records import Sample
from rest.rows import Row, read_rows, report_bad_rows
from rest.run import Run
from rest.sampler.settings import sampling_error
from rest.stages.grow import grow, keep_parts_of
from rest.stages.improve import check_references, score_all
from rest.tasks import problems_of

log = logging.getLogger(__name__)
PARTS, SAMPLES, SCORED = "rm_eval.parts", "samples.jsonl", "scored.json"  # what an unfinished (b) keeps
NO_DOMAIN = "(no domain)"  # (a)'s column of the pairs without a domain
BASELINES = ("random", "majority", "oracle")  # (b)'s columns beside the scorers'


@dataclass
class RmEval:
    """Settings: rest/conf/mode/rm_eval.yaml."""

    pairs: str | None
    policy: str | None
    split: str
    limit: int | None
    n: int
    best_of: list[int]
    scorers: dict

    def __post_init__(self):  # checked when the mode is built: before any data, model or engine
        problem = sampling_error({"n": self.n}, "mode") or self.settings_error()
        if problem:
            raise UserError(problem)

    def settings_error(self) -> str | None:
        if self.limit is not None and not is_whole(self.limit, 1):
            return f"mode.limit must be null (every problem of the split) or a whole number >= 1, got {self.limit!r}"
        if self.pairs is None and not all(is_whole(k, 1) and k <= self.n for k in self.best_of):
            return f"mode.best_of must list whole numbers in [1, mode.n = {self.n}], got {list(self.best_of)}"
        if self.pairs is None and not self.best_of:
            return "mode.best_of is empty: list the N of best-of-N to report, e.g. [4, 8, 16]"
        taken = sorted(set(self.scorers or {}) & set(BASELINES))
        if self.pairs is None and taken:
            return (f"mode.scorers.{taken[0]}: {', '.join(BASELINES)} are the table's baseline columns; give the "
                    "scorer another name")
        return None

    def run(self, run: Run) -> int:
        if not self.scorers:
            raise UserError("mode.scorers is empty: name at least one scorer to evaluate")
        if self.policy:
            check_model_path(self.policy, "mode.policy")
        scorers = run.build_scorers(self.scorers, "mode.scorers")
        policy = self.policy or run.base_model
        rows = _pair_rows(self.pairs) if self.pairs else None  # a file that cannot be read: one line, nothing kept
        if rows is None:
            check_references(scorers, problems_of(run.task, self.split, "sample from"), self.split)
        parts = run.dir / PARTS
        keep_parts_of(parts, self.plan(run, policy))
        if rows is not None:
            result = _pairs(rows, scorers, self.scorers, run, policy, parts)
            table = _pairs_table(result)
        else:
            samples = self.sampled(run, policy, parts)
            samples = score_kept(samples, scorers, self.scorers, run.context(policy), run, parts)
            result = _best_of_n(samples, scorers, policy, self.n, self.best_of, run.verifier)
            table = _best_of_n_table(result)
            write_jsonl(run.dir / "rm_eval_samples.jsonl", [s.to_row() for s in samples])
        write_json(run.dir / "rm_eval.json", result)
        write_text(run.dir / "rm_eval.md", table)
        shutil.rmtree(parts)  # the outputs hold everything now
        log.info("rm_eval written to %s\n%s", run.dir / "rm_eval.md", table)
        return 1 if result.get("bad_rows") else 0

    def plan(self, run: Run, policy: str) -> dict:
        """What the kept samples were drawn (or read) and judged with."""
        settings = {key: OmegaConf.to_container(run.cfg[key], resolve=True) for key in ("task", "verifier", "model")}
        if self.pairs:
            return {"pairs_sha256": sha256_of(str(self.pairs)), "policy": policy, **settings}
        return {"policy": policy, "split": self.split, "limit": self.limit, "n": self.n, "seed": run.cfg.seed,
                "sampling": asdict(run.grow_settings), **settings}

    def sampled(self, run: Run, policy: str, parts: Path) -> list[Sample]:
        """The judged samples kept in `parts`, else drawn now and kept there."""
        if (parts / SAMPLES).exists():
            samples = _read_samples(parts / SAMPLES)
            log.info("rm_eval: %d samples kept at %s by an unfinished run; sampling nothing", len(samples), parts)
            return samples
        samples = self.sample(run, policy)
        write_jsonl(parts / SAMPLES, [s.to_row() for s in samples])
        return samples

    def sample(self, run: Run, policy: str) -> list[Sample]:
        """`n` judged samples per problem of the first `limit` problems of `split`, with the Grow settings."""
        problems = problems_of(run.task, self.split, "sample from")[: self.limit or None]
        log.info("rm_eval: sampling %d problems x %d with %s", len(problems), self.n, policy)
        settings = replace(run.grow_settings, n=self.n)
        samples = [s for chunk in grow(run.sampler, policy, run.task, [problems], settings, run.verifier, ("rm_eval",))
                   for s in chunk]
        run.free_accelerator()
        return samples


def _pair_rows(path: str) -> list[Row]:
    return read_rows(path, {"prompt": (str,), "chosen": (str,), "rejected": (str,)}, non_empty=("chosen", "rejected"))


def _pairs(rows: list[Row], scorers: dict[str, Scorer], settings: dict, run: Run, policy: str, parts: Path) -> dict:
    bad = report_bad_rows(rows)
    good = [row.data for row in rows if not row.problem]
    if (parts / SAMPLES).exists():
        samples = _read_samples(parts / SAMPLES)
    else:
        samples = [_pair_sample(i, r["prompt"], r[side]) for side in ("chosen", "rejected") for i, r in enumerate(good)]
    samples = score_kept(samples, scorers, settings, run.context(policy), run, parts)
    result = {"pairs": len(good), "bad_rows": bad, "scorers": {}}
    for name in scorers:
        chosen, rejected = [s.scores[name] for s in samples[: len(good)]], [s.scores[name] for s in samples[len(good) :]]
        by_domain = defaultdict(list)
        for row, c, r in zip(good, chosen, rejected):
            by_domain[str(row.get("domain") or NO_DOMAIN)].append((c, r))
        result["scorers"][name] = {
            "accuracy": ranking.pairwise_accuracy(chosen, rejected),
            "by_domain": {d: ranking.pairwise_accuracy(*map(list, zip(*pairs))) for d, pairs in sorted(by_domain.items())},
        }
    return result


def score_kept(samples: list[Sample], scorers: dict[str, Scorer], settings: dict, context: ScoringContext, run: Run,
               parts: Path) -> list[Sample]:
    """`samples` scored by each scorer in turn, kept in `parts` after each; a scorer that an unfinished run already
    applied with the same settings is skipped. Kept scores of a scorer since removed or changed are
    dropped with all the others (a scorer may leave per-token or per-step rewards too)."""
    done = read_json(parts / SCORED) if (parts / SCORED).exists() else {}
    wanted = {name: json.loads(json.dumps(settings[name])) for name in scorers}
    if any(wanted.get(name) != value for name, value in done.items()):
        samples = [replace(s, scores={}, token_rewards=None, step_rewards=None) for s in samples]
        done = {}
    for name, scorer in scorers.items():
        if name in done:
            log.info("rm_eval: %s's scores kept at %s by an unfinished run", name, parts)
            continue
        score_all(samples, name, scorer, context)
        write_jsonl(parts / SAMPLES, [s.to_row() for s in samples])
        done[name] = wanted[name]
        write_json(parts / SCORED, done)
        run.free_accelerator()  # one judge model in memory at a time
    return samples


def _read_samples(path: Path) -> list[Sample]:
    return [Sample.from_row(row) for row in read_jsonl(path)]


def _best_of_n(samples: list[Sample], scorers: dict[str, Scorer], policy: str, n_samples: int, best_of: list[int],
               verifier: Judge) -> dict:
    groups_by = {name: _groups(samples, name) for name in scorers}
    correct_groups = _groups(samples, None)
    result = {"policy": policy, "problems": len(correct_groups), "n": n_samples,
              "sample_accuracy": sum(bool(s.correct) for s in samples) / len(samples),
              "best_of": {}, "correct_over_incorrect": {}, "length_correlation": {}}
    for n in best_of:
        row = {"random": ranking.random_pick(correct_groups, n), "majority": majority_vote(samples, n, verifier),
               **{name: ranking.best_of_n(groups, n) for name, groups in groups_by.items()},
               "oracle": ranking.oracle(correct_groups, n)}
        result["best_of"][str(n)] = row
    for name, groups in groups_by.items():
        accuracy, pairs = ranking.correct_over_incorrect(groups)
        result["correct_over_incorrect"][name] = {"accuracy": accuracy, "pairs": pairs}
        result["length_correlation"][name] = ranking.length_correlation(
            [s.scores[name] for s in samples], [s.num_tokens for s in samples])
    return result


def _groups(samples: list[Sample], score: str | None) -> list[tuple[list, list[bool]]]:
    """Per problem: (scores under `score`, correctness), in sample order."""
    by_problem: dict[str, tuple[list, list[bool]]] = {}
    for s in samples:
        scores, correct = by_problem.setdefault(s.problem_id, ([], []))
        scores.append(s.scores.get(score) if score else None)
        correct.append(bool(s.correct))
    return list(by_problem.values())


def majority_vote(samples: list[Sample], n: int, verifier: Judge) -> float:
    """Accuracy of the most common extracted answer among each problem's first n samples, judged by `verifier`."""
    by_problem: dict[str, list[Sample]] = {}
    for s in samples:
        by_problem.setdefault(s.problem_id, []).append(s)
    votes = [majority_answer([s.extracted for s in group[:n]]) for group in by_problem.values()]
    verdicts = verifier.judge(votes, [group[0].reference for group in by_problem.values()])
    return sum(v.correct for v in verdicts) / max(len(verdicts), 1)


def _pair_sample(index: int, prompt: str, completion: str) -> Sample:
    return Sample(problem_id=str(index), sample_index=0, iteration=0, prompt=prompt, completion=completion,
                  reference="", finish_reason="", num_tokens=0)


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
