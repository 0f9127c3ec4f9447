"""mode=generate: a SIGKILLed run resumes to the same dataset; two shards merged equal the unsharded run."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import config

from rest.errors import UserError
from rest.modes.generate import check_plan
from rest.run import execute

pytestmark = pytest.mark.long

ROOT = Path(__file__).resolve().parents[1]
# float32: shards batch their problems otherwise than the unsharded run, and in bf16 that changes log-probabilities
# (and, with real models, tokens: README, "Reproducibility"); in float32 only in the last digits.
SMALL = ["task.limits.pool=40", "mode.chunk_size=2", "sampler.grow.n=3", "sampler.grow.max_tokens=24",
         "sampler.engine.dtype=float32"]
LOGPROB_DIGITS = 1e-4  # what another batching changed in float32 (bench/reproducibility.py: at most 3e-5)


def command(run_dir: Path, *overrides: str) -> list[str]:
    return [sys.executable, str(ROOT / "run.py"), "mode=generate", f"hydra.run.dir={run_dir}", *SMALL, *overrides]


def generate(run_dir: Path, *overrides: str) -> list[dict]:
    result = subprocess.run(command(run_dir, *overrides), cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return [json.loads(line) for line in (run_dir / "dataset.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def full_run(tmp_path_factory) -> Path:
    """The unsharded run, uninterrupted, with preference pairs (which leave its dataset as it is)."""
    run_dir = tmp_path_factory.mktemp("generate") / "full"
    generate(run_dir, "mode.pairs=true")
    return run_dir


@pytest.fixture(scope="module")
def uninterrupted(full_run) -> list[dict]:
    return [json.loads(line) for line in (full_run / "dataset.jsonl").read_text().splitlines()]


def assert_same_rows(got: list[dict], expected: list[dict], logprob_tolerance: float = 0.0) -> None:
    """Equal datasets (log-probabilities within `logprob_tolerance`); on a difference, the first differing row's
    (problem, sample) and its differing fields."""
    assert len(got) == len(expected), f"{len(got)} rows, expected {len(expected)}"
    for row, want in zip(got, expected):
        fields = {k: (row.get(k), want.get(k)) for k in row.keys() | want.keys() if row.get(k) != want.get(k)}
        logprobs = fields.pop("cumulative_logprob", None)
        if logprobs is not None and abs(logprobs[0] - logprobs[1]) > logprob_tolerance:
            fields["cumulative_logprob"] = logprobs
        assert not fields, f"row {(want['problem_index'], want['sample_index'])} differs (got, expected): {fields}"


def test_the_dataset_has_every_problem_and_sample_once_with_scores(uninterrupted, tmp_path):
    keys = [(r["problem_index"], r["sample_index"]) for r in uninterrupted]
    assert keys == [(p, s) for p in range(40) for s in range(3)]
    row = uninterrupted[0]
    for column in ("problem_id", "prompt", "completion", "num_tokens", "finish_reason", "cumulative_logprob",
                   "extracted", "correct", "verdict", "score_exact_answer", "model", "sampling"):
        assert column in row
    assert json.loads(row["sampling"])["n"] == 3


def test_pairs_put_a_verified_correct_completion_against_a_wrong_one_of_the_same_problem(full_run, uninterrupted):
    import datasets

    rows = {(r["problem_id"], r["sample_index"]): r for r in uninterrupted}
    pairs = datasets.load_from_disk(str(full_run / "pairs"))
    assert len(pairs) > 0
    for pair in pairs:
        chosen, rejected = rows[pair["problem_id"], pair["chosen_index"]], rows[pair["problem_id"], pair["rejected_index"]]
        assert chosen["correct"] is True and rejected["correct"] is False
        assert (pair["prompt"], pair["chosen"], pair["rejected"]) == (chosen["prompt"], chosen["completion"],
                                                                      rejected["completion"])
    stats = json.loads((full_run / "pairs" / "stats.json").read_text())
    assert stats["pairs"] == len(pairs) and stats["problems_with_pair"] + stats["problems_without_pair"] == 40


def test_a_run_killed_part_way_resumes_to_the_same_dataset(uninterrupted, tmp_path):
    run_dir = tmp_path / "killed"
    process = subprocess.Popen(command(run_dir), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.time() + 300
    while not (run_dir / "chunks" / "00000.grown.jsonl").exists():
        assert process.poll() is None and time.time() < deadline, "the run ended before its first chunk"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (run_dir / "dataset.jsonl").exists()  # killed part-way
    assert_same_rows(generate(run_dir), uninterrupted)


def test_a_rerun_with_another_chunk_size_stops_in_one_line_and_leaves_the_dataset(full_run, uninterrupted, tmp_path):
    run_dir = tmp_path / "copy"
    shutil.copytree(full_run, run_dir)
    with pytest.raises(UserError, match="holds chunks made with chunk_size = 2; this run has 4"):
        execute(config("mode=generate", *SMALL, "mode.chunk_size=4"), run_dir)
    assert [json.loads(line) for line in (run_dir / "dataset.jsonl").read_text().splitlines()] == uninterrupted


@pytest.mark.parametrize(("change", "message"), [
    ({"chunk_size": 8}, "chunk_size = 4; this run has 8"),
    ({"sampling": {"n": 3, "seed": 0}}, "sampling.n = 2; this run has 3"),
    ({"scorers": {"endogenous": {"alpha": 1.0}}}, "scorers.endogenous.alpha = (not set); this run has 1.0"),
    ({"problems": "b", "shard": {"index": 1, "count": 2}}, "shard.count = 1; this run has 2"),
    ({"problems": "b"}, "problems = another set; this run has others"),
])
def test_chunks_of_another_plan_are_never_resumed(tmp_path, change, message):
    plan = {"chunk_size": 4, "sampling": {"n": 2, "seed": 0}, "scorers": {}, "problems": "a",
            "shard": {"index": 0, "count": 1}}
    check_plan(tmp_path, plan)
    check_plan(tmp_path, dict(plan))  # the same plan resumes
    with pytest.raises(UserError) as raised:
        check_plan(tmp_path, {**plan, **change})
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_two_shards_merged_equal_the_unsharded_run_with_its_pairs(full_run, uninterrupted, tmp_path):
    import datasets

    shards = [tmp_path / "shard0", tmp_path / "shard1"]
    for index, shard in enumerate(shards):
        rows = generate(shard, f"mode.shard.index={index}", "mode.shard.count=2", "mode.pairs=true")
        assert {r["problem_index"] % 2 for r in rows} == {index}
    merged = tmp_path / "merged"
    result = subprocess.run([sys.executable, str(ROOT / "run.py"), "mode=merge", f"mode.shards=[{shards[0]},{shards[1]}]",
                             f"hydra.run.dir={merged}"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert_same_rows([json.loads(line) for line in (merged / "dataset.jsonl").read_text().splitlines()], uninterrupted,
                     LOGPROB_DIGITS)
    pairs = datasets.load_from_disk(str(merged / "pairs")).to_list()  # the shards' pairs were left behind
    assert len(pairs) > 0 and pairs == datasets.load_from_disk(str(full_run / "pairs")).to_list()
    partial = subprocess.run([sys.executable, str(ROOT / "run.py"), "mode=merge", f"mode.shards=[{shards[1]}]",
                              f"hydra.run.dir={tmp_path / 'partial'}"], cwd=ROOT, capture_output=True, text=True,
                             timeout=300)
    assert partial.returncode == 2 and "merge: shard(s) [0] of 2 are not in mode.shards" in partial.stdout + partial.stderr
    assert not (tmp_path / "partial" / "dataset.jsonl").exists()


def test_shards_of_different_shardings_or_sampling_settings_are_not_merged():
    from rest.errors import UserError
    from rest.modes.merge import check_complete, check_same_sampling

    check_complete([(1, 2), (0, 2)])
    check_complete([(0, 2), None])  # a shard that did not record its sharding is not checked
    with pytest.raises(UserError, match=r"split the problems differently \(mode.shard.count \[2, 3\]\)"):
        check_complete([(0, 2), (1, 3)])
    check_same_sampling([{"model": "m", "sampling": "{}"}] * 2)
    with pytest.raises(UserError, match=r"different models or with different sampling settings \(models: \['m'\]\)"):
        check_same_sampling([{"model": "m", "sampling": '{"temperature": 1.0}'}, {"model": "m", "sampling": "{}"}])


def made_shard(run_dir: Path, index: int, rows: list[dict], *, scorers=("exact_answer",), task="arithmetic",
               mode="generate") -> Path:
    """A finished shard's directory as mode=generate leaves it: its rows, chunks/plan.json and recorded config."""
    from omegaconf import OmegaConf

    (run_dir / ".hydra").mkdir(parents=True)
    recorded = {"_target_": f"rest.modes.{mode}.X"} | ({"shard": {"index": index, "count": 2}} if mode == "generate" else {})
    OmegaConf.save({"mode": recorded, "task": {"name": task}}, run_dir / ".hydra" / "config.yaml")
    plan = {"split": "pool", "shard": {"index": index, "count": 2}, "chunk_size": 2, "policy": "m", "problems": str(index),
            "sampling": {"n": 1}, "scorers": {name: {"_target_": name} for name in scorers}}
    (run_dir / "chunks").mkdir()
    (run_dir / "chunks" / "plan.json").write_text(json.dumps(plan))
    (run_dir / "dataset.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return run_dir


def shard_row(problem_index: int, *scores: str) -> dict:
    return {"problem_index": problem_index, "sample_index": 0, "model": "m", "sampling": "{}",
            **{f"score_{name}": 1.0 for name in scores}}


@pytest.mark.parametrize("other, message", [
    ({"scorers": ("exact_answer", "endogenous")}, "were made with different scorers.endogenous._target_"),
    ({"task": "code"}, "were made with different task.name ('arithmetic' and 'code')"),
])
def test_shards_made_with_other_scorers_or_another_task_are_not_merged(tmp_path, other, message):
    from rest.modes.merge import read_shards

    first = made_shard(tmp_path / "a", 0, [shard_row(0, "exact_answer")])
    second = made_shard(tmp_path / "b", 1, [shard_row(1, *other.get("scorers", ("exact_answer",)))], **other)
    with pytest.raises(UserError, match=re.escape(message)):
        read_shards([str(first), str(second)])


def test_rows_with_other_columns_are_not_merged_and_a_merged_directory_is_not_a_shard(tmp_path):
    from rest.modes.merge import check_same_columns, read_shards

    with pytest.raises(UserError, match=r"different columns \(score_endogenous only in some\)"):
        check_same_columns([shard_row(0, "exact_answer"), shard_row(1, "exact_answer", "endogenous")])
    merged = made_shard(tmp_path / "merged", 0, [shard_row(0)], mode="merge")
    with pytest.raises(UserError, match=f"merge: {re.escape(str(merged))} was not made by mode=generate"):
        read_shards([str(merged)])


def test_shards_without_problems_merge_to_an_empty_dataset_that_loads_with_the_columns(tmp_path):
    import datasets

    shards = [str(made_shard(tmp_path / f"s{index}", index, [])) for index in (0, 1)]
    result = subprocess.run([sys.executable, str(ROOT / "run.py"), "mode=merge", f"mode.shards=[{','.join(shards)}]",
                             f"hydra.run.dir={tmp_path / 'merged'}"], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    table = datasets.load_from_disk(str(tmp_path / "merged" / "dataset"))  # zero shards on disk once did not load
    assert len(table) == 0 and {"problem_id", "completion", "correct", "score_exact_answer"} <= set(table.column_names)


def test_shards_that_made_pairs_differently_are_not_merged():
    from omegaconf import OmegaConf

    from rest.modes.merge import pairs_settings

    def mode(**pairs):
        return OmegaConf.create({"pairs": False, "pairs_by": "verifier", "pairs_per_problem": 4, **pairs})

    assert pairs_settings([mode(pairs=True), mode(pairs=True)]) == ("verifier", 4)
    assert pairs_settings([mode(), None]) is None
    with pytest.raises(UserError, match=r"pairs differently \(pairs_by=verifier, pairs_per_problem=4; no pairs\)"):
        pairs_settings([mode(pairs=True), mode()])
    with pytest.raises(UserError, match="pairs_per_problem=2"):
        pairs_settings([mode(pairs=True), mode(pairs=True, pairs_per_problem=2)])


def write_rows(path: Path, rows: list[dict], columns=("question", "answer")) -> None:
    if path.suffix == ".parquet":  # a Parquet file keeps its columns with no rows
        import datasets

        datasets.Dataset.from_dict({c: [r[c] for r in rows] for c in columns}).to_parquet(str(path))
    else:
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))


