"""A self-training run on a real chat model (default: experiment=smollm2_arith), measured from outside.

    .venv/bin/python bench/chat_model_run.py                                  # the preset as the README shows it
    .venv/bin/python bench/chat_model_run.py --overrides trainer.peft=null    # full fine-tuning instead of LoRA

Runs `python run.py experiment=... OVERRIDES` from a fresh run directory and samples the resident memory of
its whole process tree (the loop and vLLM's engine processes) every 0.2 s. Each stage's window ends when its
artifact is written (iter_N/grown, samples, train.json, eval.json), so the first window (iteration 0's
Evaluate) also holds the model preparation and the engine start. Reported and written to --out: the metrics
table, wall clock, Grow tokens/s, Train tokens/s (prompt + reply tokens of the kept samples x epochs / Train
seconds), peak RSS per stage, and what each held-out greedy answer is made of: the `#### <n>` format written,
and the arithmetic right (the reference is the answer's last number, format or not).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from omegaconf import OmegaConf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.default_run import cpu_flags
from rest.artifacts import load_samples
from rest.report import format_table
from rest.verifier import Verifier

STAGE_MARKERS = (("grow", "grown/stats.json"), ("improve", "samples/stats.json"), ("train", "train.json"),
                 ("eval", "eval.json"))


class TreeMemory(threading.Thread):
    """Samples the summed RSS of a process and all its descendants until stopped."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.root, self.samples, self.done = psutil.Process(pid), [], threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            try:
                procs = [self.root, *self.root.children(recursive=True)]
                rss = sum(p.memory_info().rss for p in procs if p.is_running())
            except psutil.Error:
                continue
            self.samples.append((time.time(), rss))


def stage_windows(run_dir: Path, start: float) -> list[tuple[str, float, float]]:
    """(iteration/stage, begin, end) in time order, each ending when its artifact was written."""
    ends = sorted((p.stat().st_mtime, f"{it.name}/{stage}") for it in run_dir.glob("iter_*")
                  for stage, marker in STAGE_MARKERS if (p := it / marker).exists())
    begins = [start] + [end for end, _ in ends[:-1]]
    return [(name, begin, end) for begin, (end, name) in zip(begins, ends)]


def peak_rss_gib(samples: list[tuple[float, int]], windows) -> dict[str, float]:
    return {name: round(max((rss for t, rss in samples if begin <= t <= end), default=0) / 2**30, 2)
            for name, begin, end in windows}


def train_tokens_per_second(run_dir: Path, cfg) -> dict[str, float]:
    from transformers import AutoTokenizer

    rates = {}
    for marker in sorted(run_dir.glob("iter_*/train.json")):
        stats = json.loads(marker.read_text())
        kept = [s for s in load_samples(marker.with_name("samples")) if s.kept]
        if not kept or not stats["seconds_train"]:
            continue
        tokenizer = AutoTokenizer.from_pretrained(stats["init_from"])
        tokens = sum(len(tokenizer(s.prompt + s.completion + tokenizer.eos_token)["input_ids"]) for s in kept)
        rates[marker.parent.name] = round(tokens * cfg.trainer.num_train_epochs / stats["seconds_train"], 1)
    return rates


def answer_makeup(run_dir: Path) -> dict[str, dict]:
    """Per iteration: held-out greedy answers with the `####` format, right arithmetic, and both (= pass@1)."""
    lenient = Verifier(timeout=5.0, workers=0, fallback="last_number", rel_tol=1e-9, percent=False)
    makeup = {}
    for path in sorted(run_dir.glob("iter_*/eval_problems.jsonl")):
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        arithmetic = lenient.verify([r["greedy_completion"] for r in rows], [r["reference"] for r in rows])
        makeup[path.parent.name] = {"problems": len(rows),
                                    "format": sum("####" in r["greedy_completion"] for r in rows),
                                    "arithmetic_right": sum(v.correct for v in arithmetic),
                                    "correct": sum(r["greedy_correct"] for r in rows)}
    return makeup


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--experiment", default="smollm2_arith")
    ap.add_argument("--overrides", nargs="*", default=[])
    ap.add_argument("--out", type=Path, default=Path("bench/results/chat_model_run.json"))
    args = ap.parse_args()
    run_dir = Path(tempfile.mkdtemp(prefix="bench-chat-model-"))
    command = [sys.executable, "run.py", f"experiment={args.experiment}", *args.overrides, f"hydra.run.dir={run_dir}"]
    start = time.time()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    memory = TreeMemory(process.pid)
    memory.start()
    log = process.communicate()[0]
    memory.done.set()
    wall = time.time() - start
    if process.returncode != 0:
        raise SystemExit(f"run.py failed:\n{log[-4000:]}")
    cfg = OmegaConf.load(run_dir / ".hydra" / "config.yaml")
    metrics = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    grow = [m for m in metrics if m.get("seconds_grow")]
    result = {
        "command": " ".join(["python run.py", f"experiment={args.experiment}", *args.overrides]),
        "cpu_flags": cpu_flags(), "wall_seconds": round(wall, 1), "metrics": metrics,
        "engine_starts": log.count("starting vLLM engine"),
        "grow_tokens_per_second": {f"iter_{m['iteration']}": round(m["tokens_grown"] / m["seconds_grow"], 1) for m in grow},
        "train_tokens_per_second": train_tokens_per_second(run_dir, cfg),
        "peak_rss_gib": peak_rss_gib(memory.samples, stage_windows(run_dir, start)),
        "greedy_answer_makeup": answer_makeup(run_dir),
    }
    print(f"{result['command']}: {wall:.0f} s wall clock, CPU flags {' '.join(result['cpu_flags'])}\n"
          f"{format_table(metrics)}")
    for key in ("grow_tokens_per_second", "train_tokens_per_second", "peak_rss_gib", "greedy_answer_makeup"):
        print(f"{key}: {json.dumps(result[key])}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
