"""Implicit PRM: token rewards against a direct computation, steps, aggregation, and the online update."""

import logging
import random

import pytest
import torch
from conftest import config, context, make_scorer
from transformers import AutoModelForCausalLM, AutoTokenizer

from rest.errors import UserError
from rest.records import Sample
from rest.scorers.implicit_prm import aggregate, step_ends, step_rewards
from rest.scorers.prm_update import _batch, bce_loss, train_implicit_prm

UPDATE_SETTINGS = {"steps": 2, "lr": 1e-2, "batch_size": 2, "balance": "sample", "seed": 0}  # the scorer's
UPDATE = {"balance": "sample", "seed": 0, "batch_tokens": 8192, "max_length": None}

PROMPT = "Compute 3 + 4 - 2.\n"
SOLUTION = "3 + 4 = 7\n\n7 - 2 = 5\n\n#### 5"


def sample(completion: str, correct: bool = True, prompt: str = PROMPT) -> Sample:
    return Sample(problem_id="p", sample_index=0, iteration=1, prompt=prompt, completion=completion, reference="5",
                  finish_reason="stop", num_tokens=0, correct=correct, verdict="ok")


def direct_logprobs(path: str, prompt: str, completion: str) -> torch.Tensor:
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    p, c = tokenizer(prompt)["input_ids"], tokenizer(completion, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = model(torch.tensor([p + c])).logits[0].double()
    return torch.log_softmax(logits[len(p) - 1 : len(p) + len(c) - 1], dim=-1)[torch.arange(len(c)), torch.tensor(c)]


def test_token_rewards_are_beta_times_the_log_ratio(tiny_model, other_model):
    scorer = make_scorer("implicit_prm", model=other_model, ref_model=tiny_model, beta=0.05, keep_step_rewards=True)
    samples = [sample(SOLUTION), sample("8\n\n#### 8", prompt="Q: 5 + 3?\n")]
    scorer.score(samples, context(None))
    for s in samples:
        expected = 0.05 * (direct_logprobs(other_model, s.prompt, s.completion) - direct_logprobs(tiny_model, s.prompt, s.completion))
        assert s.token_rewards == pytest.approx(expected.tolist(), abs=1e-4)
        assert sum(s.step_rewards) == pytest.approx(float(expected.sum()), abs=1e-4)  # the steps partition q


def test_step_ends_fall_on_the_last_token_of_each_step():
    offsets = [(i, i + 1) for i in range(len(SOLUTION))]  # one token per character
    ends = step_ends(SOLUTION, offsets, "\n\n")
    assert [SOLUTION[: e + 1] for e in ends] == ["3 + 4 = 7\n\n", "3 + 4 = 7\n\n7 - 2 = 5\n\n", SOLUTION]
    text = "\n\nonly one step\n\n  "  # empty steps merge into their neighbours: one step, to the last token
    assert step_ends(text, [(i, i + 1) for i in range(len(text))], "\n\n") == [len(text) - 1]
    assert step_ends("a\n\nb", [(0, 1), (1, 3), (3, 4)], "\n\n") == [1, 2]  # a token holding the delimiter ends its step
    assert step_ends("", [], "\n\n") == []


def test_step_rewards_are_differences_of_q_at_step_ends():
    rewards = [1.0, -2.0, 0.5, 3.0, -1.0]
    assert step_rewards(rewards, [1, 3, 4]) == pytest.approx([-1.0, 3.5, -1.0])
    assert step_rewards(rewards, [1, 9]) == pytest.approx([-1.0, 2.5])  # an end past the scored tokens is clipped
    assert step_rewards([], [0]) == []


@pytest.mark.parametrize("how, expected", [("min", -1.0), ("sum", 1.5), ("last", -1.0), ("mean", 0.5)])
def test_aggregations(how, expected):
    assert aggregate([-1.0, 3.5, -1.0], how) == pytest.approx(expected)
    assert aggregate([], how) is None


@pytest.mark.parametrize("task_delimiter, steps", [("\n", 3), ("\n\n", 1)])
def test_steps_end_at_the_task_delimiter_unless_the_scorer_sets_its_own(tiny_model, other_model, task_delimiter, steps):
    lines = "3 + 4 = 7\n7 - 2 = 5\n#### 5"  # the built-in task's layout: one step per line
    follows_task = make_scorer("implicit_prm", model=other_model, ref_model=tiny_model, keep_step_rewards=True)
    assert follows_task.step_delimiter is None  # the default: the task's (rest/conf/task/*.yaml step_delimiter)
    own = make_scorer("implicit_prm", model=other_model, ref_model=tiny_model, keep_step_rewards=True,
                      step_delimiter="=")
    by_task, by_own = sample(lines), sample(lines)
    follows_task.score([by_task], context(None, step_delimiter=task_delimiter))
    own.score([by_own], context(None, step_delimiter=task_delimiter))
    assert len(by_task.step_rewards) == steps
    assert len(by_own.step_rewards) == 3  # "3 + 4 =", " 7\n7 - 2 =", " 5\n#### 5"


def test_a_prm_equal_to_its_reference_gives_zero_rewards_and_says_so(tiny_model, other_model, caplog):
    caplog.set_level(logging.WARNING, logger="rest.scorers.implicit_prm")
    scorer = make_scorer("implicit_prm", model=None)  # both the base model: log-ratio 0
    assert scorer.score([sample(SOLUTION)], context(None, base_model=tiny_model)) == [pytest.approx(0.0, abs=1e-6)]
    follows = make_scorer("implicit_prm")  # model=policy, at iteration 1: the policy is the base model
    assert follows.score([sample(SOLUTION)], context(None, tiny_model, tiny_model)) == [pytest.approx(0.0, abs=1e-6)]
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 2 and all(f"are both {tiny_model}, so every reward is 0" in m for m in warned)
    caplog.clear()
    make_scorer("implicit_prm", model=other_model).score([sample(SOLUTION)], context(None, base_model=tiny_model))
    assert not caplog.records  # pi_phi differs from pi_ref


def test_one_update_step_lowers_the_bce_loss_on_its_batch(tiny_model, tmp_path):
    examples = [(PROMPT, SOLUTION, True), (PROMPT, "3 + 4 = 8\n\n8 - 2 = 6\n\n#### 6", False),
                (PROMPT, "#### 5", True), (PROMPT, "no idea", False)]
    train_implicit_prm(tiny_model, tiny_model, examples, tmp_path / "prm", beta=0.05, steps=1, lr=1e-2,
                       batch_size=4, **{**UPDATE, "balance": "none"})

    def loss(path):
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        rows = [(tokenizer(p)["input_ids"], tokenizer(c, add_special_tokens=False)["input_ids"]) for p, c, _ in examples]
        ref = torch.stack([direct_logprobs(tiny_model, p, c).sum() for p, c, _ in examples]).float()
        with torch.no_grad():
            return bce_loss(model, rows, ref, torch.tensor([1.0, 0.0, 1.0, 0.0]), 0.05, tokenizer.pad_token_id).item()

    before, after = loss(tiny_model), loss(str(tmp_path / "prm"))
    assert before == pytest.approx(0.6931, abs=1e-3)  # phi = ref: every logit is 0
    assert after < before


def test_the_updated_checkpoint_scores_the_next_iteration(tiny_model, tmp_path):
    scorer = make_scorer("implicit_prm", update=True,
                         update_settings=UPDATE_SETTINGS)
    labelled, ctx = [sample(SOLUTION, True), sample("#### 9", False)], context(None, tiny_model, tiny_model)
    before = scorer.score(labelled, ctx)
    stats = scorer.update(labelled, ctx, tmp_path / "iter_1" / "scorer")
    assert scorer.current(ctx) == str(tmp_path / "iter_1" / "scorer") and stats["examples"] == 2
    after = scorer.score(labelled, ctx)
    assert before == [pytest.approx(0.0, abs=1e-6)] * 2 and after[0] > after[1]  # it learned the labels' direction


@pytest.mark.parametrize("settings, message", [
    ({"beta": 0}, "scorer.beta must be > 0"),
    ({"aggregation": "max"}, "scorer.aggregation must be one of"),
    ({"step_delimiter": 5}, "scorer.step_delimiter must be null (the task's) or non-empty text, got 5"),
    ({"step_delimiter": ""}, "scorer.step_delimiter must be null"),
    ({"max_length": "abc"}, "scorer.max_length must be null (the judge's own context length) or a whole number"),
    ({"batch_tokens": 0}, "scorer.batch_tokens must be a whole number >= 1, got 0"),
    ({"update_settings": {**UPDATE_SETTINGS, "steps": 0}}, "scorer.update_settings.steps must be a whole number"),
    ({"update_settings": {**UPDATE_SETTINGS, "batch_size": 0}}, "scorer.update_settings.batch_size must be a whole number >= 1"),
    ({"update_settings": {**UPDATE_SETTINGS, "balance": "abc"}}, "scorer.update_settings.balance must be one of"),
    ({"update_settings": {**UPDATE_SETTINGS, "lr": -1}}, "scorer.update_settings.lr must be > 0, got -1"),
    ({"update_settings": {**UPDATE_SETTINGS, "seed": 1.5}}, "scorer.update_settings.seed must be a whole number >= 0, got 1.5"),
    ({"update_settings": {**UPDATE_SETTINGS, "step": 5}}, "scorer.update_settings: step unknown or missing (its keys are steps, lr"),
])
def test_bad_settings_are_one_line_at_construction(settings, message):
    """Each would otherwise fail after Grow (scoring) or after Train (the update), in a traceback."""
    with pytest.raises(UserError) as err:
        make_scorer("implicit_prm", **settings)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_each_task_declares_where_its_steps_end():
    assert config().task.step_delimiter == "\n"  # the built-in task: one operation per line
    assert config("task=math").task.step_delimiter == "\n\n"  # MATH solutions: paragraphs
    assert config("task=code").task.step_delimiter == "\n"


def test_a_prm_started_from_the_policy_ranks_by_its_log_ratio_to_the_base_model(tiny_model, other_model):
    from_policy = make_scorer("implicit_prm", model="policy")
    explicit = make_scorer("implicit_prm", model=other_model, ref_model=tiny_model)
    samples = [sample(SOLUTION), sample("#### 9", False)]
    got = from_policy.score(samples, context(None, policy=other_model, base_model=tiny_model))
    assert got == pytest.approx(explicit.score(samples, context(None)), abs=1e-6)
    assert got != pytest.approx([0.0, 0.0], abs=1e-6)  # pi_phi is not pi_ref


def test_with_model_policy_every_update_starts_from_the_policy_it_is_handed(tiny_model, other_model, tmp_path,
                                                                          monkeypatch):
    from rest.scorers import prm_update

    starts = []
    monkeypatch.setattr(prm_update, "train_implicit_prm", lambda init, *_, **__: starts.append(init) or {"examples": 2})
    scorer, labelled = make_scorer("implicit_prm", model="policy"), [sample(SOLUTION, True), sample("#### 9", False)]
    scorer.update(labelled, context(None, policy=other_model, base_model=tiny_model), tmp_path / "iter_1")
    scorer.update(labelled, context(None, policy=tiny_model, base_model=tiny_model), tmp_path / "iter_2")
    assert starts == [other_model, tiny_model]  # not the previous update's checkpoint
    assert scorer.current(context(None, policy=other_model)) == str(tmp_path / "iter_2")  # it scores with the update


def test_both_models_are_loaded_once_across_scoring_calls_and_reloaded_after_release(tiny_model, other_model,
                                                                                     monkeypatch):
    from rest.scorers import logprobs

    loads, engine = [], logprobs.LogProbEngine
    monkeypatch.setattr(logprobs, "LogProbEngine", lambda path, **kw: loads.append(path) or engine(path, **kw))
    scorer = make_scorer("implicit_prm", model=other_model, ref_model=tiny_model)
    first = scorer.score([sample(SOLUTION)], context(None))
    second = scorer.score([sample(SOLUTION)], context(None))  # mode=score's next chunk
    assert loads == [other_model, tiny_model] and first == pytest.approx(second, abs=1e-6)
    scorer.release()  # before Train
    scorer.score([sample(SOLUTION)], context(None))
    assert loads == [other_model, tiny_model] * 2


def test_pi_phi_and_pi_ref_of_different_tokenizers_are_one_line_before_any_work(tiny_model, other_model, smollm2):
    """pi_phi's token ids were fed to pi_ref as they were: a log-ratio of two different texts."""
    ctx = context(None, policy=tiny_model, base_model=tiny_model)
    with pytest.raises(UserError, match=r"^scorer.model .* and scorer.ref_model .* have different tokenizers"):
        make_scorer("implicit_prm", model=smollm2).check(ctx)  # pi_ref: the base model
    make_scorer("implicit_prm", model=other_model).check(ctx)  # another tiny model: the same tokenizer


def test_code_task_verdicts_are_update_labels_and_unjudged_ones_are_not(tiny_model, tmp_path, monkeypatch):
    """Code tasks' verdicts are pass / wrong_answer / runtime_error / ...: the update took only "ok", so never trained."""
    from rest.scorers import prm_update

    trained = []
    monkeypatch.setattr(prm_update, "train_implicit_prm", lambda init, ref, examples, *_, **__: trained.append(examples)
                        or {"examples": len(examples)})
    verdicts = {"pass": True, "wrong_answer": False, "runtime_error": False, "syntax_error": False, "timeout": False,
                "no_code": False}
    samples = [Sample(problem_id=f"p{i}", sample_index=0, iteration=1, prompt="def f():", completion=f"    return {i}\n",
                      reference="[]", finish_reason="stop", num_tokens=3, verdict=v, correct=c)
               for i, (v, c) in enumerate(verdicts.items())]
    stats = make_scorer("implicit_prm", model=None, update=True).update(samples, context(None, base_model=tiny_model),
                                                                        tmp_path / "prm")
    assert stats == {"examples": 4}
    assert [label for _, _, label in trained[0]] == [True, False, False, False]  # pass ... syntax_error


@pytest.mark.parametrize("size", [1, 3])
def test_balanced_batches_of_odd_size_give_the_odd_example_to_either_label(size):
    """With batch_size=1 every batch was one correct example: the update never saw an incorrect one."""
    labels, rng = [True] * 10 + [False] * 90, random.Random(0)
    incorrect = [sum(not labels[i] for i in _batch(labels, size, "sample", rng)) for _ in range(400)]
    assert set(incorrect) == {size // 2, size // 2 + 1}
    assert 150 < sum(n == size // 2 + 1 for n in incorrect) < 250  # each label about half the time


def test_the_update_leaves_out_examples_whose_prompt_is_no_token(tiny_model, tmp_path, caplog):
    """The tiny Llama adds no BOS: an empty prompt is no token, which shifted its batch-mates' log-probs."""
    examples = [("", "#### 5", True), (PROMPT, SOLUTION, True), (PROMPT, "#### 6", False)]
    with caplog.at_level(logging.WARNING, logger="rest.scorers.prm_update"):
        stats = train_implicit_prm(tiny_model, tiny_model, examples, tmp_path / "prm", beta=0.05, steps=1, lr=1e-2,
                                   batch_size=4, **{**UPDATE, "balance": "none"})
    assert stats["examples"] == 2 and "1 of 3 examples have an empty prompt" in caplog.text


def test_a_sample_with_an_empty_prompt_is_not_scored_and_leaves_its_batch_mates_scores_as_they_are(tiny_model,
                                                                                                 other_model):
    scorer = make_scorer("implicit_prm", model=other_model, ref_model=tiny_model, aggregation="sum")
    alone = scorer.score([sample(SOLUTION)], context(None))
    beside = scorer.score([sample("#### 5", prompt=""), sample(SOLUTION)], context(None))
    assert beside[0] is None and beside[1] == pytest.approx(alone[0], abs=1e-6)
