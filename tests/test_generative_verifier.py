"""Generative verifier: the score against a direct forward pass, the online update on the loop's own labels,
bad settings as one line before any work, and the commands that use it."""

import json
import math
import re
import shutil
import subprocess
import sys

import pytest
import torch
from conftest import ROOT, config, context, make_scorer, written
from transformers import AutoModelForCausalLM, AutoTokenizer

from rest.config import CONFIG_DIR, build
from rest.config_check import config_error
from rest.errors import UserError
from rest.records import Sample
from rest.run import execute

PROMPT = "Compute 7 - 9 + 4.\n"
RIGHT = "7 - 9 = -2\n-2 + 4 = 2\n#### 2"
WRONG = "7 - 9 = 2\n2 + 4 = 6\n#### 6"


def sample(completion: str, correct: bool | None = True, verdict: str | None = "ok", prompt: str = PROMPT) -> Sample:
    return Sample(problem_id="p", sample_index=0, iteration=1, prompt=prompt, completion=completion, reference="2",
                  finish_reason="stop", num_tokens=0, correct=correct, verdict=verdict)


def answer_logprobs(model: str, judge_prompt: str) -> torch.Tensor:
    """log pi(. | P): one plain forward pass, log_softmax at the last prompt position."""
    tokenizer = AutoTokenizer.from_pretrained(model)
    net = AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32).eval()
    with torch.no_grad():
        logits = net(torch.tensor([tokenizer(judge_prompt)["input_ids"]])).logits[0, -1].double()
    return torch.log_softmax(logits, dim=-1)


def direct_score(model: str, judge_prompt: str, normalize: bool) -> float:
    yes, no = 59, 48  # "Y" and "N" of the byte-level tokenizer
    logprobs = answer_logprobs(model, judge_prompt)
    if not normalize:
        return float(logprobs[yes])
    return float(logprobs[yes] - torch.logaddexp(logprobs[yes], logprobs[no]))


class CopyTrainer:
    """Records what it is asked to train and writes `result` (a checkpoint) as the trained judge."""

    def __init__(self, result: str):
        self.result, self.calls = result, []

    def train(self, examples, init_from, out_dir, report=None):
        self.calls.append((examples, init_from, str(out_dir)))
        shutil.copytree(self.result, out_dir)
        return str(out_dir)


@pytest.mark.parametrize("normalize", [False, True])
def test_score_is_the_log_probability_of_yes_after_the_judge_prompt(tiny_model, normalize):
    scorer = make_scorer("generative_verifier", normalize=normalize)
    samples = [sample(RIGHT), sample(WRONG), sample("#### 5", prompt="Compute 2 + 3.\n")]
    scores = scorer.score(samples, context(None, policy=tiny_model))
    for s, value in zip(samples, scores):
        expected = direct_score(tiny_model, scorer.judge_prompt(s.prompt, s.completion), normalize)
        assert value == pytest.approx(expected, abs=1e-4)
    assert all(v <= 0 for v in scores) and len(set(scores)) == 3


def test_the_judge_prompt_shows_problem_and_completion_and_keeps_their_braces():
    scorer = make_scorer("generative_verifier", prompt="Q: {prompt} A: {completion} ok?")
    assert scorer.judge_prompt("x = {prompt}", "\\boxed{completion}") == "Q: x = {prompt} A: \\boxed{completion} ok?"
    default = make_scorer("generative_verifier").judge_prompt(PROMPT, RIGHT)
    assert default.startswith(PROMPT + RIGHT) and len(default) < 100  # short: the tiny model's context is 256


def test_a_judge_prompt_longer_than_the_judge_context_is_not_scored(tiny_model):
    scorer = make_scorer("generative_verifier", max_length=60)
    scores = scorer.score([sample("#### 2"), sample(RIGHT * 3)], context(None, policy=tiny_model))
    assert scores[0] is not None and scores[1] is None


def test_update_trains_yes_for_correct_and_no_for_wrong_labelled_samples_only(tiny_model, tmp_path):
    scorer = make_scorer("generative_verifier", update=True, update_settings={"max_examples": 100, "balance": False,
                                                                             "seed": 0})
    samples = [sample(RIGHT), sample(WRONG, correct=False), sample("no answer here", correct=False, verdict="no_answer"),
               sample("#### 2", correct=False, verdict="timeout"), sample("#### 2", correct=None, verdict=None)]
    trainer = CopyTrainer(tiny_model)
    stats = scorer.update(samples, context(None, policy=tiny_model, trainer=trainer), tmp_path / "judge")
    examples, init_from, out = trainer.calls[0]
    assert stats == {"examples": 2, "yes": 1, "no": 1} and init_from == tiny_model and out == str(tmp_path / "judge")
    assert all(PROMPT in e["prompt"] and e["prompt"].endswith("Is the answer correct?") for e in examples)
    labels = {e["prompt"]: e["completion"] for e in examples}
    assert labels == {scorer.judge_prompt(PROMPT, RIGHT): "Y", scorer.judge_prompt(PROMPT, WRONG): "N"}


