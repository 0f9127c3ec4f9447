"""`python run.py mode=generate`: Grow + every configured scorer once over a task split, to a dataset.

Work goes in chunks of `mode.chunk_size` problems, in two phases so that model-based scorers get the memory
vLLM held: (1) Grow and judge each chunk (rest/stages/grow.py), written atomically to `chunks/NNNNN.grown.jsonl`
(chunks stream through one engine, the next queued behind the current one, so the engine never drains at a chunk
boundary); (2) score each chunk with every scorer in `scorers`, written atomically to `chunks/NNNNN.jsonl`. A
finished chunk file is never redone, so after a kill at any moment rerunning the same command continues without
duplicated or lost rows; a rerun with other settings (chunk size, shard, problems, policy, sampling, scorers) in
the same directory stops in one line (`chunks/plan.json`). Each problem's samples are seeded from the run seed
and the problem id, so they do not depend on chunking, sharding or resuming. Finally every chunk is gathered into `dataset/`
(`datasets.save_to_disk`), `dataset.parquet` and `dataset.jsonl`.

`mode.pairs=true` also writes DPO preference pairs from the same rows to `pairs/` (rest/pairs.py: TRL's
prompt/chosen/rejected layout, `datasets.load_from_disk`, counts in `pairs/stats.json`): `mode.pairs_by=verifier`
pairs a verified-correct completion with a wrong one, `mode.pairs_by=<scorer name>` the best-scored with the
worst; at most `mode.pairs_per_problem` pairs per problem.

`mode.shard.index` / `mode.shard.count` keep every count-th problem (a Slurm array runs one shard per job);
`mode=merge mode.shards=[DIR, ...]` joins shard outputs in the unsharded order (rest/modes/merge.py).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from omegaconf import OmegaConf

from rest.artifacts import atomic_dir, read_json, write_json, write_text
from rest.config import dotted
from rest.errors import UserError, is_whole
from rest.models import check_model_path
from rest.pairs import check_pairs, preference_pairs, write_pairs
from rest.records import Sample, ids_digest
from rest.run import Run
from rest.stages.grow import grow
from rest.stages.improve import check_references, score_all
from rest.tasks import problems_of

log = logging.getLogger(__name__)
PLAN = "plan.json"  # chunks/plan.json: what the chunks were made with
SAMPLE_COLUMNS = {"problem_id": "string", "sample_index": "int64", "prompt": "string", "completion": "string",
                  "reference": "string", "finish_reason": "string", "num_tokens": "int64",
                  "cumulative_logprob": "float64", "token_ids": ["int64"], "extracted": "string", "correct": "bool",
                  "verdict": "string"}  # a dataset row's Sample fields, with their `datasets` types
SAMPLE_FIELDS = tuple(SAMPLE_COLUMNS)


@dataclass
class Generate:
    """Settings: rest/conf/mode/generate.yaml."""

    split: str
    policy: str | None
    chunk_size: int
    shard: dict
    push_to_hub: str | None
    pairs: bool = False
    pairs_by: str = "verifier"
    pairs_per_problem: int = 4

    def __post_init__(self):  # checked when the mode is built: before any data, model or engine
        problem = self.settings_error()
        if problem:
            raise UserError(problem)

    def settings_error(self) -> str | None:
        index, count = self.shard["index"], self.shard["count"]
        if not is_whole(count, 1):
            return f"mode.shard.count must be a whole number >= 1, got {count!r}"
        if not (is_whole(index, 0) and index < count):
            return f"mode.shard.index must be in [0, {count}), got {index!r}"
        if not is_whole(self.chunk_size, 1):
            return f"mode.chunk_size must be a whole number >= 1, got {self.chunk_size!r}"
        return None

    def run(self, run: Run) -> int:
        if self.policy:
            check_model_path(self.policy, "mode.policy")
        if self.push_to_hub:
            check_hub_token(self.push_to_hub)
        if self.pairs:  # a bad choice fails here, before any data, model or engine
            check_pairs(self.pairs_by, run.cfg.get("scorers") or {}, self.pairs_per_problem)
        index, count = self.shard["index"], self.shard["count"]
        problems = problems_of(run.task, self.split, "generate from")  # a bad data source fails here, before any model
        positions = [i for i in range(len(problems)) if i % count == index]
        if not positions:
            log.warning("generate: shard %d of %d has no problems (the split has %d); its dataset is empty",
                        index, count, len(problems))
        policy = self.policy or run.base_model
        check_references(run.scorers, problems, self.split)  # built (their settings checked) before any sampling
        chunks = [positions[i : i + self.chunk_size] for i in range(0, len(positions), self.chunk_size)]
        check_plan(run.dir, self.plan(run, [problems[i].id for i in positions], policy))
        self.grow_chunks(run, chunks, problems, policy)
        run.free_accelerator()
        self.score_chunks(run, len(chunks), policy)
        meta = {"model": policy, "sampling": json.dumps(OmegaConf.to_container(run.cfg.sampler.grow, resolve=True))}
        rows = [{**row, **meta} for k in range(len(chunks)) for row in read_jsonl(chunk_file(run.dir, k))]
        table = export(rows, run.dir, list(run.scorers))
        if self.pairs:
            write_pairs(run.dir / "pairs", preference_pairs([to_sample(r) for r in rows], self.pairs_by,
                                                            self.pairs_per_problem))
        if self.push_to_hub:
            push(table, self.push_to_hub, run.dir)
        return 0

    def plan(self, run: Run, problem_ids: list[str], policy: str) -> dict:
        """What the chunk files depend on: a rerun resumes them only when it is the same."""
        return {"split": self.split, "shard": dict(self.shard), "chunk_size": self.chunk_size, "policy": policy,
                "problems": ids_digest(problem_ids),
                "sampling": OmegaConf.to_container(run.cfg.sampler.grow, resolve=True),
                "scorers": OmegaConf.to_container(run.cfg.get("scorers") or {}, resolve=True)}

    def grow_chunks(self, run: Run, chunks: list[list[int]], problems, policy: str) -> None:
        """Samples and judges every unfinished chunk through one engine stream."""
        todo = [k for k in range(len(chunks)) if not _done(run.dir, k)]
        start = time.perf_counter()
        wanted = [[problems[i] for i in chunks[k]] for k in todo]
        grown = grow(run.sampler, policy, run.task, wanted, run.grow_settings, run.verifier, ("generate",))
        for k, samples in zip(todo, grown):
            positions = [i for i in chunks[k] for _ in range(run.grow_settings.n)]  # samples come problem by problem
            rows = [{"problem_index": i, **_row(s)} for i, s in zip(positions, samples)]
            write_jsonl(chunk_file(run.dir, k, "grown"), rows)
            log.info("generate: chunk %d/%d grown: %d problems, %d rows (%.1fs since the stream started)",
                     k + 1, len(chunks), len(chunks[k]), len(rows), time.perf_counter() - start)

    def score_chunks(self, run: Run, count: int, policy: str) -> None:
        for k in range(count):
            if chunk_file(run.dir, k).exists():
                continue
            rows = read_jsonl(chunk_file(run.dir, k, "grown"))
            samples = [to_sample(row) for row in rows]
            for name, scorer in run.scorers.items():
                score_all(samples, name, scorer, run.context(policy))
            for row, sample in zip(rows, samples):
                row.update({f"score_{name}": value for name, value in sample.scores.items()})
            write_jsonl(chunk_file(run.dir, k), rows)
            log.info("generate: chunk %d/%d scored by %s", k + 1, count, ", ".join(run.scorers) or "-")


def export(rows: list[dict], run_dir: Path, scorer_names: list[str]):
    """rows -> dataset/ (save_to_disk), dataset.parquet, dataset.jsonl; each written whole, then renamed. Returns the
    `datasets.Dataset`. No rows (a shard without problems) give an empty dataset with the columns rows would have."""
    import datasets

    table = datasets.Dataset.from_list(rows) if rows else empty_dataset(scorer_names)
    with atomic_dir(run_dir / "dataset") as tmp:
        table.save_to_disk(str(tmp), num_shards=None if rows else 1)  # zero shards would not load
    parquet_tmp = run_dir / "dataset.parquet.tmp"
    table.to_parquet(str(parquet_tmp))
    parquet_tmp.replace(run_dir / "dataset.parquet")
    write_jsonl(run_dir / "dataset.jsonl", rows)
    log.info("generate: %d rows -> %s (+ dataset.parquet, dataset.jsonl)", len(rows), run_dir / "dataset")
    return table


def empty_dataset(scorer_names: list[str]):
    """A dataset of no rows with a generated row's columns (datasets cannot infer them from no rows)."""
    import datasets

    kinds = {"problem_index": "int64", **SAMPLE_COLUMNS, **{f"score_{name}": "float64" for name in scorer_names},
             "model": "string", "sampling": "string"}
    features = {name: [datasets.Value(kind[0])] if isinstance(kind, list) else datasets.Value(kind)
                for name, kind in kinds.items()}
    return datasets.Dataset.from_dict({name: [] for name in kinds}, features=datasets.Features(features))


