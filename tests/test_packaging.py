"""rest as an installed package: the wheel carries the configuration, and the `rest` command and `python -m rest`
run a job from a directory that holds no checkout."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, run_results

QUICK_RUN = ["experiment=smoke", "task.limits.pool=8", "task.limits.test=8", "sampler.grow.n=2",
             f"model.build.cache_dir={ROOT / 'data' / 'models'}"]  # the committed base model: no build


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A directory holding rest installed from its wheel (not the checkout's editable install)."""
    source, wheels, target = (tmp_path_factory.mktemp(name) for name in ("source", "wheels", "site"))
    for part in ("pyproject.toml", "README.md"):  # built from a copy: the checkout gets no build/ of stale files
        shutil.copy(ROOT / part, source)
    shutil.copytree(ROOT / "rest", source / "rest", ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)], check=True,
                   capture_output=True, timeout=300)
    (wheel,) = wheels.glob("rest-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True,
                   capture_output=True, timeout=300)
    return target


def from_the_wheel(command: list[str], site: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTHONPATH": str(site)}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_the_wheel_carries_every_config_file_and_the_rest_command(installed):
    package = ROOT / "rest"
    shipped = {p.relative_to(package) for p in package.rglob("*.yaml")}  # rest/conf/, rest/accelerate_configs/
    assert {p.parent.name for p in shipped} >= {"mode", "accelerate_configs"}
    assert {p.relative_to(installed / "rest") for p in (installed / "rest").rglob("*.yaml")} == shipped
    (entry_points,) = installed.glob("rest-*.dist-info/entry_points.txt")
    assert "rest = rest.cli:start" in entry_points.read_text()


def test_python_m_rest_runs_a_job_from_anywhere_with_the_installed_package(installed, tmp_path):
    where = from_the_wheel([sys.executable, "-c", "import rest; print(rest.__file__)"], installed, tmp_path)
    assert Path(where.stdout.strip()).is_relative_to(installed)  # not the checkout's editable install
    result = from_the_wheel([sys.executable, "-m", "rest", *QUICK_RUN, f"hydra.run.dir={tmp_path / 'run'}"],
                            installed, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert [row["iteration"] for row in run_results(tmp_path / "run")] == [0, 1]
    assert (tmp_path / "run" / "run.log").is_file()


def test_the_rest_command_checks_overrides_before_any_work(installed, tmp_path):
    result = from_the_wheel([str(installed / "bin" / "rest"), "sampler.grow.n=two"], installed, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["error: sampler.grow.n must be a number, got 'two'"]
    assert not (tmp_path / "outputs").exists()


def test_rest_help_says_what_it_is_and_lists_the_config_groups(installed, tmp_path):
    result = from_the_wheel([str(installed / "bin" / "rest"), "--help"], installed, tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("rest: self-training for language models")
    assert "mode: generate, loop, merge, rm_eval, score" in result.stdout
