"""kill -9 anywhere: `run.py` is SIGKILLed (the whole process group: vLLM's engine and the verifier's workers too)
at a seeded random moment inside each stage, and rerun with the same command each time. The finished run must
equal an uninterrupted one: metrics.jsonl, every grown and improved samples dataset, every eval; and no
temporary file or directory may be left behind.
"""

import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import datasets
import pytest
from conftest import ROOT, run_in_process, run_results

pytestmark = pytest.mark.long

pytestmark = pytest.mark.long

PRESET = ["task.limits.pool=16", "task.limits.test=16", "sampler.grow.n=4", "mode.eval.k=2", "algorithm.iterations=2",
          "scorer=implicit_prm", "scorers.implicit_prm.update=true",
          "scorers.implicit_prm.update_settings.steps=2", "trainer.num_train_epochs=2"]
# (what the log says when the stage starts, the uninterrupted run's seconds for it), in the order the loop runs
# them: learning scorers update after Train
KILLS = [("iteration 0: Evaluate", "seconds_eval", 0), ("iteration 1: Grow:", "seconds_grow", 1),
         ("iteration 1: Improve: scoring", "seconds_improve", 1), ("iteration 1: Train:", "seconds_train", 1),
         ("iteration 1: updating scorer", "seconds_update_implicit_prm", 1),
         ("iteration 1: Evaluate", "seconds_eval", 1), ("iteration 2: Grow:", "seconds_grow", 2)]
AFTER_LAST = "iteration 2: Improve: scoring"  # what the log says when the stage after the last kill's starts
AFTER = dict(zip([k[0] for k in KILLS], [k[0] for k in KILLS[1:]] + [AFTER_LAST]))  # each stage's next stage


def command(run_dir: Path) -> list[str]:
    return [sys.executable, str(ROOT / "run.py"), *PRESET, f"hydra.run.dir={run_dir}"]


def run_to_end(run_dir: Path) -> str:
    result = subprocess.run(command(run_dir), cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def signal_inside(run_dir: Path, marker: str, seconds: float, sig: int = signal.SIGKILL) -> tuple[int, str] | None:
    """Start the run; once `marker` is logged, wait `seconds` and send `sig` to its process group (a terminal's
    Ctrl-C goes to the whole group too); returns its exit status and output, None if the run ended first."""
    with sigint_not_ignored():
        process = subprocess.Popen(command(run_dir), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, start_new_session=True)
    seen, lines = threading.Event(), []
    reader = threading.Thread(target=lambda: ([(lines.append(line), marker in line and seen.set())
                                               for line in process.stdout], seen.set()), daemon=True)
    reader.start()
    seen.wait(timeout=600)  # set by the marker, or by the end of the run's output
    if not any(marker in line for line in lines):
        process.wait()
        return None
    time.sleep(seconds)
    os.killpg(process.pid, sig)
    status = process.wait(timeout=120)
    reader.join(timeout=10)
    return status, "".join(lines)


@contextlib.contextmanager
def sigint_not_ignored():
    """Children started inside take Ctrl-C, as a run started from a terminal does: a test runner started in the
    background (`cmd &` in a script) has SIGINT ignored, which children inherit and Python keeps; a handled SIGINT
    is reset to its default action in the child."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def artifacts(run_dir: Path) -> dict:
    """Every samples dataset and eval of the run, as plain data."""
    found = {}
    for path in sorted(run_dir.glob("iter_*/*")):
        if path.name in ("grown", "samples"):
            found[str(path.relative_to(run_dir))] = datasets.load_from_disk(str(path)).to_list()
        elif path.name in ("eval.json", "eval_problems.jsonl"):
            text = path.read_text()
            found[str(path.relative_to(run_dir))] = [{k: v for k, v in json.loads(line).items() if k != "seconds_eval"}
                                                     for line in text.splitlines()] if path.suffix == ".jsonl" else \
                {k: v for k, v in json.loads(text).items() if k != "seconds_eval"}
    return found


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    """The same job, uninterrupted, in this process."""
    run_dir = tmp_path_factory.mktemp("chaos") / "uninterrupted"
    log = run_in_process(run_dir, *PRESET)
    assert log.count("starting vLLM engine") == 1  # one engine for the run: each new policy is loaded into it
    return run_dir


def test_a_run_killed_in_every_stage_resumes_to_the_uninterrupted_result(uninterrupted, tmp_path):
    seconds = {row["iteration"]: row for row in (json.loads(line) for line in
                                                 (uninterrupted / "metrics.jsonl").read_text().splitlines())}
    rng, run_dir = random.Random(14), tmp_path / "killed"
    for marker, stage_seconds, iteration in KILLS:
        delay = rng.uniform(0, 0.9 * seconds[iteration][stage_seconds])
        killed = stop_inside(run_dir, marker, AFTER[marker], delay)
        assert killed is not None, f"no kill landed between {marker!r} and {AFTER[marker]!r}"
    run_to_end(run_dir)
    assert run_results(run_dir) == run_results(uninterrupted)
    assert artifacts(run_dir) == artifacts(uninterrupted)
    assert not list(run_dir.rglob("*.tmp"))


def stop_inside(run_dir: Path, marker: str, after: str, delay: float,
                sig: int = signal.SIGKILL) -> tuple[int, str] | None:
    """Send `sig` to the run `delay` seconds after `marker` is logged, before the next stage (`after`) starts; returns
    its exit status and output, None if no stop landed there. A stage can run faster than in the uninterrupted run
    that timed it, or the machine can lag: a stop that landed after `after` is undone (the directory as it was
    before) and tried again sooner, then at once."""
    before = run_dir.with_name(run_dir.name + ".before")
    shutil.rmtree(before, ignore_errors=True)
    if run_dir.exists():
        shutil.copytree(run_dir, before, symlinks=True)
    for wait in (delay, delay / 4, 0):
        stopped = signal_inside(run_dir, marker, wait, sig)
        if stopped is None:
            return None
        if after not in stopped[1].split(marker, 1)[1]:
            return stopped
        shutil.rmtree(run_dir)
        if before.exists():
            shutil.copytree(before, run_dir, symlinks=True)
    return None


STOPS = [(*KILLS[3], signal.SIGINT, 130, "interrupted; "), (*KILLS[6], signal.SIGINT, 130, "interrupted; "),
         (*KILLS[6], signal.SIGTERM, 143, "terminated (SIGTERM); ")]  # Ctrl-C in Train and in Grow; kill in Grow


def test_ctrl_c_or_sigterm_ends_the_run_in_one_line_and_the_reruns_reach_the_uninterrupted_result(uninterrupted,
                                                                                                  tmp_path):
    """Each stop in turn on the same run directory, each rerun going on from where the last one stopped (one run
    directory for the three: the stages before a stop are not sampled and trained again for each)."""
    metrics = [json.loads(line) for line in (uninterrupted / "metrics.jsonl").read_text().splitlines()]
    for marker, stage_seconds, iteration, sig, code, says in STOPS:
        stopped = stop_inside(tmp_path, marker, AFTER[marker], 0.5 * metrics[iteration][stage_seconds], sig)
        assert stopped is not None, f"no stop landed between {marker!r} and {AFTER[marker]!r}"
        status, output = stopped
        errors = [line for line in output.splitlines() if "ERROR" in line]
        assert status == code and len(errors) == 1 and says in errors[0] and "Traceback" not in output, output[-3000:]
    run_to_end(tmp_path)
    assert run_results(tmp_path) == run_results(uninterrupted) and artifacts(tmp_path) == artifacts(uninterrupted)
    assert not list(tmp_path.rglob("*.tmp"))
