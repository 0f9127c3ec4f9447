"""Shared fixtures and builders: components are built from the shipped config (rest/conf/), so tests run with the
defaults users get; a random tiny Llama (no network); one vLLM engine for the whole session."""

from __future__ import annotations

import os

# Tests never use the network: a name that is not a local path fails at once instead of after the hub's retries
# (set before transformers / datasets read it at import; subprocesses inherit it).
os.environ.setdefault("HF_HUB_OFFLINE", "1")

MACHINE_CORES = sorted(os.sched_getaffinity(0))


def pin_worker_to_its_cores() -> None:
    """Under pytest-xdist, worker i of n computes on every n-th core from the i-th, and so does every process it
    starts (vLLM and torch size their threads by the cores allowed): two workers' engines and torch threads on the
    same cores made each test two to three times slower, more than running them one after the other."""
    worker, count = os.environ.get("PYTEST_XDIST_WORKER"), int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if worker is not None and len(MACHINE_CORES) >= count:
        os.sched_setaffinity(0, MACHINE_CORES[int(worker.removeprefix("gw")) :: count])


pin_worker_to_its_cores()  # before torch is imported: it sizes its thread pool then

import copy
import io
import json
import logging
import subprocess
import sys
from dataclasses import replace
from functools import cache
from pathlib import Path

import pytest
from omegaconf import DictConfig, OmegaConf

from rest import stop
from rest.base_model import init_tiny_llama
from rest.code.sandbox import Limits
from rest.config import build, compose
from rest.contracts import ScoringContext
from rest.models import make_from_source
from rest.run_dir_lock import LOCK_FILE
from rest.sampler import SamplingSettings
from rest.verifier.equivalence import equivalent

ROOT = Path(__file__).resolve().parents[1]
TINY = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 1,
        "num_key_value_heads": 1, "max_position_embeddings": 128}


# The code sandbox's limits in tests (rest/code/sandbox.py). A verdict other than "timeout" must not depend on how
# busy the machine is: beside the other test worker's training ranks and engines a 15 ms program was seen to take
# 2.7 s, so these runs are stopped by their CPU limit and their wall clock has room. The tests of the wall clock
# itself use SANDBOX_CLOCK_LIMITS, and allow a run stopped at its limit BUSY_MACHINE_SLACK seconds more to end (on
# an idle machine it ends within 0.01 s of it).
SANDBOX_LIMITS = Limits(cpu_seconds=2, wall_seconds=30, memory_mb=512, file_mb=16, open_files=64, processes=32,
                        output_bytes=1 << 20)
SANDBOX_CLOCK_LIMITS = replace(SANDBOX_LIMITS, cpu_seconds=1, wall_seconds=2)
BUSY_MACHINE_SLACK = 10

# rest.trainer.SFT's settings besides trl.SFTConfig's, for a trainer made without the config: in this process, full
# fine-tuning, no state of its own
PLAIN_SFT = {"seed": 0, "peft": None, "processes": 1, "launcher": "auto", "accelerate_config": None, "nodes": 1,
             "ray_address": None, "save_strategy": "no"}


LOSS_TOLERANCE = 1e-4  # relative: ranks that see the global batch one process sees (measured here: 1.2e-8)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The modules marked `long` first, in their order: pytest-xdist hands whole modules to its workers in this
    order, so a long one taken last would keep one worker busy after the other has ended."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


@pytest.fixture(scope="module")
def machine_cores():
    """The module's tests, from the first that asks, compute on all of the machine's cores, not their worker's share:
    two ranks, two engines or two nodes need two."""
    own = os.sched_getaffinity(0)
    os.sched_setaffinity(0, MACHINE_CORES)
    yield MACHINE_CORES
    os.sched_setaffinity(0, own)


def short_sft(**settings):
    """The configured trainer (the tiny model's settings) for a short run: 2 epochs, the loss logged every step."""
    return build(config().trainer, num_train_epochs=2, logging_steps=1, **settings)


@pytest.fixture(scope="module")
def train_examples() -> list[dict]:
    """64 of the built-in task's seed examples, for Train in its process group."""
    from rest.stages.train import seed_examples

    return seed_examples(make_task())[:64]


def rank_spec(directory: Path, init_from: str, examples: list[dict], **changes) -> Path:
    """A training spec as rest/process_group.py writes it for the ranks (rest/train_job.py), with `changes`."""
    (directory / "examples.jsonl").write_text("".join(json.dumps(e) + "\n" for e in examples))
    spec = {"init_from": init_from, "seed": 0, "peft": None, "args": {"max_length": 64, "save_strategy": "no"},
            "processes": 1, "examples": "examples.jsonl", "weighting": None, "east_a": 0.0,
            "work_dir": str(directory / "work"), "resume_from": None, "report": None, **changes}
    (directory / "spec.json").write_text(json.dumps(spec))
    return directory / "spec.json"


def run_py(*overrides: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """`python run.py OVERRIDES` in a subprocess (two minutes at most), its output captured."""
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *overrides], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def error_lines(result: subprocess.CompletedProcess) -> list[str]:
    """The non-blank lines a command printed, stdout then stderr."""
    return [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]


def config(*overrides: str) -> DictConfig:
    """The run configuration as `python run.py OVERRIDES` composes it (a copy: callers may change it)."""
    return copy.deepcopy(_composed(overrides))


@cache
def _composed(overrides: tuple[str, ...]) -> DictConfig:
    return compose(list(overrides))


def make_scorer(name: str, **settings):
    """The scorer of rest/conf/scorer/NAME.yaml, with some settings changed."""
    return build(config(f"scorer={name}").scorers[name], **settings)


