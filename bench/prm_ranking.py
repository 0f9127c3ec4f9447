"""How well a learned scorer ranks held-out samples after one online update, for several update settings: the
implicit PRM (`kind=prm`, the default) or the generative verifier (`kind=judge`).

    .venv/bin/python run.py mode=generate mode.split=pool hydra.run.dir=DATA/pool     # labelled training samples
    .venv/bin/python run.py mode=rm_eval hydra.run.dir=DATA/test                      # 16 held-out samples / problem
    .venv/bin/python bench/prm_ranking.py --train DATA/pool/dataset.jsonl --test DATA/test/rm_eval_samples.jsonl \
        --setting beta=0.05,steps=100,lr=1e-4 --setting beta=1,steps=300,lr=1e-3,init=PATH \
        --setting kind=judge,max_examples=4000

Each setting trains pi_phi (rest/scorers/prm_update.py, exactly as the loop's update does) on the training rows'
verifier labels, from `init` (default: the base model) against pi_ref = `ref` (default: the base model), then
scores the test rows with rest/scorers/implicit_prm.py and reports, per aggregation of step rewards: how often a
correct sample outscores an incorrect one of the same problem, best-of-4 and best-of-16 (with bootstrap standard
errors over problems), and the correlation with length; beside them random pick, majority vote and the oracle.
A setting with `steps=0` scores `init` against `ref` untrained. `--train` and `--test` take a JSONL file or a loop's
`iter_N/grown` folder (the labels the loop's update after iteration N trains on). A `kind=judge` setting trains the
judge as the loop's update does (GenerativeVerifierScorer.update with the run's SFT trainer, the settings of the
model file `model`, default tiny; `lr` and `epochs` override the trainer's when given; `bf16=1` trains in bf16 mixed
precision; `labels=steps` trains on the step check's labels, a right answer counting as right only when every
`a op b = c` line holds) and scores with normalize=true ("sum" holds its scores); `max_examples=0` scores the untrained
judge. A pretrained judge on the tiny model's samples, e.g.:
    --setting kind=judge,model=smollm2,init=data/models/SmolLM2-135M-Instruct,max_examples=0
Results: bench/results/prm_ranking.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from rest import ranking
from rest.artifacts import load_samples
from rest.config import build, compose
from rest.contracts import ScoringContext
from rest.modes.rm_eval import majority_vote
from rest.records import Sample
from rest.scorers.implicit_prm import AGGREGATIONS, aggregate
from rest.scorers.prm_update import train_implicit_prm
from rest.scorers.verdicts import labelled
from rest.tasks.arithmetic import steps_hold

log = logging.getLogger("bench")
BASE = "data/models/tiny-llama-7f493d043a8a"
DEFAULTS = {"kind": "prm", "beta": 0.05, "steps": 100, "lr": 1e-4, "batch_size": 16, "balance": "sample",
            "init": BASE, "ref": BASE, "seed": 0, "delimiter": "\n", "max_examples": 4000, "epochs": 0,
            "model": "tiny", "bf16": 0, "labels": "verifier"}


def read_samples(path: str) -> list[Sample]:
    """A JSONL file of samples (mode=generate, mode=rm_eval) or a loop's `datasets` folder (iter_N/grown)."""
    if Path(path).is_dir():
        return load_samples(Path(path))
    fields = set(Sample.__dataclass_fields__)
    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    return [Sample.from_row({"iteration": 0, **{k: v for k, v in row.items() if k in fields or k.startswith("score_")}})
            for row in rows]


def parse_setting(text: str) -> dict:
    setting = dict(DEFAULTS)
    for item in filter(None, text.split(",")):
        key, value = item.split("=", 1)
        setting[key] = type(DEFAULTS[key])(value) if key in DEFAULTS and key != "lr" else value
    setting["lr"] = float(setting["lr"])
    return setting


def judge_scores(setting: dict, train: list[Sample], test: list[Sample], out: Path) -> dict:
    """Train the generative verifier from `init` on the training rows' labels; its scores go in step_rewards."""
    overrides = ["scorer=generative_verifier", "scorers.generative_verifier.normalize=true",
                 f"scorers.generative_verifier.update_settings.max_examples={setting['max_examples'] or 'null'}",
                 f"model={setting['model']}"] + (["++trainer.bf16=true", "++trainer.use_cpu=true"] if setting["bf16"] else [])
    if setting["epochs"]:
        overrides += [f"trainer.num_train_epochs={setting['epochs']}", f"trainer.learning_rate={setting['lr']}"]
    cfg = compose(overrides)
    judge, trainer = build(cfg.scorers.generative_verifier, model=setting["init"]), build(cfg.trainer)
    context = ScoringContext(verifier=None, policy=lambda: BASE, base_model=lambda: BASE, trainer=lambda: trainer,
                             step_delimiter=lambda: "\n")
    start = time.perf_counter()
    labelled = train if setting["labels"] == "verifier" else step_checked(train)
    stats = judge.update(labelled, context, out) if setting["max_examples"] else {}  # max_examples=0: untrained
    seconds = time.perf_counter() - start
    for sample, value in zip(test, judge.score(test, context)):
        sample.step_rewards = None if value is None else [value]
    judge.release()
    return {"train": stats, "seconds_train": round(seconds, 1)}


