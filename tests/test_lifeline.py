"""A process the loop starts for Train ends when the loop is killed outright (rest/lifeline.py): the launcher with
the loop, each rank with its launcher; a killed run leaves nothing behind that would hold the GPUs or write into the
checkpoint directory its rerun trains into."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
SLEEPER = [sys.executable, "-c", "import time; time.sleep(300)"]


def processes_naming(text: str) -> list[int]:
    """The live (not zombie) processes whose command line contains `text`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if text in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def wait_for(condition, seconds: float) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def start_parent(child_code: str, tag: str) -> subprocess.Popen:
    """A parent process that starts one child (`child_code` makes its command line, tagged) and waits forever."""
    code = (f"import subprocess, sys, time\nfrom rest import lifeline\n{child_code}\n"
            "time.sleep(300)\n")
    return subprocess.Popen([sys.executable, "-c", code, tag], cwd=ROOT)


@pytest.mark.parametrize("child_code", [
    # as the loop starts a launcher
    "subprocess.Popen(lifeline.command([sys.executable, '-c', 'import time; time.sleep(300)', sys.argv[1]]))",
    # as a rank asks, once started
    ("subprocess.Popen([sys.executable, '-c', 'from rest import lifeline; import time; lifeline.die_with_parent(); "
     "time.sleep(300)', sys.argv[1]])"),
], ids=["launcher", "rank"])
def test_a_child_ends_when_its_parent_is_killed_outright(child_code, tmp_path):
    tag = f"lifeline-{tmp_path.name}"
    parent = start_parent(child_code, tag)
    try:
        assert wait_for(lambda: len(processes_naming(tag)) == 2, 30), "the child did not start"
        time.sleep(1)  # the child has asked by now
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        assert wait_for(lambda: not processes_naming(tag), 10), f"left behind: {processes_naming(tag)}"
    finally:
        kill_all(processes_naming(tag))


def test_a_child_whose_parent_ended_before_it_asked_ends_at_once():
    child = subprocess.run([sys.executable, "-m", "rest.lifeline", "1", *SLEEPER], cwd=ROOT, timeout=60)
    assert child.returncode == -signal.SIGTERM  # its parent is not pid 1: it ended before the command ran


def test_a_run_killed_outright_during_train_leaves_no_launcher_or_rank(tmp_path, machine_cores):
    run_dir = tmp_path / "run"
    run = subprocess.Popen([sys.executable, "run.py", "experiment=smoke", "trainer.processes=2",
                            "trainer.num_train_epochs=500", f"hydra.run.dir={run_dir}"], cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ranks = lambda: [pid for pid in processes_naming(str(run_dir)) if pid != run.pid]
    try:
        assert wait_for(lambda: len(ranks()) == 3, 300), "Train's launcher and two ranks did not start"
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        assert wait_for(lambda: not ranks(), 60), f"left behind: {ranks()}"
    finally:
        run.kill()
        kill_all(processes_naming(str(run_dir)))