def make_verifier(**settings):
    return build(config().verifier, **settings)


def judge_settings() -> dict:
    """The verifier's equivalence settings (rel_tol, percent) as configured."""
    return {key: config().verifier[key] for key in ("rel_tol", "percent")}


def check_equivalent(predicted: str, reference: str, expected: bool, **settings) -> None:
    """The answer verifier's equivalence under the configured settings (and `settings` over them) is `expected`."""
    got = equivalent(predicted, reference, **{**judge_settings(), **settings})
    assert isinstance(got, bool), f"equivalent() returned {got!r}, not a bool"
    assert got is expected, f"equivalent({predicted!r}, {reference!r}, {settings}) = {got}, expected {expected}"


def make_task(*overrides: str):
    return build(config(*overrides).task)


def write_jsonl(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def task_from_preset(preset: str, data: str, *overrides: str):
    """A dataset task preset (rest/conf/task/PRESET.yaml) reading the local JSONL file `data` for every split."""
    return make_task(f"task={preset}", "task.path=json", "task.name=null",
                     f"task.data_files={{train: {data}, test: {data}}}", *overrides)


def curve_loop(run_dir: Path, tiny_model: str, right, *overrides: str) -> list[dict]:
    """The loop on 8 pool and 3 test problems with fakes.CurveSampler answering as `right(prompt, iteration, j)`
    says (2 samples per problem) and fakes.RecordingTrainer; returns metrics.jsonl's rows."""
    from fakes import CurveSampler

    from rest.run import execute

    CurveSampler.right = staticmethod(right)
    cfg = config(f"model.path={tiny_model}", "task.sizes.pool=8", "task.sizes.test=3", "sampler.grow.n=2",
                 "mode.eval.k=2", "sampler.engine._target_=fakes.CurveSampler",
                 "trainer._target_=fakes.RecordingTrainer", *overrides)
    OmegaConf.set_struct(cfg, False)
    assert execute(cfg, run_dir) == 0
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def run_in_process(run_dir: Path, *overrides: str, status: int = 0) -> str:
    """The job `python run.py OVERRIDES hydra.run.dir=RUN_DIR` runs, in this process (`rest.run.execute`: none of
    the half minute a new process spends importing the libraries and starting an engine core), which must end with
    `status`; returns what it logged at INFO and above. The command line around it (overrides checked, run.log,
    Hydra's record of the settings, exit codes) is not run."""
    from rest.run import execute

    text, root = io.StringIO(), logging.getLogger()
    handler, level = logging.StreamHandler(text), root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        assert execute(config(*overrides), run_dir) == status
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    return text.getvalue()


def run_results(run_dir: Path) -> list[dict]:
    """metrics.jsonl without what depends on the process rather than the result: timings, and engine starts (a
    resumed run starts its engine again); the run's directory reads RUN."""
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [json.loads(json.dumps({k: v for k, v in row.items() if not k.startswith("seconds_") and k != "engine_starts"})
                       .replace(str(run_dir), "RUN")) for row in rows]


def written(run_dir: Path) -> list[Path]:
    """What a run left in `run_dir`, besides the lock it holds while it runs (rest/run_dir_lock.py)."""
    return [path for path in run_dir.iterdir() if path.name != LOCK_FILE]


def sampling(**changes) -> SamplingSettings:
    """The default Grow settings (the tiny model's), with some changed."""
    grow = OmegaConf.to_container(config().sampler.grow, resolve=True)
    return replace(SamplingSettings(**{**grow, "stop": tuple(grow["stop"])}), **changes)


def context(verifier, policy: str | None = None, base_model: str | None = None, trainer=None,
            step_delimiter: str = "\n") -> ScoringContext:
    def missing():
        raise AssertionError("this scorer was expected to need no model (or trainer)")

    return ScoringContext(verifier=verifier, policy=(lambda: policy) if policy else missing,
                          base_model=(lambda: base_model) if base_model else missing,
                          trainer=(lambda: trainer) if trainer else missing, step_delimiter=lambda: step_delimiter)


@pytest.fixture
def no_stop_signal_yet(monkeypatch):
    """No Ctrl-C or SIGTERM recorded: what a test's stop signals record ends with it."""
    monkeypatch.setattr(stop, "_received", [])


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("tiny-llama")
    init_tiny_llama(path, TINY, seed=0)
    return str(path)


@pytest.fixture(scope="session")
def other_model(tmp_path_factory) -> str:
    """A second tiny Llama, other weights, same tokenizer: a policy or judge that differs from `tiny_model`."""
    path = tmp_path_factory.mktemp("tiny-llama-other")
    init_tiny_llama(path, TINY, seed=1)
    return str(path)


@pytest.fixture(scope="session")
def verifier():
    """The configured verifier, judging in-process (no worker pool: fast, no time limit)."""
    with make_verifier(workers=0) as v:
        yield v


@pytest.fixture(scope="session")
def sampler():
    """The session's engine, its core in its own process: the tests' runs start and close engines in this process
    (one at a time, as a run does), and an in-process one shutting down would tear down vLLM's state under it."""
    engine = build(config().sampler.engine, gpu_memory_utilization=0.1, deterministic_scheduling=False)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def smollm2() -> str:
    """SmolLM2-135M-Instruct as an HF checkpoint, made from the packaged GGUF into the project's model cache
    (data/models/, where model=smollm2 finds it: converted once per clone)."""
    model = config("model=smollm2").model
    model.path = str(ROOT / model.path)
    make_from_source(model)
    return model.path