def step_checked(samples: list[Sample]) -> list[Sample]:
    """labels=steps: a right answer counts as right only when every `a op b = c` line of it holds."""
    return [replace(s, correct=s.correct and steps_hold(s.completion)) if s.correct else s for s in samples]


def evaluate(setting: dict, train: list[Sample], test: list[Sample], out: Path) -> dict:
    if setting["kind"] == "judge":
        return {"setting": setting, **judge_scores(setting, train, test, out), **ranks(test)}
    start = time.perf_counter()
    init, stats = setting["init"], {}
    if setting["steps"] > 0:
        examples = [(s.prompt, s.completion, bool(s.correct)) for s in train if labelled(s) and s.completion]
        stats = train_implicit_prm(init, setting["ref"], examples, out, beta=setting["beta"], steps=setting["steps"],
                                   lr=setting["lr"], batch_size=setting["batch_size"], balance=setting["balance"],
                                   seed=setting["seed"], batch_tokens=8192, max_length=None)
        init = str(out)
    seconds_train = time.perf_counter() - start
    scorer = build(compose(["scorer=implicit_prm"]).scorers.implicit_prm, model=init, ref_model=setting["ref"],
                   beta=setting["beta"], step_delimiter=setting["delimiter"], keep_step_rewards=True, update=False)
    scorer.score(test, context=None)  # the step delimiter is given, so the context is not needed
    return {"setting": setting, "train": stats, "seconds_train": round(seconds_train, 1), **ranks(test)}


def ranks(test: list[Sample]) -> dict:
    """Per aggregation of each sample's step rewards: correct over incorrect, best-of-4/16, length correlation."""
    result = {}
    for how in AGGREGATIONS:
        scores = [aggregate(s.step_rewards or [], how) for s in test]
        groups = groups_of(test, scores)
        accuracy, pairs = ranking.correct_over_incorrect(groups)
        result[how] = {"correct_over_incorrect": round(accuracy, 4), "pairs": pairs,
                       "best_of_4": round(ranking.best_of_n(groups, 4), 4),
                       "best_of_16": round(ranking.best_of_n(groups, 16), 4),
                       "length_corr": round(ranking.length_correlation(scores, [s.num_tokens for s in test]), 3),
                       "se": standard_errors(groups)}
    return result


def standard_errors(groups: list[tuple[list, list[bool]]]) -> dict:
    """Bootstrap standard errors over problems of correct over incorrect and best-of-16."""
    return {"correct_over_incorrect": round(ranking.bootstrap_se(groups, lambda g: ranking.correct_over_incorrect(g)[0]), 4),
            "best_of_16": round(ranking.bootstrap_se(groups, lambda g: ranking.best_of_n(g, 16)), 4)}


def majorities(test: list[Sample]) -> dict:
    """Majority vote's best-of-4/16, as mode=rm_eval computes it (the run's verifier judges each vote)."""
    with build(compose().verifier, workers=0) as verifier:
        return {n: round(majority_vote(test, n, verifier), 4) for n in (4, 16)}


def groups_of(samples: list[Sample], scores: list[float | None]) -> list[tuple[list, list[bool]]]:
    by_problem: dict[str, tuple[list, list[bool]]] = {}
    for sample, score in zip(samples, scores):
        group = by_problem.setdefault(sample.problem_id, ([], []))
        group[0].append(score)
        group[1].append(bool(sample.correct))
    return list(by_problem.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", required=True)
    parser.add_argument("--test", required=True)
    parser.add_argument("--setting", action="append", default=[])
    parser.add_argument("--out", default="bench/results/prm_ranking.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    train, test = read_samples(args.train), read_samples(args.test)
    groups = groups_of(test, [None] * len(test))
    results = {"train_rows": len(train), "test_rows": len(test),
               "random": {n: round(ranking.random_pick(groups, n), 4) for n in (4, 16)},
               "majority": majorities(test),
               "oracle": {n: round(ranking.oracle(groups, n), 4) for n in (4, 16)}, "settings": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i, text in enumerate(args.setting or [""]):
            result = evaluate(parse_setting(text), train, test, Path(tmp) / f"prm_{i}")
            log.info("%s", json.dumps(result))
            results["settings"].append(result)
            Path(args.out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
