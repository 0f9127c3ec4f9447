"""Config files of the user's own beside rest/conf/ (Hydra's --config-dir and --config-name): the command line
and the composed config are checked before any work, as without them (rest/command_line.py)."""

from pathlib import Path

import pytest
from conftest import error_lines, run_py

from rest.config import CONFIG_DIR
from rest.config_check import config_error


@pytest.fixture
def own_configs(tmp_path) -> Path:
    """A user's config directory: an experiment of theirs, and a primary config of theirs built on rest's."""
    (tmp_path / "own" / "experiment").mkdir(parents=True)
    (tmp_path / "own" / "experiment" / "mine.yaml").write_text("# @package _global_\nalgorithm:\n  iterations: 2\n")
    (tmp_path / "own" / "project.yaml").write_text("defaults:\n  - config\n  - _self_\nseed: 7\n")
    return tmp_path / "own"


def test_a_config_directory_of_the_users_is_checked_like_rest_s_own(own_configs):
    assert config_error(CONFIG_DIR, ["--config-dir", str(own_configs), "experiment=mine"]) is None
    assert config_error(CONFIG_DIR, [f"-cd={own_configs}", "-cn", "project", "mode.eval.k=2"]) is None
    problem = config_error(CONFIG_DIR, ["-cd", str(own_configs), "experiment=mine", "sampler.grow.n=two"])
    assert problem == "sampler.grow.n must be a number, got 'two'"
    assert "experiment/minr" in config_error(CONFIG_DIR, ["-cd", str(own_configs), "experiment=minr"])
    problem = config_error(CONFIG_DIR, ["-cd", str(own_configs), "--config-name", "project", "seed=-1"])
    assert problem is not None and problem.startswith("seed must be"), problem
    (own_configs / "project.yaml").write_text("defaults:\n  - config\n  - _self_\nseed: -1\n")  # the file's own value
    assert config_error(CONFIG_DIR, ["-cd", str(own_configs), "-cn", "project"]).startswith("seed must be")


def test_a_bad_override_beside_the_users_config_directory_is_one_line_before_any_work(own_configs, tmp_path):
    result = run_py("--config-dir", str(own_configs), "experiment=mine", "filter.cap=many", f"hydra.run.dir={tmp_path}/r")
    assert result.returncode == 2 and error_lines(result) == ["error: filter.cap must be a number, got 'many'"]
    assert not (tmp_path / "r").exists()
