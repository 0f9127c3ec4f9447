"""Sweep launchers: the Slurm config renders the sbatch options it promises, without a cluster (submitit writes
the script it would submit; nothing is submitted); a submitit job signalled before its time limit is requeued and
resumes."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, run_in_process, run_results
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from rest.config import CONFIG_DIR
from rest.run_dir_lock import LOCK_FILE

pytestmark = pytest.mark.long

submitit = pytest.importorskip("submitit")
launcher_config = pytest.importorskip("hydra_plugins.hydra_submitit_launcher.config")


@pytest.fixture(autouse=True)
def no_cluster_needed(monkeypatch):
    """submitit's Slurm executor refuses to start where `srun` is missing; the script it writes does not need it."""
    monkeypatch.setattr(submitit.SlurmExecutor, "affinity", classmethod(lambda cls: 1))


def sbatch_script(folder: Path, *overrides: str) -> str:
    """The sbatch file submitit would submit for one job of `python run.py -m hydra/launcher=slurm OVERRIDES`,
    with the launcher's settings handed to submitit as Hydra's submitit plugin hands them."""
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", overrides=["hydra/launcher=slurm", *overrides], return_hydra_config=True)
    params = OmegaConf.to_container(cfg.hydra.launcher, resolve=True)
    for key in ("_target_", "submitit_folder", "max_num_timeout"):
        params.pop(key)
    shared = set(OmegaConf.structured(launcher_config.BaseQueueConf).keys())
    executor = submitit.AutoExecutor(folder=folder, cluster="slurm")
    executor.update_parameters(**{key if key in shared else f"slurm_{key}": value for key, value in params.items()})
    return executor._executor._make_submission_file_text("python run.py", "job")


def test_the_slurm_config_renders_one_task_per_node_and_its_resources(tmp_path):
    script = sbatch_script(tmp_path)
    for option in ("--ntasks-per-node=1", "--nodes=1", "--gpus-per-node=1", "--cpus-per-task=16", "--mem=128GB",
                   "--time=720", "--signal=USR2@120"):
        assert f"#SBATCH {option}" in script.splitlines(), option
    assert "--partition" not in script


def test_overrides_reach_the_sbatch_script_and_setup_lines_run_before_the_job(tmp_path):
    script = sbatch_script(tmp_path, "hydra.launcher.partition=gpu", "hydra.launcher.gpus_per_node=8",
                           "hydra.launcher.setup=['module load cuda/12.4','export HF_HOME=/scratch/hf']")
    lines = script.splitlines()
    assert "#SBATCH --partition=gpu" in lines and "#SBATCH --gpus-per-node=8" in lines
    setup = [lines.index("module load cuda/12.4"), lines.index("export HF_HOME=/scratch/hf")]
    command = next(i for i, line in enumerate(lines) if line.startswith("srun"))
    assert setup == sorted(setup) and setup[-1] < command


def test_a_job_of_the_joblib_launcher_can_spawn_processes():
    """Each job of hydra/launcher=local_parallel runs in a loky worker; a process it spawns (vLLM's engine core,
    the verifier's workers) first restores the worker's start method, "loky", and dies unless the run sets "spawn"."""
    from joblib import Parallel, delayed

    def job() -> tuple[str | None, int]:
        import multiprocessing
        import time

        from rest.run import standard_start_method

        method = multiprocessing.get_start_method(allow_none=True)  # "loky" in a fresh worker
        standard_start_method()
        child = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(0,))
        child.start()
        child.join(60)
        return method, child.exitcode

    (method, exitcode), = Parallel(n_jobs=2)(delayed(job)() for _ in range(1))
    assert method in ("loky", "spawn") and exitcode == 0


def test_a_submitit_job_signalled_before_its_time_limit_is_requeued_and_resumes_to_the_uninterrupted_result(tmp_path):
    """submitit signals a job (SIGUSR2) before its time limit, or when it is preempted; Hydra's submitit launcher
    then requeues it, and the requeued job resumes the run from what it kept. Here hydra/launcher=submitit_local
    (the path hydra/launcher=slurm takes, as local processes) is signalled as the first Train starts."""
    overrides, sweep = ["experiment=smoke", "algorithm.iterations=2"], tmp_path / "sweep"
    launcher = subprocess.Popen([sys.executable, "run.py", "-m", "hydra/launcher=submitit_local", *overrides,
                                 f"hydra.sweep.dir={sweep}"], cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
    job_log, deadline = sweep / "0" / "run.log", time.time() + 600
    while not (job_log.exists() and "iteration 1: Train:" in job_log.read_text()):
        assert launcher.poll() is None and time.time() < deadline, launcher.stdout.read()[-3000:]
        time.sleep(0.05)
    job_pid = int((sweep / "0" / LOCK_FILE).read_text().split()[1])  # "pid N on HOST, since ..."
    os.kill(job_pid, signal.SIGUSR2)
    output = launcher.communicate(timeout=600)[0]
    said = "".join(path.read_text() for path in sweep.glob(".submitit/*/*_log.out"))
    assert launcher.returncode == 0 and "Requeued job" in said and "Traceback" not in said, output[-3000:]
    run_in_process(tmp_path / "plain", *overrides)  # the uninterrupted run's job
    requeued, uninterrupted = run_results(sweep / "0"), run_results(tmp_path / "plain")
    assert requeued == uninterrupted, f"requeued {requeued}\nuninterrupted {uninterrupted}"  # both, uncut
