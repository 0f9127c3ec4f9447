"""Re-judge a finished run's samples with this checkout's verifier: does a verifier change move the run's table?

    .venv/bin/python bench/rejudge_run.py outputs/2026-12-01/17-41-22 [--fallback last_expression] [--out F.json]

Every grown sample (iter_N/grown) and every held-out answer (iter_N/eval_problems.jsonl: greedy and sampled) is
judged again against its reference (of the sampled held-out answers only the extracted answers are kept, so
those are judged again without extraction), with the run's verifier settings and its task's `answer_fallback` (from the
run's .hydra/config.yaml), in-process. Reported per iteration: how many pairs, and how many verdicts changed
(with the first few). No change anywhere means the run, repeated with this verifier, keeps the same samples,
trains on the same data and prints the same table.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from datasets import load_from_disk
from omegaconf import OmegaConf

from rest.verifier import Verifier

log = logging.getLogger("bench")


def changes(verifier: Verifier, fallback, completions: list[str], references: list[str], before: list[bool]) -> list:
    after = verifier.verify(completions, references, fallback)
    return [{"completion": c[-120:], "reference": r, "before": b, "after": v.correct, "extracted": v.extracted}
            for c, r, b, v in zip(completions, references, before, after) if bool(b) != v.correct]


def rejudge_iteration(verifier: Verifier, fallback, it_dir: Path) -> dict:
    report = {}
    if (it_dir / "grown").exists():
        grown = load_from_disk(str(it_dir / "grown"))
        report["grown"] = (len(grown), changes(verifier, fallback, grown["completion"], grown["reference"],
                                               grown["correct"]))
    rows = [json.loads(line) for line in (it_dir / "eval_problems.jsonl").read_text().splitlines()]
    report["greedy"] = (len(rows), changes(verifier, fallback, [r["greedy_completion"] for r in rows],
                                           [r["reference"] for r in rows], [r["greedy_correct"] for r in rows]))
    sampled = [(a, r["reference"], c) for r in rows for a, c in zip(r["sampled_extracted"], r["sampled_correct"])]
    judged = verifier.judge([a for a, _, _ in sampled], [ref for _, ref, _ in sampled])  # answers only are kept
    report["sampled_answers"] = (len(sampled), [{"extracted": a, "reference": ref, "before": c, "after": v.correct}
                                                for (a, ref, c), v in zip(sampled, judged) if bool(c) != v.correct])
    return {part: {"pairs": n, "changed": len(diff), "first": diff[:5]} for part, (n, diff) in report.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--fallback", default="task", choices=["task", "none", "last_number", "last_expression"],
                        help="the reading of unmarked answers: the run task's (default), or this one")
    parser.add_argument("--out", type=Path, default=Path("bench/results/rejudge_run.json"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cfg = OmegaConf.load(args.run_dir / ".hydra" / "config.yaml")
    fallback = cfg.task.get("answer_fallback", cfg.verifier.fallback) if args.fallback == "task" else \
        None if args.fallback == "none" else args.fallback
    settings = {k: cfg.verifier[k] for k in ("timeout", "rel_tol", "percent")}
    result = {"run_dir": str(args.run_dir), "task_fallback": fallback, "iterations": {}}
    with Verifier(**settings, workers=0, fallback=cfg.verifier.fallback) as verifier:
        for it_dir in sorted(args.run_dir.glob("iter_*")):
            result["iterations"][it_dir.name] = rejudge_iteration(verifier, fallback, it_dir)
            log.info("%s: %s", it_dir.name, {k: (v["pairs"], v["changed"]) for k, v in
                                             result["iterations"][it_dir.name].items()})
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    log.info("written to %s", args.out)


if __name__ == "__main__":
    main()
