"""Can a model learn to judge this task's samples from the verifier's labels, given far more training than the
loop's update gets? A plain PyTorch loop (no TRL, no vLLM: it runs wherever torch and transformers do, GPU or
CPU) fine-tunes a judge on (P(x, y) -> yes / no) for the training rows, as many yes as no, and after every epoch
scores the held-out rows as the generative verifier does with normalize=true (log of yes's share against no,
which ranks as logit(yes) - logit(no)), reporting correct over incorrect and best-of-4/16 (rest.ranking).

    .venv/bin/python run.py mode=generate mode.split=pool hydra.run.dir=DATA/pool     # labelled training samples
    .venv/bin/python run.py mode=rm_eval hydra.run.dir=DATA/test                      # 16 held-out samples / problem
    .venv/bin/python run.py hydra.run.dir=RUN                                         # the loop's labels
    .venv/bin/python bench/judge_learnability.py --train DATA/pool/dataset.jsonl RUN/iter_{1,2,3}/grown \
        --test DATA/test/rm_eval_samples.jsonl --init data/models/tiny-llama-7f493d043a8a --loss letter \
        --lr 3e-4 --minutes 5 --out judge.json

--labels verifier (default): yes for a sample the verifier judged right; --labels steps: yes only for a right
answer whose every `a op b = c` line holds (filter=rest_em_steps's check); the held-out ranking is always scored
against the verifier's verdicts; `step_check` in the output is how the check itself ranks them (a judge that had
learned it exactly).
--unit line: the judge is asked after each `a op b = c` line instead of after the whole completion (the
completion cut after that line, in the same judge prompt), trained on whether that line holds (as many holding
lines as not), and a held-out sample's score is its weakest line's (the whole completion's when it has none): a
judge that learned one line's arithmetic would rank as `step_check` does.
--loss letter: cross-entropy of the answer letter over the whole vocabulary (the loop's update trains this,
plus the end-of-sequence token); --loss pair: binary cross-entropy of logit(yes) - logit(no). The judge prompt
and answer words are the tiny model's defaults (rest/conf/scorer/generative_verifier.yaml, rest/conf/model/tiny.yaml).
It needs only torch and transformers when every input is a JSONL file.
Results: bench/results/judge_learnability_gpu.json.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from functools import lru_cache
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from rest import ranking
from rest.artifacts import load_samples
from rest.evaluate import majority_answer
from rest.tasks.arithmetic import line_holds, steps_hold
from rest.verifier.equivalence import normalize

TEMPLATE = "{prompt}{completion}\nIs the answer correct?"


def read_rows(path: str) -> list[dict]:
    """A JSONL file of samples (mode=generate, mode=rm_eval) or a loop's iter_N/grown folder."""
    if Path(path).is_dir():
        return [sample.to_row() for sample in load_samples(Path(path))]
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def labelled(rows: list[dict], labels: str) -> list[dict]:
    """Rows the verifier judged, each with its training label: the verifier's verdict, or with `steps` yes only
    for a right answer whose every `a op b = c` line holds (the check of filter=rest_em_steps)."""
    judged = [r for r in rows if r["correct"] is not None]
    if labels == "verifier":
        return [{**r, "label": r["correct"]} for r in judged]
    return [{**r, "label": r["correct"] and steps_hold(r["completion"])} for r in judged]


def step_prefixes(completion: str) -> list[tuple[str, bool]]:
    """The completion up to and including each `a op b = c` line, with whether that line holds."""
    lines = completion.split("\n")
    checked = [(k, line_holds(line)) for k, line in enumerate(lines)]
    return [("\n".join(lines[:k + 1]), holds) for k, holds in checked if holds is not None]


def line_rows(rows: list[dict]) -> list[dict]:
    """--unit line's training rows: each judged sample's step prefixes, labelled by whether the step holds."""
    return [{**r, "completion": prefix, "label": holds}
            for r in rows if r["correct"] is not None for prefix, holds in step_prefixes(r["completion"])]


def balanced(rows: list[dict], rng: random.Random) -> list[dict]:
    """As many yes-labelled rows as no-labelled ones, shuffled."""
    good, bad = [r for r in rows if r["label"]], [r for r in rows if not r["label"]]
    kept = good[:len(bad)] + rng.sample(bad, min(len(bad), len(good)))
    rng.shuffle(kept)
    return kept