class SettingsTrainer(CopyTrainer):
    """A CopyTrainer that records, per train call, the SFTConfig fields `with_args` gave it (None: as built)."""

    def __init__(self, result: str, args: dict | None = None, trained_with: list | None = None):
        super().__init__(result)
        self.args, self.trained_with = args, [] if trained_with is None else trained_with

    def with_args(self, args):
        return SettingsTrainer(self.result, args, self.trained_with)

    def train(self, examples, init_from, out_dir, report=None):
        self.trained_with.append(self.args)
        return super().train(examples, init_from, out_dir, report)


@pytest.mark.parametrize("train_args", [None, {"learning_rate": 2.0e-5, "num_train_epochs": 2}])
def test_the_judge_trains_with_its_own_settings_when_given(tiny_model, tmp_path, train_args):
    scorer = make_scorer("generative_verifier", update=True, train_args=train_args)
    trainer = SettingsTrainer(tiny_model)
    ctx = context(None, policy=tiny_model, trainer=trainer)
    scorer.update([sample(RIGHT), sample(WRONG, correct=False)], ctx, tmp_path / "judge")
    assert trainer.trained_with == [train_args] and scorer.current(ctx) == str(tmp_path / "judge")


@pytest.mark.parametrize(("balance", "cap", "expected"), [(True, 100, (3, 3)), (True, 4, (2, 2)), (False, 100, (8, 3)),
                                                          (False, 5, None)])
def test_update_balances_labels_and_caps_examples(tiny_model, tmp_path, balance, cap, expected):
    scorer = make_scorer("generative_verifier", update_settings={"max_examples": cap, "balance": balance, "seed": 1})
    samples = [sample(f"#### {i}") for i in range(8)] + [sample(f"#### -{i}", correct=False) for i in range(3)]
    trainer = CopyTrainer(tiny_model)
    stats = scorer.update(samples, context(None, policy=tiny_model, trainer=trainer), tmp_path / "judge")
    examples = trainer.calls[0][0]
    assert len(examples) == stats["examples"] == (sum(expected) if expected else cap)
    if expected:
        assert (stats["yes"], stats["no"]) == expected
    assert len({e["prompt"] for e in examples}) == len(examples)  # drawn without repeats
    again = CopyTrainer(tiny_model)
    scorer.update(samples, context(None, policy=tiny_model, trainer=again), tmp_path / "again")
    assert again.calls[0][0] == examples  # seeded


@pytest.mark.parametrize(("layers", "refused"), [([1], False), ([3], True)])
def test_a_judge_that_cannot_take_the_runs_lora_adapter_is_refused_before_any_work(other_model, layers, refused):
    """The loop checks the policy against trainer.peft; a judge of its own (here 2 layers) is checked here."""
    lora = f"trainer.peft={{r: 4, target_modules: [q_proj], layers_to_transform: {layers}}}"
    ctx = context(None, policy=other_model, trainer=build(config(lora).trainer))
    scorer = make_scorer("generative_verifier", model=other_model, update=True)
    if refused:
        with pytest.raises(UserError, match=rf"^trainer.peft: .*layers.* \(the model: {other_model}\)$"):
            scorer.check(ctx)
    else:
        scorer.check(ctx)
    make_scorer("generative_verifier", model=other_model, update=False).check(ctx)  # not trained: not checked


def test_after_an_update_the_judge_is_the_checkpoint_and_training_continues_from_it(tiny_model, other_model, tmp_path):
    scorer = make_scorer("generative_verifier", update=True)
    ctx = context(None, policy=tiny_model, trainer=CopyTrainer(other_model))
    before = scorer.score([sample(RIGHT)], ctx)[0]
    scorer.update([sample(RIGHT), sample(WRONG, correct=False)], ctx, tmp_path / "iter_1")
    after = scorer.score([sample(RIGHT)], ctx)[0]
    assert after != pytest.approx(before)
    assert after == pytest.approx(direct_score(other_model, scorer.judge_prompt(PROMPT, RIGHT), False), abs=1e-4)
    scorer.update([sample(RIGHT), sample(WRONG, correct=False)], ctx, tmp_path / "iter_2")
    assert ctx.trainer().calls[1][1] == str(tmp_path / "iter_1")
    resumed = make_scorer("generative_verifier")
    resumed.use(str(tmp_path / "iter_2"))
    assert resumed.current(ctx) == str(tmp_path / "iter_2")