def check_hub_token(repo: str) -> None:
    """Before any work: a push needs a Hugging Face token (checked offline: HF_TOKEN or a saved login)."""
    from huggingface_hub import get_token

    if get_token() is None:
        raise UserError(f"mode.push_to_hub={repo} needs a Hugging Face token: run `hf auth login` or set HF_TOKEN")


def push(table, repo: str, run_dir: Path) -> None:
    """The dataset to the hub, after everything is saved locally: a failed push (network, permissions) is one line
    that says where the dataset is."""
    try:
        table.push_to_hub(repo)
    except Exception as err:  # noqa: BLE001  the hub client's transport errors are not OSErrors; nothing is lost
        first = (str(err).strip().splitlines() or [""])[0]
        raise UserError(f"mode.push_to_hub={repo}: the push failed ({type(err).__name__}: {first}); the dataset is "
                        f"saved in {run_dir}: rerun the same command to push again") from None
    log.info("generate: pushed to the hub as %s", repo)


def check_plan(run_dir: Path, plan: dict) -> None:
    """Chunks made under another plan (chunk size, shard, problems, policy, sampling, scorers) would be mixed into
    this dataset or leave rows out: one line instead. The first run writes chunks/plan.json."""
    path = run_dir / "chunks" / PLAN
    if not path.exists():
        write_json(path, plan)
        return
    made, now = dotted(read_json(path)), dotted(json.loads(json.dumps(plan)))
    keys = sorted(made.keys() | now.keys(), key=lambda k: (k == "problems", k))  # a setting that moved them first
    changed = [key for key in keys if made.get(key) != now.get(key)]
    if changed:
        key = changed[0]
        was, has = ("another set", "others") if key == "problems" else (_shown(made, key), _shown(now, key))
        raise UserError(f"mode=generate: {run_dir} holds chunks made with {key} = {was}; this run has {has}: "
                        "rerun with the same settings to resume, or set a new hydra.run.dir")


def _shown(flat: dict, key: str) -> str:
    return repr(flat[key]) if key in flat else "(not set)"


def chunk_file(run_dir: Path, k: int, phase: str = "") -> Path:
    """chunks/NNNNN.grown.jsonl after Grow, chunks/NNNNN.jsonl once scored."""
    return run_dir / "chunks" / (f"{k:05d}.{phase}.jsonl" if phase else f"{k:05d}.jsonl")


def to_sample(row: dict) -> Sample:
    """A generated row (grown, or scored: its `score_<name>` columns) back as a Sample."""
    scores = {k[len("score_"):]: v for k, v in row.items() if k.startswith("score_")}
    return Sample(iteration=0, **{f: row[f] for f in SAMPLE_FIELDS}, scores=scores)


def _row(sample: Sample) -> dict:
    return {f: getattr(sample, f) for f in SAMPLE_FIELDS}


def _done(run_dir: Path, k: int) -> bool:
    return chunk_file(run_dir, k, "grown").exists() or chunk_file(run_dir, k).exists()


def write_jsonl(path: Path, rows: list[dict]) -> None:
    write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
