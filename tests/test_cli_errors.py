"""Bad input ends in one clear line on stderr and a non-zero exit, before any expensive work."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import context, error_lines, make_scorer, make_task, run_py

from rest.config import CONFIG_DIR
from rest.config_check import config_error
from rest.errors import UserError

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
    result = run_py(f"model.path={pretrained}", f"hydra.run.dir={tmp_path / 'run'}")
    errors = [line for line in error_lines(result) if "error" in line.lower()]
    assert result.returncode == 2 and len(errors) == 1, errors
    assert "is not a tiny model (a vocabulary of 49152 tokens, not the byte-level 259)" in errors[0]
    assert errors[0].endswith(f"use model=hf model.path={pretrained} (or a model file of its own, as model=smollm2 is)")


@pytest.mark.parametrize("mode", ["generate", "rm_eval"])
def test_a_missing_mode_policy_is_one_line_before_any_engine(mode, tmp_path):
    result = run_py(f"mode={mode}", "mode.policy=/no/such/policy", f"hydra.run.dir={tmp_path}")
    lines = error_lines(result)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert lines[-1].endswith("error: mode.policy '/no/such/policy' does not exist"), lines
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
    result = run_py("task=gsm8k", "task.path=json", f"task.data_files={{train: {data}, test: {data}}}",
                 "task.fields.answer=answer", "task.fields.solution=null", f"model.path={tiny_model}",
                 f"hydra.run.dir={tmp_path / 'run'}")
    errors = [line for line in error_lines(result) if "error" in line.lower()]
    assert result.returncode == 2
    assert len(errors) == 1 and "row 1 has no answer" in errors[0], errors


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
    result = run_py("model=smollm2", f"model.path={tmp_path / 'model'}", "model.source.package=no-such-package",
                 f"hydra.run.dir={tmp_path / 'run'}")
    lines = error_lines(result)
    assert result.returncode == 2
    assert len(lines) == 1 and "'no-such-package' is not installed" in lines[0] and "pip install" in lines[0], lines
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
    result = run_py("model=smollm2", f"model.path={tmp_path / 'model'}", "model.source.package=null",
                 f"model.source.file={path}", f"hydra.run.dir={tmp_path / 'run'}")
    errors = [line for line in error_lines(result) if "error" in line.lower()]
    assert result.returncode == 2
    assert len(errors) == 1 and "cannot read odd.gguf" in errors[0], errors
    assert "Traceback" not in result.stdout + result.stderr
    assert not (tmp_path / "model").exists()


@pytest.mark.parametrize("overrides, message", [
    (["sampler.grow.n=0"], "sampler.grow.n must be a whole number >= 1, got 0"),
    (["sampler.grow.temperature=-1"], "sampler.grow.temperature must be >= 0"),
    (["sampler.grow.top_p=0"], "sampler.grow.top_p must be in (0, 1]"),
    (["sampler.grow.top_k=-2"], "sampler.grow.top_k must be -1 or 0"),
    (["sampler.grow.max_tokens=0"], "sampler.grow.max_tokens must be a whole number >= 1"),
    (["sampler.grow.stop=5"], "sampler.grow.stop must be a list"),
    (["sampler.engine.gpu_memory_utilization=2"], "sampler.engine.gpu_memory_utilization must be in (0, 1]"),
    (["sampler.engine.dtype=float64"], "sampler.engine.dtype must be one of ('auto', 'float32'"),
    (["filter.cap=0"], "filter: cap must be >= 1, or null (no cap), got 0"),
    (["seed=1.5"], "seed must be a whole number from 0 to 2**32 - 1 (numpy's and vLLM's range), got 1.5"),
    (["seed=-1"], "seed must be a whole number from 0 to 2**32 - 1 (numpy's and vLLM's range), got -1"),
    (["seed=4294967296"], "seed must be a whole number from 0 to 2**32 - 1 (numpy's and vLLM's range), got 4294967296"),
    (["seed=abc"], "seed must be a number, got 'abc'"),
    (["algorithm.restart_from_base=maybe"], "algorithm.restart_from_base must be true or false, got 'maybe'"),
    (["trainer.num_train_epochs=two"], "trainer.num_train_epochs must be a number, got 'two'"),
    (["trainer.learning_rate=${model.build.train.learning_rate}x"], "trainer.learning_rate must be a number, got '0.003x'"),
    (["mode=rm_eval", "+scorer@mode.scorers.prm=implicit_prm", "mode.scorers.prm.update=yes"],
     "mode.scorers.prm.update must be true or false, got 'yes'"),
    (["mode.eval.k=-1"], "mode.eval.k must be a whole number >= 0"),
    (["trainer.learning_rate=-1"], "trainer.learning_rate must be >= 0"),
    (["trainer.per_device_train_batch_size=0"], "trainer.per_device_train_batch_size must be >= 1"),
    (["trainer.num_train_epochs=0"], "trainer.num_train_epochs must be > 0"),
    (["+trainer.gradient_accumulation_steps=0"], "trainer.gradient_accumulation_steps must be >= 1, got 0"),
    (["+trainer.max_steps=abc"], "trainer.max_steps must be a number, got 'abc'"),
    (["trainer.lr_scheduler_type=nope"], "trainer: nope is not a valid SchedulerType"),
    (["+trainer.no_such_option=1"], "unexpected keyword argument 'no_such_option'"),
    (["trainer.max_length=0"], "trainer.max_length must be null (no truncation) or >= 1, got 0"),
    (["+trainer.peft.r=0"], "trainer.peft.r must be >= 1, got 0"),
    (["trainer.peft={r: 8, no_such_field: 1}"], "trainer.peft: LoraConfig.__init__() got an unexpected keyword"),
    (["algorithm.iterations=1.5"], "algorithm.iterations must be a whole number >= 0, got 1.5"),
    (["sampler.grow.seed=1.5"], "sampler.grow.seed must be a whole number, got 1.5"),
    (["mode=rm_eval", "mode.scorers=[implicit_prm]"], "add a scorer file under a name with +scorer@mode.scorers.NAME"),
    (["sampler.grow=[x]"], "sampler.grow is a map of name: settings, not a list"),
    (["model.judge=abc"], "model.judge is a map of settings, not one value: set one entry with model.judge.NAME=..."),
    (["algorithm=rest", "algorithm.thresholds=abc"], "algorithm.thresholds must be a list (algorithm.thresholds=[...]), got 'abc'"),
    (["algorithm=rest", "algorithm.thresholds=[a,b]"], "threshold a is outside [0, 1]"),
    (["trainer.save_strategy=best"], "trainer.save_strategy must be no, steps or epoch"),
    (["trainer.save_strategy=steps", "trainer.save_steps=0"], "trainer.save_steps must be > 0"),
    (["trainer.save_strategy=epoch", "trainer.save_total_limit=0"], "trainer.save_total_limit must be >= 1"),
    (["trainer.processes=2", "trainer.launcher=accelerate", "trainer.accelerate_config=5"],
     "trainer.accelerate_config: no such file 5"),
    (["experiment=rm_eval_prm"], "prm_checkpoint must be set: add prm_checkpoint=... to the command"),
    (["model=hf"], "model.path must be set"),
    (["budget=adaptive", "budget.max_per_problem=2"], "budget.max_per_problem (2) must be >= budget.samples_per_problem"),
    (["filter=correct_top_k"], "filter: it reads the score 'endogenous', which no scorer of this run gives"),
    (["mode.rationalize.enabled=true", "mode.rationalize.check={_target_:rest.filters.Threshold,min:1,score:endogenous}"],
     "mode.rationalize.check: it reads the score 'endogenous', which no scorer of this run gives"),
    (["mode.reflect.enabled=true", "mode.reflect.check=rest.filters.NoSuchFilter"], "mode.reflect.check: rest.filters.NoSuchFilter"),
    (["mode.rationalize.enabled=true", "mode.rationalize.check=5"], "mode.rationalize.check must be null, a filter's class path"),
    (["sampler.engine.max_model_len=abc"], "sampler.engine.max_model_len must be null (the model's own) or a whole number"),
    (["sampler.engine.cpu_reserved_cores=-1"], "sampler.engine.cpu_reserved_cores must be auto or a whole number >= 0"),
    (["sampler.max_prompt_tokens=0"], "sampler.max_prompt_tokens must be null (keep every problem) or a whole number"),
    (["trainer.processes=true"], "trainer.processes must be a whole number >= 1, got True"),
    (["sampler.grow.n=true"], "sampler.grow.n must be a whole number >= 1, got True"),
    (["sampler.grow.max_tokens=true"], "sampler.grow.max_tokens must be a whole number >= 1, got True"),
    (["sampler.grow.top_k=true"], "sampler.grow.top_k must be -1 or 0 (off), or a whole number >= 1, got True"),
    (["mode.eval.k=true"], "mode.eval.k must be a whole number >= 0"),
    (["sampler=ray", "sampler.max_prompt_tokens=abc"], "sampler.max_prompt_tokens must be null"),
    (["trainer.peft=abc"], "trainer.peft must be null (full fine-tuning) or a map of peft.LoraConfig fields"),
    (["filter=top_k", "scorer=endogenous", "filter.score=nope"], "add that scorer (scorer=[endogenous,nope])"),
    (["sampler.grow.temperature=0"], "temperature=0 is greedy decoding: vLLM refuses sampler.grow.n=8 samples of a"),
    (["sampler.grow.temperature=0", "sampler.grow.n=1"], "set a temperature > 0, or mode.eval.k=1"),
    (["mode=rm_eval", "sampler.grow.temperature=0"], "vLLM refuses mode.n=16 samples of a problem with it"),
    (["sampler.engine.max_model_len=24"], "max_tokens=48 leaves no room for a prompt in sampler.engine.max_model_len=24"),
])
def test_sampling_and_training_settings_that_vllm_or_trl_would_refuse_are_one_line(overrides, message):
    problem = config_error(CONFIG_DIR, overrides)
    assert problem is not None and message in problem and "\n" not in problem, problem


@pytest.mark.parametrize("chosen, suggested", [
    ("scorer=[exact_answer,answer_likelihood]", "+scorer@mode.scorers.answer_likelihood=answer_likelihood"),
    ("scorer=endogenous", "+scorer@mode.scorers.endogenous=endogenous"),
])
def test_a_loop_scorer_chosen_for_rm_eval_which_compares_its_own_is_one_line_naming_how_to_add_it(chosen, suggested):
    problem = config_error(CONFIG_DIR, ["mode=rm_eval", chosen])  # it was left unused, silently
    assert problem is not None and problem.endswith(f"add one as {suggested}"), problem
    assert config_error(CONFIG_DIR, ["mode=rm_eval", suggested]) is None
    assert config_error(CONFIG_DIR, ["mode=generate", chosen]) is None  # generate scores with them


def test_greedy_decoding_with_one_sample_of_each_problem_and_a_context_with_room_for_prompts_pass():
    assert config_error(CONFIG_DIR, ["sampler.grow.temperature=0", "sampler.grow.n=1", "mode.eval.k=1"]) is None
    assert config_error(CONFIG_DIR, ["sampler.engine.max_model_len=49"]) is None  # max_tokens=48 and one token


def test_a_run_directory_that_cannot_be_created_is_one_line(tmp_path):
    (tmp_path / "a_file").write_text("")
    problem = config_error(CONFIG_DIR, [f"hydra.run.dir={tmp_path}/a_file/run"])
    assert problem == f"hydra.run.dir={tmp_path}/a_file/run: cannot create it, {tmp_path}/a_file is a file"
    problem = config_error(CONFIG_DIR, ["-m", "seed=0,1", f"hydra.sweep.dir={tmp_path}/a_file/sweep"])
    assert problem.startswith(f"hydra.sweep.dir={tmp_path}/a_file/sweep: cannot create it")


def test_a_run_directory_where_no_directory_can_be_made_is_one_line_also_for_root():
    """Root passes every permission check; the trial directory still fails on a pseudo file system."""
    problem = config_error(CONFIG_DIR, ["hydra.run.dir=/proc/run"])
    assert problem is not None and problem.startswith("hydra.run.dir=/proc/run: cannot create it in /proc ("), problem


def test_a_filter_that_ranks_by_a_configured_scorer_passes_the_check():
    assert config_error(CONFIG_DIR, ["scorer=endogenous", "filter=correct_top_k"]) is None
    assert config_error(CONFIG_DIR, ["filter=top_k", "filter.score=reward"]) is None


def test_null_an_interpolation_or_a_value_of_the_right_type_passes_the_type_check():
    assert config_error(CONFIG_DIR, ["trainer.learning_rate=${model.build.train.learning_rate}", "mode.pairs=false",
                                     "budget=adaptive", "budget.target=null", "sampler.grow.temperature=1"]) is None


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
    (["mode.pairs=true", "mode.pairs_per_problem=0"], "mode.pairs_per_problem must be at least 1, got 0"),
    (["mode=generate", "mode.pairs=true", "mode.pairs_per_problem=0"], "mode.pairs_per_problem must be at least 1"),
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
    result = run_py(*overrides, f"hydra.run.dir={tmp_path}")
    errors = [line for line in error_lines(result) if "error" in line.lower()]
    assert result.returncode == 2 and len(errors) == 1 and message in errors[0], errors
    assert "Traceback" not in result.stdout + result.stderr and not (tmp_path / "iter_0").exists()


@pytest.mark.parametrize("task", ["arithmetic", "code", "gsm8k", "mbpp"])
@pytest.mark.parametrize("template, message", [
    ("Solve it.", "task.prompt_template: missing {question}"),
    ("{question} {answer}", "task.prompt_template: unknown field {answer}"),
    ("{question", "task.prompt_template: expected '}' before end of string"),
])
def test_a_prompt_template_that_would_drop_the_question_or_fail_at_grow_is_one_line_when_the_task_is_built(
        task, template, message):
    with pytest.raises(UserError, match=re.escape(message)):
        make_task(f"task={task}", f"task.prompt_template='{template}'")


@pytest.mark.parametrize("task", ["arithmetic", "code", "gsm8k", "mbpp"])
def test_a_prompt_template_that_hydra_reads_as_a_number_is_one_line(task):
    with pytest.raises(UserError, match=re.escape("task.prompt_template must be text (a template with {question}), "
                                                  "got 5")):
        make_task(f"task={task}", "task.prompt_template=5")


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
    result = run_py(f"model.path={partial}", f"hydra.run.dir={tmp_path / 'run'}")
    lines = error_lines(result)
    assert result.returncode == 2 and len(lines) == 1, lines
    assert f"model.path '{partial}' is not a whole Hugging Face checkpoint: {missing}" in lines[0], lines
    assert "Traceback" not in result.stdout + result.stderr