def test_training_on_yes_labels_with_the_run_trainer_raises_the_judges_yes(tiny_model, tmp_path):
    """The real SFT trainer (completion-only loss) on correct samples only: the judge learns to say "Y"."""
    scorer = make_scorer("generative_verifier", normalize=True, update_settings={"max_examples": None,
                                                                                 "balance": True, "seed": 0})
    samples = [sample(f"{a} + {a} = {2 * a}\n#### {2 * a}", prompt=f"Compute {a} + {a}.\n") for a in range(16)]
    ctx = context(None, policy=tiny_model, trainer=build(config().trainer))
    before = scorer.score(samples, ctx)
    assert scorer.update(samples, ctx, tmp_path / "judge")["yes"] == 16
    assert (tmp_path / "judge" / "config.json").exists()
    after = scorer.score(samples, ctx)
    assert sum(after) / 16 > sum(before) / 16 + 0.3 and math.log(0.5) < min(after)


@pytest.mark.parametrize(("settings", "message"), [
    ({"prompt": "{prompt}\nIs it correct?"}, "lacks {completion}"),
    ({"prompt": "{completion}\nIs it correct?"}, "lacks {prompt}"),
    ({"yes": "Y", "no": "Y"}, "two different"),
    ({"update_settings": {"max_examples": 10, "balanse": True, "seed": 0}}, "balanse"),
    ({"update_settings": {"max_examples": 10000.0, "balance": True, "seed": 0}},  # Hydra reads 1e4 so
     "scorer.update_settings.max_examples must be null (every labelled sample) or a whole number >= 2, got 10000.0"),
    ({"update_settings": {"max_examples": 1, "balance": True, "seed": 0}}, "max_examples must be null"),
    ({"update_settings": {"max_examples": 10, "balance": "no", "seed": 0}},
     "scorer.update_settings.balance must be true or false, got 'no'"),
    ({"update_settings": {"max_examples": 10, "balance": True, "seed": 1.5}},
     "scorer.update_settings.seed must be a whole number >= 0, got 1.5"),
    ({"train_args": {"learning_rate": -1e-5}}, "scorer.train_args.learning_rate must be >= 0"),
    ({"train_args": {"learning_rat": 1e-5}}, "unexpected keyword argument 'learning_rat'"),
    ({"train_args": "abc"}, "scorer.train_args must be null"),
    ({"prompt": 5}, "scorer.prompt must be text with {prompt} and {completion}, got 5"),
    ({"yes": 5}, "must be two different, non-empty words"),
])
def test_bad_settings_fail_at_construction_in_one_line(settings, message):
    with pytest.raises(UserError, match=re.escape(message)) as err:
        make_scorer("generative_verifier", **settings)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(("settings", "message"), [
    ({"yes": " Yes"}, ("scorer.yes=' Yes' is 4 tokens of the judge's tokenizer "
                       "([223, 59, 71, 85]); it must be one")),
    ({"no": "No"}, "scorer.no='No' is 2 tokens of the judge's tokenizer ([48, 81])"),
    ({"model": "/no/such/judge"}, "scorer.model '/no/such/judge' does not exist"),
])
def test_answer_words_must_be_one_token_of_the_judge(tiny_model, settings, message):
    scorer = make_scorer("generative_verifier", **settings)
    with pytest.raises(UserError) as caught:
        scorer.check(context(None, policy=tiny_model))
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_judge_of_another_kind_trained_with_the_policys_settings_is_one_line_and_train_args_lift_it(
        tiny_model, smollm2):
    """The tiny policy's learning rate would wreck SmolLM2 as a judge; it was used silently."""
    words = {"model": smollm2, "yes": " Yes", "no": " No", "update": True}
    with pytest.raises(UserError, match=r"^scorer.update=true would train the judge .* \(its vocabulary: 259 tokens, "
                                        r"the judge's: 49152\): set scorer.train_args to the judge's own"):
        make_scorer("generative_verifier", **words).check(context(None, policy=tiny_model))
    trained = context(None, policy=tiny_model, trainer=build(config().trainer))
    make_scorer("generative_verifier", **words, train_args={"learning_rate": 2e-5}).check(trained)
    make_scorer("generative_verifier", model=tiny_model, update=True).check(trained)  # a judge of the same kind


