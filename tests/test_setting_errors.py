"""Settings that cannot work are one line, found by the checks that run before any process or engine starts."""

import re

import pytest
from conftest import make_task

from rest.config import CONFIG_DIR
from rest.config_check import config_error
from rest.errors import UserError


@pytest.mark.parametrize("overrides, message", [
    (["sampler.grow.n=0"], "sampler.grow.n must be a whole number >= 1, got 0"),
    (["sampler.grow.temperature=-1"], "sampler.grow.temperature must be >= 0"),
    (["sampler.grow.top_p=0"], "sampler.grow.top_p must be in (0, 1]"),
    (["sampler.grow.top_k=-2"], "sampler.grow.top_k must be -1 or 0"),
    (["sampler.grow.max_tokens=0"], "sampler.grow.max_tokens must be a whole number >= 1"),
    (["sampler.grow.stop=5"], "sampler.grow.stop must be a list"),
    (["sampler.engine.gpu_memory_utilization=2"], "sampler.engine.gpu_memory_utilization must be in (0, 1]"),
    (["sampler.engine.dtype=float64"], "sampler.engine.dtype must be one of ('auto', 'float32'"),
    (["filter.cap=0"], "filter: cap must be a whole number >= 1, or null (no cap), got 0"),
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


@pytest.mark.parametrize("overrides, message", [
    (["budget=adaptive", "budget.per_round=1.5"], "budget.per_round must be a whole number >= 1, got 1.5"),
    (["budget=adaptive", "budget.max_per_problem=4.5"], "budget.max_per_problem must be a whole number >= 1, got 4.5"),
    (["budget=adaptive", "budget.target=2.5"], "budget.target must be a whole number >= 1 of correct samples"),
    (["filter.cap=2.5"], "filter: cap must be a whole number >= 1, or null (no cap), got 2.5"),
    (["filter.cap=true"], "filter: cap must be a whole number >= 1, or null (no cap), got True"),
    (["scorer=endogenous", "filter=correct_top_k", "filter.k=2.5"], "filter: k must be a whole number >= 1, got 2.5"),
])
def test_a_count_of_samples_that_is_no_whole_number_is_one_line_before_any_work(overrides, message):
    problem = config_error(CONFIG_DIR, overrides)  # it reached vLLM after Evaluate, or Improve, or kept 3 of a cap 2.5
    assert problem is not None and message in problem and "\n" not in problem, problem


@pytest.mark.parametrize("source", ["rationalize", "reflect"])
def test_an_unknown_retry_setting_is_one_line_naming_the_known_ones(source):
    problem = config_error(CONFIG_DIR, [f"mode.{source}.enabled=true", f"+mode.{source}.foo=1"])
    assert problem == f"mode.{source}.foo: no such setting; mode.{source} has enabled, n, template, check"


def test_a_filter_that_ranks_by_a_configured_scorer_passes_the_check():
    assert config_error(CONFIG_DIR, ["scorer=endogenous", "filter=correct_top_k"]) is None
    assert config_error(CONFIG_DIR, ["filter=top_k", "filter.score=reward"]) is None


def test_null_an_interpolation_or_a_value_of_the_right_type_passes_the_type_check():
    assert config_error(CONFIG_DIR, ["trainer.learning_rate=${model.build.train.learning_rate}", "mode.pairs=false",
                                     "budget=adaptive", "budget.target=null", "sampler.grow.temperature=1"]) is None


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
