"""`python run.py mode=generate`: Grow + every configured scorer once over a task split, to a dataset.

Work goes in chunks of `generate.chunk_size` problems, in two phases so that model-based scorers get the
memory vLLM held: (1) Grow and judge each chunk with the verifier, written atomically to
`chunks/NNNNN.grown.jsonl` (chunks stream through one engine, the next queued behind the current one, so the
engine never drains at a chunk boundary); (2) score each chunk with `generate.scorers`, written atomically to
`chunks/NNNNN.jsonl`. A finished chunk file is never redone, so after a kill at any moment rerunning the same
command continues without duplicated or lost rows. Each problem's samples are seeded from the run seed and
the problem id, so they do not depend on chunking, sharding or resuming. Finally every chunk is gathered
into `dataset/` (`datasets.save_to_disk`), `dataset.parquet` and `dataset.jsonl`.

`generate.shard.index` / `generate.shard.count` keep every count-th problem (a Slurm array runs one shard per
job); `mode=merge merge.shards=[DIR, ...]` joins shard outputs in the unsharded order (rest/modes/merge.py).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from rest.artifacts import write_text
from rest.errors import UserError
from rest.loop import build_scorer
from rest.models import resolve_base_model
from rest.records import Sample
from rest.sampler import SamplingSettings, sample_seed
from rest.scorers.exact_answer import label

log = logging.getLogger(__name__)


def run(cfg: DictConfig, run_dir: Path) -> int:
    settings = cfg.generate
    shard_index, shard_count = settings.shard.index, settings.shard.count
    if not 0 <= shard_index < shard_count:
        raise UserError(f"generate.shard.index must be in [0, {shard_count}), got {shard_index}")
    task = instantiate(cfg.task)
    problems = task.problems(settings.split)  # a bad data source fails here, before any model or engine
    positions = [i for i in range(len(problems)) if i % shard_count == shard_index]
    if not positions:
        log.warning("generate: shard %d of %d has no problems (the split has %d); its dataset is empty",
                    shard_index, shard_count, len(problems))
    policy = settings.policy or resolve_base_model(cfg.model, task)
    sampling = SamplingSettings(**OmegaConf.to_container(cfg.sampler.grow, resolve=True))
    chunks = [positions[i : i + settings.chunk_size] for i in range(0, len(positions), settings.chunk_size)]
    chunk_dir = run_dir / "chunks"
    verifier = instantiate(cfg.verifier)
    try:
        _grow_chunks(cfg, chunk_dir, chunks, problems, task, policy, sampling, verifier)
        _score_chunks(cfg, chunk_dir, len(chunks), verifier, policy)
    finally:
        verifier.close()
    meta = {"model": policy, "sampling": json.dumps(OmegaConf.to_container(cfg.sampler.grow, resolve=True))}
    rows = [{**row, **meta} for k in range(len(chunks)) for row in _read_jsonl(chunk_dir / f"{k:05d}.jsonl")]
    export(rows, run_dir, settings.get("push_to_hub"))
    return 0


def _grow_chunks(cfg, chunk_dir: Path, chunks: list[list[int]], problems, task, policy: str,
                 sampling: SamplingSettings, verifier) -> None:
    """Samples every unfinished chunk through one engine stream (the next chunk is queued while one ends)."""
    todo = [k for k in range(len(chunks)) if not _done(chunk_dir, k)]
    if not todo:
        return
    requests = {k: [(problems[i], task.prompt(problems[i])) for i in chunks[k]] for k in todo}
    batches = (([prompt for _, prompt in requests[k]], [sample_seed(sampling.seed, "generate", p.id) for p, _ in requests[k]])
               for k in todo)
    sampler = instantiate(cfg.sampler.engine)
    try:
        start = time.perf_counter()
        for k, outputs in zip(todo, sampler.stream(policy, batches, sampling)):
            samples = [Sample(problem_id=p.id, sample_index=j, iteration=0, prompt=prompt, completion=c.text,
                              reference=p.answer, finish_reason=c.finish_reason, num_tokens=len(c.token_ids),
                              cumulative_logprob=c.cumulative_logprob, token_ids=c.token_ids)
                       for (p, prompt), completions in zip(requests.pop(k), outputs) for j, c in enumerate(completions)]
            label(samples, verifier)
            rows = [{"problem_index": i, **_row(s)} for i, s in zip(_repeat(chunks[k], outputs), samples)]
            _write_jsonl(chunk_dir / f"{k:05d}.grown.jsonl", rows)
            log.info("generate: chunk %d/%d grown: %d problems, %d rows (%.1fs since the stream started)",
                     k + 1, len(chunks), len(outputs), len(rows), time.perf_counter() - start)
    finally:
        sampler.close()


def _score_chunks(cfg, chunk_dir: Path, count: int, verifier, policy: str) -> None:
    scorers = [build_scorer(c, verifier, policy) for c in cfg.generate.scorers.values()]
    try:
        for k in range(count):
            if (chunk_dir / f"{k:05d}.jsonl").exists():
                continue
            rows = _read_jsonl(chunk_dir / f"{k:05d}.grown.jsonl")
            samples = [Sample(iteration=0, **{f: row[f] for f in SAMPLE_FIELDS}) for row in rows]
            for scorer in scorers:
                for row, value in zip(rows, scorer.score(samples, policy)):
                    row[f"score_{scorer.name}"] = value
            _write_jsonl(chunk_dir / f"{k:05d}.jsonl", rows)
            log.info("generate: chunk %d/%d scored by %s", k + 1, count, ", ".join(s.name for s in scorers) or "-")
    finally:
        for scorer in scorers:
            scorer.close()


SAMPLE_FIELDS = ("problem_id", "sample_index", "prompt", "completion", "reference", "finish_reason",
                 "num_tokens", "cumulative_logprob", "token_ids", "extracted", "correct", "verdict")


def export(rows: list[dict], run_dir: Path, push_to_hub: str | None = None) -> None:
    """rows -> dataset/ (save_to_disk), dataset.parquet, dataset.jsonl; each written whole, then renamed."""
    import datasets

    from rest.artifacts import atomic_dir

    table = datasets.Dataset.from_list(rows)
    with atomic_dir(run_dir / "dataset") as tmp:
        table.save_to_disk(str(tmp))
    parquet_tmp = run_dir / "dataset.parquet.tmp"
    table.to_parquet(str(parquet_tmp))
    parquet_tmp.replace(run_dir / "dataset.parquet")
    _write_jsonl(run_dir / "dataset.jsonl", rows)
    log.info("generate: %d rows -> %s (+ dataset.parquet, dataset.jsonl)", len(rows), run_dir / "dataset")
    if push_to_hub:
        table.push_to_hub(push_to_hub)  # off by default; needs network and a token


def _row(sample: Sample) -> dict:
    return {f: getattr(sample, f) for f in SAMPLE_FIELDS}


def _repeat(positions: list[int], outputs) -> list[int]:
    return [i for i, completions in zip(positions, outputs) for _ in completions]


def _done(chunk_dir: Path, k: int) -> bool:
    return (chunk_dir / f"{k:05d}.grown.jsonl").exists() or (chunk_dir / f"{k:05d}.jsonl").exists()


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
