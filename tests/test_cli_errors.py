"""Bad input ends in one clear line on stderr and a non-zero exit, before any expensive work."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import config, context, error_lines, make_scorer, run_py

from rest.errors import UserError
from rest.run import execute

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("overrides, message", [
    (["no_such_key=1"], "no_such_key"),
    (["task=no_such_task"], "no_such_task"),
    (["sampler.grow.no_such_field=3"], "no_such_field"),
])
def test_unknown_config_key_or_option_is_one_line(overrides, message, tmp_path):
    result = run_py(*overrides, f"hydra.run.dir={tmp_path}")
    lines = error_lines(result)
    assert result.returncode == 2
    assert len(lines) == 1 and message in lines[0], lines
    assert "Traceback" not in result.stderr


def job_error(run_dir: Path, *overrides: str) -> str:
    """The one-line UserError that run.py's job, run in this process, stops with (the command line prints it as
    `error: ...` and exits 2: the run.py tests here); nothing written in `run_dir`."""
    with pytest.raises(UserError) as raised:
        execute(config(*overrides), run_dir)
    assert "\n" not in str(raised.value), str(raised.value)
    assert not (run_dir / "iter_0").exists()
    return str(raised.value)


def test_missing_model_path_is_one_line(tmp_path):
    result = run_py("model.path=/no/such/model", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 2
    errors = [line for line in error_lines(result) if "ERROR" in line or "error" in line]
    assert len(errors) == 1 and "/no/such/model" in errors[0] and "does not exist" in errors[0]
    assert "Traceback" not in result.stdout + result.stderr


def test_a_pretrained_model_under_the_tiny_models_settings_is_one_line_naming_model_hf(tiny_model, tmp_path):
    """model=tiny's learning rate and sampling would wreck it; they were used silently."""
    pretrained = tmp_path / "pretrained"
    shutil.copytree(tiny_model, pretrained)
    settings = json.loads((pretrained / "config.json").read_text())
    (pretrained / "config.json").write_text(json.dumps({**settings, "vocab_size": 49152}))
    error = job_error(tmp_path / "run", f"model.path={pretrained}")
    assert "is not a tiny model (a vocabulary of 49152 tokens, not the byte-level 259)" in error
    assert error.endswith(f"use model=hf model.path={pretrained} (or a model file of its own, as model=smollm2 is)")


@pytest.mark.parametrize("mode", ["generate", "rm_eval"])
def test_a_missing_mode_policy_is_one_line_before_any_engine(mode, tmp_path):
    assert job_error(tmp_path, f"mode={mode}", "mode.policy=/no/such/policy") == \
        "mode.policy '/no/such/policy' does not exist"
    assert not (tmp_path / "rm_eval_samples.jsonl").exists() and not (tmp_path / "chunks").exists()


@pytest.mark.parametrize("scorer, setting", [
    ("endogenous", "model"), ("answer_likelihood", "model"), ("generative_verifier", "model"),
    ("implicit_prm", "model"), ("implicit_prm", "ref_model"),
])
def test_a_scorer_model_that_does_not_exist_is_one_line_when_the_scorers_are_built(scorer, setting, tiny_model,
                                                                                    tmp_path):
    built = make_scorer(scorer, **{setting: str(tmp_path / "no_such_judge")})
    message = f"scorer.{setting} '{tmp_path}/no_such_judge' does not exist"  # the run names where it is set
    with pytest.raises(UserError, match="^" + re.escape(message)):
        built.check(context(None, policy=tiny_model, base_model=tiny_model))


def test_dataset_row_without_answer_is_one_line(tmp_path, tiny_model):
    data = tmp_path / "data.jsonl"
    rows = [{"question": "1+1?", "answer": "2"}, {"question": "2+2?", "answer": ""}]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    error = job_error(tmp_path / "run", "task=gsm8k", "task.path=json", f"task.data_files={{train: {data}, test: {data}}}",
                      "task.fields.answer=answer", "task.fields.solution=null", f"model.path={tiny_model}")
    assert "row 1 has no answer" in error, error


@pytest.mark.parametrize("args, message", [
    (["-m", "algorithm=rest", "filter.threshold=0.3,1.2", "seed=0,1"], "threshold 1.2 is outside [0, 1]"),
    (["algorithm=rest", "algorithm.thresholds=[]"], "algorithm.thresholds is empty"),
    (["-m", "algorithm=rest", "algorithm.thresholds=[0.5,0.2]"], "must rise"),
    (["algorithm=rest", "algorithm.seed_mix=1.0"], "seed_mix"),
    (["algorithm=rest", "filter=rest_em"], "needs a filter with a `threshold`"),
])
def test_bad_sweep_values_stop_before_any_job(args, message, tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "run.py"), *args, f"hydra.sweep.dir={tmp_path / 'sweep'}"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    lines = error_lines(result)
    assert result.returncode == 2 and len(lines) == 1 and message in lines[0], lines
    assert not (tmp_path / "sweep").exists()  # no job started


def test_a_model_package_that_is_not_installed_is_one_line_naming_the_install_command(tmp_path):
    error = job_error(tmp_path / "run", "model=smollm2", f"model.path={tmp_path / 'model'}",
                      "model.source.package=no-such-package")
    assert "'no-such-package' is not installed" in error and "pip install" in error, error
    assert not (tmp_path / "model").exists()


def test_a_gguf_file_whose_architecture_transformers_cannot_read_is_one_line(tmp_path):
    import gguf

    path = tmp_path / "odd.gguf"
    writer = gguf.GGUFWriter(str(path), "no-such-architecture")
    writer.add_block_count(1)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    error = job_error(tmp_path / "run", "model=smollm2", f"model.path={tmp_path / 'model'}", "model.source.package=null",
                      f"model.source.file={path}")
    assert "cannot read odd.gguf" in error, error
    assert not (tmp_path / "model").exists()