def right_then_wrong(prompt: str) -> list[str]:
    """The loop test's samples: right and wrong final answers to a built-in task's prompt, in turn."""
    answer = eval(prompt.removeprefix("Compute ").split(".")[0], {"__builtins__": {}})  # digits, + and - only
    return [f"#### {answer}", f"#### {answer + 1}"] * 4


def loop_config(tiny_model: str, *overrides: str, mode: str = "loop"):
    """A run of `mode` on the tiny model with the exact answer and the judge; samples and training are fakes."""
    loop = ["mode.eval.k=2", "mode.reward=exact_answer"] if mode == "loop" else []
    return config(f"mode={mode}", *loop, f"model.path={tiny_model}", "algorithm.iterations=1", "task.sizes.pool=4",
                  "task.sizes.test=3", "sampler.engine._target_=fakes.ScriptedSampler", "sampler.grow.n=6",
                  f"+sampler.engine.texts={{_target_: {__name__}.right_then_wrong, _partial_: true}}",
                  "trainer._target_=fakes.RecordingTrainer", "scorer=[exact_answer,generative_verifier]", *overrides)


def test_the_loop_scores_with_the_judge_and_trains_it_on_the_iterations_labels(tiny_model, tmp_path):
    assert execute(loop_config(tiny_model, "scorers.generative_verifier.update=true"), tmp_path) == 0
    metrics = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    judge = tmp_path / "iter_1" / "scorers" / "generative_verifier"
    # scorers learn after Train: the judge (model=null: the policy) starts as the policy this iteration trained
    assert (judge / "trained_from.txt").read_text() == str(tmp_path / "iter_1" / "checkpoint")
    assert metrics[1]["scorer_generative_verifier_checkpoint"] == str(judge)
    assert metrics[1]["scorer_generative_verifier_yes"] == metrics[1]["scorer_generative_verifier_no"] == 4 * 3
    assert metrics[1]["unscorable_generative_verifier"] == 0


@pytest.mark.parametrize("mode", ["loop", "generate"])
def test_a_bad_answer_word_stops_the_run_before_any_sampling(tiny_model, tmp_path, mode):
    from fakes import ScriptedSampler

    ScriptedSampler.calls.clear()
    with pytest.raises(UserError, match="is 4 tokens"):
        execute(loop_config(tiny_model, "scorers.generative_verifier.yes=' Yes'", mode=mode), tmp_path)
    assert ScriptedSampler.calls == [] and written(tmp_path) == []


def test_a_bad_answer_word_is_one_line_from_the_command_line(tiny_model, tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "run.py"), f"model.path={tiny_model}", "scorer=generative_verifier",
                             "scorers.generative_verifier.no=' No'", f"hydra.run.dir={tmp_path}"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    lines = [line for line in (result.stdout + result.stderr).splitlines() if "error" in line.lower()]
    assert result.returncode == 2 and len(lines) == 1, result.stdout[-2000:] + result.stderr[-2000:]
    assert "scorers.generative_verifier.no=' No' is 3 tokens" in lines[0] and "Traceback" not in result.stderr
    assert "starting vLLM engine" not in result.stdout + result.stderr


@pytest.mark.parametrize("args", [
    ["scorer=generative_verifier", "filter=correct_top_k", "filter.score=generative_verifier"],
    ["scorer=[exact_answer,generative_verifier]", "scorers.generative_verifier.update=true", "mode.reward=exact_answer"],
    ["mode=score", "scorer=generative_verifier", "scorers.generative_verifier.normalize=true", "mode.input=in.jsonl",
     "mode.output=out.jsonl"],
    ["experiment=rm_eval_judge", "judge_checkpoint=RUN/iter_3/scorers/generative_verifier"],
    ["model=hf", "model.path=Qwen/Qwen2.5-Math-1.5B", "scorer=generative_verifier"],
    ["model=smollm2", "scorer=generative_verifier"],
])
def test_the_commands_that_use_it_compose_and_name_the_models_answer_words(args):
    assert config_error(CONFIG_DIR, args) is None
    cfg = config(*args)
    judges = [node for node in [*cfg.scorers.values(), *cfg.mode.get("scorers", {}).values()]
              if node._target_.endswith("GenerativeVerifierScorer")]
    expected = ("Y", "N") if "model=" not in " ".join(args) else (" Yes", " No")
    assert judges and all((node["yes"], node["no"]) == expected for node in judges)
