"""The Hugging Face libraries' warnings in a run: each printed once, in the run's own format (and so in run.log)."""

import subprocess
import sys

from conftest import ROOT

from rest.library_logging import LIBRARIES

SCRIPT = """
import logging
logging.basicConfig(format="root %(name)s: %(message)s")
from rest.library_logging import route_to_root
route_to_root()
for name in {libraries!r}:
    logging.getLogger(name + ".some_module").warning("a warning")
"""


def test_each_librarys_warning_is_printed_once_through_the_root_handlers():
    """Before: transformers' bare "[transformers] a warning" never reached the root's handlers; datasets' and the
    hub's printed twice, once bare."""
    result = subprocess.run([sys.executable, "-c", SCRIPT.format(libraries=LIBRARIES)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "CI": "1"})
    assert result.stderr.splitlines() == [f"root {name}.some_module: a warning" for name in LIBRARIES], result.stderr


def test_a_run_writes_the_libraries_warnings_to_its_log_file(tmp_path):
    """A hub dataset that cannot be reached: the hub client's retry warnings are in run.log, the error line too."""
    env = {"PATH": "/usr/bin:/bin", "HF_HOME": str(tmp_path / "hf"), "HF_ENDPOINT": "http://127.0.0.1:9",
           "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1"}
    result = subprocess.run([sys.executable, str(ROOT / "run.py"), "task=math",
                             f"hydra.run.dir={tmp_path / 'run'}"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    log = (tmp_path / "run" / "run.log").read_text()
    output = result.stdout + result.stderr
    assert result.returncode == 2 and "the Hugging Face Hub cannot be reached" in log, output[-2000:]
    retries = [line for line in output.splitlines() if "Retry 1/" in line]
    assert len(retries) == 1 and retries[0] in log, output[-2000:]
