"""A dataset or model on the Hugging Face Hub, read where there is no network (a compute node): one line that says
so and what to do, whichever task or setting reads it."""

import os
import subprocess
import sys

import datasets
import httpx2
import huggingface_hub.constants
import pytest
import transformers
from conftest import ROOT, make_task

from rest.errors import UserError
from rest.models import check_model_path

PRESETS = ["gsm8k", "math", "mbpp", "humaneval", "apps"]


def no_server(*args, **kwargs):
    """What `datasets` lets through when it lists `hf://` files and no server answers (task=apps's default)."""
    raise httpx2.ConnectError("[Errno -2] Name or service not known")


@pytest.mark.parametrize("preset", PRESETS)
def test_a_hub_that_cannot_be_reached_is_one_line_saying_how_to_run_offline(preset, monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)  # tests run offline (conftest)
    monkeypatch.setattr(datasets, "load_dataset", no_server)
    task = make_task(f"task={preset}")
    with pytest.raises(UserError) as caught:
        task.problems("test")
    message = str(caught.value)
    assert "\n" not in message and message.startswith("task: cannot load"), message
    assert "the Hugging Face Hub cannot be reached ([Errno -2] Name or service not known)" in message, message
    assert "HF_HUB_OFFLINE=1" in message and "task.data_files" in message, message


def test_offline_mode_without_a_cached_copy_stops_the_run_in_one_line_without_retrying(tmp_path):
    """HF_HUB_OFFLINE=1 makes no request at all: the default APPS files are not cached here, so the run stops at
    once, naming the file."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    result = subprocess.run([sys.executable, str(ROOT / "run.py"), "task=apps", f"hydra.run.dir={tmp_path / 'run'}"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1, lines
    assert "(hf://datasets/codeparrot/apps/test.jsonl): not in the local cache, and HF_HUB_OFFLINE is set" in lines[0]



def model_out_of_reach(*args, **kwargs):
    """What transformers raises for a hub model when no server answers: an OSError raised from the client's error."""
    try:
        no_server()
    except httpx2.ConnectError as err:
        raise OSError("We couldn't connect to 'https://huggingface.co' to load the files") from err


@pytest.mark.parametrize(("offline", "why"), [
    (False, "the Hugging Face Hub cannot be reached (We couldn't connect"),
    (True, "not in the local cache, and HF_HUB_OFFLINE is set (We couldn't connect"),
], ids=["no-network", "offline-mode"])
def test_a_hub_model_out_of_reach_is_one_line_saying_how_to_run_offline(offline, why, monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", offline)
    monkeypatch.setattr(transformers.AutoConfig, "from_pretrained", model_out_of_reach)
    with pytest.raises(UserError) as caught:
        check_model_path("org/model", "scorers.endogenous.model")
    message = str(caught.value)
    assert message.startswith("scorers.endogenous.model 'org/model' is neither a local directory nor a reachable "
                              f"hub model: {why}"), message
    assert message.endswith("or set scorers.endogenous.model to a local directory"), message


def test_a_hub_model_that_does_not_exist_gets_no_advice_about_the_network(monkeypatch):
    def not_on_the_hub(*args, **kwargs):
        raise OSError("org/nope is not a local folder and is not a valid model identifier")

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(transformers.AutoConfig, "from_pretrained", not_on_the_hub)
    with pytest.raises(UserError, match=r"hub model: org/nope is not a local folder and is not a valid model "
                                        r"identifier$"):
        check_model_path("org/nope")