@pytest.mark.parametrize(("name", "rows", "message"), [
    ("data.jsonl", [{"question": "1+1?", "solution": "#### 2"}], "has no field(s) ['answer']"),
    ("data.jsonl", [], "has an empty data file"),
    ("data.parquet", [], "data.parquet): Instruction \"train\" corresponds to no data"),
], ids=["missing-field", "empty-file", "empty-split"])
def test_a_bad_data_source_fails_before_sampling(tmp_path, name, rows, message):
    data = tmp_path / name
    write_rows(data, rows)
    cfg = config("mode=generate", "task=gsm8k", f"task.path={'parquet' if data.suffix == '.parquet' else 'json'}",
                 "task.name=null", f"task.data_files={{train: {data}, test: {data}}}")
    with pytest.raises(UserError, match=re.escape(message)):  # in this process, before any engine
        execute(cfg, tmp_path / "run")
    assert not (tmp_path / "run" / "chunks").exists()


def no_hub(tmp_path: Path, token: str | None) -> dict:
    """An environment whose hub is unreachable (a closed local port) and whose token is `token` (None: none saved)."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")}
    env.update(HF_HOME=str(tmp_path / "hf_home"), HF_ENDPOINT="http://127.0.0.1:9", HF_HUB_DISABLE_IMPLICIT_TOKEN="1")
    return env | ({"HF_TOKEN": token} if token else {})


def test_a_push_without_a_hub_token_stops_in_one_line_before_sampling(tmp_path):
    result = subprocess.run(command(tmp_path / "run", "mode.push_to_hub=someone/data"), cwd=ROOT, capture_output=True,
                            text=True, timeout=300, env=no_hub(tmp_path, None))
    log = result.stdout + result.stderr
    assert result.returncode == 2 and "Traceback" not in log and "starting vLLM engine" not in log, log[-2000:]
    assert "mode.push_to_hub=someone/data needs a Hugging Face token" in log


def test_a_failed_push_is_one_line_after_the_dataset_and_pairs_are_saved(tmp_path):
    run_dir = tmp_path / "run"
    result = subprocess.run(command(run_dir, "task.limits.pool=4", "mode.pairs=true", "mode.push_to_hub=someone/data"),
                            cwd=ROOT, capture_output=True, text=True, timeout=600, env=no_hub(tmp_path, "hf_not_a_token"))
    log = result.stdout + result.stderr
    assert result.returncode == 2 and "Traceback" not in log, log[-3000:]
    assert "mode.push_to_hub=someone/data: the push failed" in log and f"saved in {run_dir}" in log
    assert len((run_dir / "dataset.jsonl").read_text().splitlines()) == 4 * 3 and (run_dir / "pairs").is_dir()