def test_a_bad_training_setting_stops_the_run_before_the_first_evaluation(tmp_path):
    result = run_py("trainer.learning_rate=-1", f"hydra.run.dir={tmp_path}")
    lines = error_lines(result)
    assert result.returncode == 2 and len(lines) == 1 and "trainer.learning_rate" in lines[0], lines
    assert not (tmp_path / "iter_0").exists()


@pytest.mark.parametrize("overrides, message", [
    (["task.sizes.pool=0"], "the 'pool' split has no problems to grow from"),
    (["sampler.max_prompt_tokens=5"], "the 'test' split has no problems to evaluate on"),
    (["mode=generate", "sampler.max_prompt_tokens=5"], "the 'pool' split has no problems to generate from"),
    (["mode=rm_eval", "sampler.max_prompt_tokens=5"], "the 'test' split has no problems to sample from"),
    (["task.limits.test=0"], "task.limits.test must be a whole number >= 1 (its first N problems) or null (all), got 0"),
    (["task.limits.pool=-5"], "task.limits.pool must be a whole number >= 1"),
    (["task.limits.pool=abc"], "task.limits.pool must be a whole number >= 1"),
    (["task=code", "task.limits.test=2.5"], "task.limits.test must be a whole number >= 1"),
    (["mode=rm_eval", "mode.n=0"], "mode.n must be a whole number >= 1, got 0"),
    (["mode=rm_eval", "mode.best_of=[32]"], "mode.best_of must list whole numbers in [1, mode.n = 16], got [32]"),
    (["mode=rm_eval", "mode.limit=0"], "mode.limit must be null (every problem of the split) or a whole number"),
    (["mode=generate", "mode.chunk_size=0"], "mode.chunk_size must be a whole number >= 1, got 0"),
    (["mode=generate", "mode.shard.count=0"], "mode.shard.count must be a whole number >= 1, got 0"),
    (["mode=generate", "mode.chunk_size=true"], "mode.chunk_size must be a whole number >= 1, got True"),
    (["mode=generate", "mode.shard.count=true"], "mode.shard.count must be a whole number >= 1, got True"),
    (["mode=rm_eval", "mode.limit=true"], "mode.limit must be null (every problem of the split) or a whole number"),
    (["mode.pairs=true", "mode.pairs_per_problem=0"], "mode.pairs_per_problem must be a whole number >= 1, got 0"),
    (["mode=generate", "mode.pairs=true", "mode.pairs_per_problem=0"], "mode.pairs_per_problem must be a whole number"),
    (["mode=generate", "mode.pairs=true", "mode.pairs_per_problem=2.5"],  # once failed after sampling every problem
     "mode.pairs_per_problem must be a whole number >= 1, got 2.5"),
    (["mode=rm_eval", "+scorer@mode.scorers.random=endogenous"],  # would replace the random pick's column
     "mode.scorers.random: random, majority, oracle are the table's baseline columns; give the scorer another name"),
    (["mode=generate", "mode.policy=5"], "mode.policy '5' does not exist"),
    (["mode=rm_eval", "mode.pairs=5"], "cannot read 5"),
    (["scorer=implicit_prm", "scorers.implicit_prm.update_settings.steps=0"], "update_settings.steps must be a whole number"),
    (["scorer=endogenous", "scorers.endogenous.max_length=abc"], "scorers.endogenous.max_length must be null"),
    (["mode=rm_eval", "mode.scorers.endogenous_mean.alpha=0"], "mode.scorers.endogenous_mean.alpha must be > 0, got 0"),
    (["experiment=rm_eval_judge", "judge_checkpoint=/no/such/judge"],
     "mode.scorers.judge_trained.model '/no/such/judge' does not exist"),  # checked against the judge: named too
    (["experiment=rm_eval_prm", "prm_checkpoint=x", "mode.scorers.implicit_prm_iter0.update_settings.steps=0"],
     "mode.scorers.implicit_prm_iter0.update_settings.steps must be a whole number"),
    (["verifier.workers=abc"], "verifier.workers must be a whole number >= 0 (0 = in-process) or null"),
    (["scorer=implicit_prm", "task.step_delimiter=5"], "task.step_delimiter must be non-empty text"),
])
def test_an_empty_split_or_a_mode_setting_that_cannot_work_stops_the_run_before_any_engine(overrides, message, tmp_path):
    """In this process, as run.py's job runs them (the command line's one line for a UserError: the tests above)."""
    assert message in job_error(tmp_path, *overrides)


@pytest.mark.parametrize(("removed", "missing"), [
    (["model.safetensors"], "it has no weights (*.safetensors or pytorch_model*.bin)"),
    (["tokenizer.json", "tokenizer_config.json"], "it has no tokenizer (tokenizer.json, tokenizer_config.json"),
], ids=["no-weights", "no-tokenizer"])
def test_a_partly_copied_checkpoint_is_one_line_naming_what_it_lacks_before_any_engine(removed, missing, tiny_model,
                                                                                      tmp_path):
    """A checkpoint with its config.json but not its weights or tokenizer (a copy or download cut short) failed in
    vLLM's engine start, with a traceback."""
    partial = Path(shutil.copytree(tiny_model, tmp_path / "partial"))
    for name in removed:
        (partial / name).unlink()
    error = job_error(tmp_path / "run", f"model.path={partial}")
    assert f"model.path '{partial}' is not a whole Hugging Face checkpoint: {missing}" in error, error