class Judge:
    def __init__(self, init: str, device: str) -> None:
        self.tokenizer = AutoTokenizer.from_pretrained(init)
        self.model = AutoModelForCausalLM.from_pretrained(init, dtype=torch.float32).to(device)
        self.device = device
        self.yes, self.no = (self.tokenizer.encode(w, add_special_tokens=False)[0] for w in ("Y", "N"))
        self.encode = lru_cache(maxsize=None)(self._encode)  # each judge prompt is tokenized once, not every epoch

    def _encode(self, prompt: str, completion: str) -> tuple[int, ...]:
        text = TEMPLATE.format(prompt=prompt, completion=completion)
        return tuple(self.tokenizer.encode(text, add_special_tokens=False))

    def last_logits(self, rows: list[dict]) -> torch.Tensor:
        """The logits after each judge prompt (right-padded batch)."""
        seqs = [self.encode(r["prompt"], r["completion"]) for r in rows]
        ids = torch.zeros(len(seqs), max(map(len, seqs)), dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, s in enumerate(seqs):
            ids[i, :len(s)], mask[i, :len(s)] = torch.tensor(s), 1
        logits = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device)).logits
        return logits[torch.arange(len(seqs)), mask.sum(1).to(self.device) - 1]

    def loss(self, rows: list[dict], kind: str) -> torch.Tensor:
        logits = self.last_logits(rows)
        labels = torch.tensor([bool(r["label"]) for r in rows], device=self.device)
        if kind == "pair":
            margin = logits[:, self.yes] - logits[:, self.no]
            return torch.nn.functional.binary_cross_entropy_with_logits(margin, labels.float())
        targets = torch.where(labels, self.yes, self.no)
        return torch.nn.functional.cross_entropy(logits, targets)

    @torch.no_grad()
    def scores(self, rows: list[dict], batch: int = 512) -> list[float]:
        self.model.eval()
        out = []
        for i in range(0, len(rows), batch):
            logits = self.last_logits(rows[i:i + batch])
            out += (logits[:, self.yes] - logits[:, self.no]).tolist()
        self.model.train()
        return out


def line_scores(judge: Judge, test: list[dict]) -> list[float]:
    """--unit line: a sample's score is its weakest step's (the whole completion's when it has no step)."""
    prefixes = [[p for p, _ in step_prefixes(r["completion"])] or [r["completion"]] for r in test]
    flat = [{**r, "completion": p} for r, ps in zip(test, prefixes) for p in ps]
    scores = iter(judge.scores(flat))
    return [min(next(scores) for _ in ps) for ps in prefixes]


def rank(test: list[dict], scores: list[float]) -> dict:
    by_problem: dict[str, tuple[list, list]] = {}
    for row, score in zip(test, scores):
        group = by_problem.setdefault(row["problem_id"], ([], []))
        group[0].append(score)
        group[1].append(bool(row["correct"]))
    groups = list(by_problem.values())
    accuracy, pairs = ranking.correct_over_incorrect(groups)
    return {"correct_over_incorrect": round(accuracy, 4), "pairs": pairs,
            "best_of_4": round(ranking.best_of_n(groups, 4), 4), "best_of_16": round(ranking.best_of_n(groups, 16), 4)}


def baselines(test: list[dict]) -> dict:
    by_problem: dict[str, list[dict]] = {}
    for row in test:
        by_problem.setdefault(row["problem_id"], []).append(row)
    groups = [([None] * len(rows), [bool(r["correct"]) for r in rows]) for rows in by_problem.values()]
    majority = {}
    for n in (4, 16):
        hits = []
        for rows in by_problem.values():
            winner = majority_answer([r["extracted"] for r in rows[:n]])
            hits.append(winner is not None and normalize(winner).key == normalize(rows[0]["reference"]).key)
        majority[n] = round(sum(hits) / len(hits), 4)
    return {"random": {n: round(ranking.random_pick(groups, n), 4) for n in (4, 16)}, "majority": majority,
            "oracle": {n: round(ranking.oracle(groups, n), 4) for n in (4, 16)},
            "step_check": rank(test, [float(steps_hold(r["completion"])) for r in test])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", required=True, nargs="+", help="JSONL files or iter_N/grown folders")
    for name in ("--test", "--init", "--out"):
        parser.add_argument(name, required=True)
    parser.add_argument("--loss", choices=("letter", "pair"), default="letter")
    parser.add_argument("--labels", choices=("verifier", "steps"), default="verifier")
    parser.add_argument("--unit", choices=("sample", "line"), default="sample")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    score = line_scores if args.unit == "line" else Judge.scores
    torch.manual_seed(args.seed)
    rows = [row for path in args.train for row in read_rows(path)]
    train = balanced(line_rows(rows) if args.unit == "line" else labelled(rows, args.labels), rng)
    test = read_rows(args.test)
    judge = Judge(args.init, "cuda" if torch.cuda.is_available() else "cpu")
    optimizer = torch.optim.AdamW(judge.model.parameters(), lr=args.lr, weight_decay=0.0)
    result = {"args": vars(args), "device": judge.device, "train_rows": len(train), "test_rows": len(test),
              **baselines(test), "epochs": [{"epoch": 0, **rank(test, score(judge, test))}]}
    start = time.perf_counter()
    while time.perf_counter() - start < args.minutes * 60:
        rng.shuffle(train)
        losses = []
        for i in range(0, len(train) - args.batch + 1, args.batch):
            loss = judge.loss(train[i:i + args.batch], args.loss)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        epoch = {"epoch": len(result["epochs"]), "train_loss": round(sum(losses) / len(losses), 4),
                 "seconds": round(time.perf_counter() - start), **rank(test, score(judge, test))}
        result["epochs"].append(epoch)
        print(json.dumps(epoch), flush=True)
        Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
