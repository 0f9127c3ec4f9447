"""The endogenous reward against a direct computation from a tiny model's logits, and the batched engine."""

import dataclasses
import logging
import math

import pytest
import torch
from conftest import context, make_scorer
from transformers import AutoModelForCausalLM, AutoTokenizer

from rest.errors import UserError
from rest.records import Sample
from rest.scorers.endogenous import reduce_rewards, token_rewards
from rest.scorers.logprobs import LogProbEngine

PROMPTS = ["Q: 1+2?\nA:", "Question: what is 12 - 5 + 3?\nAnswer:", "x"]
COMPLETIONS = [" 3\n#### 3", " 12 - 5 = 7, 7 + 3 = 10\n#### 10", " a longer completion with words"]


def direct_rewards(model_path: str, prompt: str, completion: str, alpha: float) -> tuple[list[float], float, float]:
    """(token rewards, alpha * log pi_alpha(y|x), V(s_1)) from one plain forward pass, straight from the formula."""
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32).eval()
    p = tokenizer(prompt)["input_ids"]
    c = tokenizer(completion, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = model(torch.tensor([p + c])).logits[0].double()
    f = logits[len(p) - 1 : len(p) + len(c) - 1]  # states s_1..s_H
    chosen = f[torch.arange(len(c)), torch.tensor(c)]
    values = alpha * torch.logsumexp(f / alpha, dim=-1)
    rewards = [float(chosen[h] - (values[h + 1] if h + 1 < len(c) else 0.0)) for h in range(len(c))]
    log_pi = torch.log_softmax(f / alpha, dim=-1)[torch.arange(len(c)), torch.tensor(c)]
    return rewards, float(alpha * log_pi.sum()), float(values[0])


def sample(prompt: str, completion: str) -> Sample:
    return Sample(problem_id="p", sample_index=0, iteration=1, prompt=prompt, completion=completion,
                  reference="0", finish_reason="stop", num_tokens=0)


@pytest.mark.parametrize("alpha", [1.0, 0.5, 2.0])
def test_token_rewards_match_the_formula_and_telescope(tiny_model, alpha):
    samples = [sample(p, c) for p, c in zip(PROMPTS, COMPLETIONS)]
    scorer = make_scorer("endogenous", model=tiny_model, alpha=alpha, keep_token_rewards=True)
    scores = scorer.score(samples, context(None))
    for s, score, prompt, completion in zip(samples, scores, PROMPTS, COMPLETIONS):
        rewards, alpha_log_pi, v1 = direct_rewards(tiny_model, prompt, completion, alpha)
        assert len(s.token_rewards) == len(rewards) == len(completion.encode())  # byte-level tokenizer
        assert s.token_rewards == pytest.approx(rewards, abs=1e-4)
        assert score == pytest.approx(sum(rewards), abs=1e-4)
        assert score == pytest.approx(alpha_log_pi + v1, abs=1e-4)  # R = alpha * log pi(y|x) + V(s_1)


def test_batched_rows_score_the_same_as_one_row_at_a_time(tiny_model):
    together = LogProbEngine(tiny_model, batch_tokens=8192, max_length=None).score(PROMPTS, COMPLETIONS, alpha=1.0)
    one_by_one = LogProbEngine(tiny_model, batch_tokens=1, max_length=None).score(PROMPTS, COMPLETIONS, alpha=1.0)
    for a, b in zip(together, one_by_one):
        assert a.token_ids == b.token_ids
        assert a.logprobs == pytest.approx(b.logprobs, abs=1e-4) and a.values == pytest.approx(b.values, abs=1e-4)



def test_a_sample_with_an_empty_prompt_is_not_scored_and_leaves_its_batch_mates_scores_as_they_are(tiny_model):
    """The tiny Llama adds no BOS: an empty prompt is no token, which shifted the other rows of its batch."""
    scorer = make_scorer("endogenous", model=tiny_model)
    alone = scorer.score([sample(PROMPTS[1], COMPLETIONS[1])], context(None))
    beside = scorer.score([sample("", "Hello, how are you?"), sample(PROMPTS[1], COMPLETIONS[1])], context(None))
    assert beside[0] is None and beside[1] == pytest.approx(alone[0], abs=1e-5)

def test_token_ids_from_the_sampler_are_scored_as_given(tiny_model):
    engine = LogProbEngine(tiny_model, batch_tokens=8192, max_length=None)
    ids = engine.encode(PROMPTS[:1], COMPLETIONS[:1])[0][1]
    from_text, from_ids = engine.score(PROMPTS[:1], COMPLETIONS[:1]), engine.score(PROMPTS[:1], [ids])
    assert from_ids[0].token_ids == ids and from_ids[0].logprobs == pytest.approx(from_text[0].logprobs, abs=1e-5)


def test_long_rows_are_truncated_keeping_the_completion_and_counted(tiny_model, caplog):
    engine = LogProbEngine(tiny_model, batch_tokens=8192, max_length=16)
    prompt, completion = "p" * 30, "abcdef"
    with caplog.at_level("WARNING"):
        result = engine.score([prompt, "q"], [completion, "z"])
    assert result[0].truncated and not result[1].truncated and len(result[0].token_ids) == len(completion)
    assert "1 of 2 rows" in caplog.text
    too_long = engine.score(["q"], ["c" * 40])[0]
    assert too_long.truncated and len(too_long.token_ids) == 15  # one prompt token + 15 completion tokens


def test_the_instruction_is_placed_before_the_prompt_and_changes_the_reward(tiny_model):
    plain = make_scorer("endogenous", model=tiny_model)
    judged = make_scorer("endogenous", model=tiny_model, instruction="Judge the arithmetic strictly.\n")
    templated = make_scorer("endogenous", model=tiny_model, instruction="Judge this.\n{prompt}")
    assert judged.state("Q?") == "Judge the arithmetic strictly.\nQ?" and templated.state("Q?") == "Judge this.\nQ?"
    a = plain.score([sample(PROMPTS[0], COMPLETIONS[0])], context(None))
    b = judged.score([sample(PROMPTS[0], COMPLETIONS[0])], context(None))
    assert not math.isclose(a[0], b[0], abs_tol=1e-6)


def test_a_judge_of_its_own_reads_the_text_not_the_token_ids_the_policy_sampled(tiny_model, smollm2):
    """The tiny policy's byte ids read as SmolLM2's tokens were another text: its scores were garbage."""
    ids = AutoTokenizer.from_pretrained(tiny_model)(COMPLETIONS[1], add_special_tokens=False)["input_ids"]
    grown = dataclasses.replace(sample(PROMPTS[1], COMPLETIONS[1]), token_ids=ids)
    judge, policy = make_scorer("endogenous", model=smollm2), make_scorer("endogenous")
    ctx = context(None, policy=tiny_model)
    assert judge.score([grown], ctx) == pytest.approx(judge.score([sample(PROMPTS[1], COMPLETIONS[1])], ctx), abs=1e-4)
    engine = LogProbEngine(tiny_model, batch_tokens=8192, max_length=None)
    as_sampled = reduce_rewards(token_rewards(engine.score([PROMPTS[1]], [ids], alpha=1.0)[0]), "sum")
    assert policy.score([grown], ctx)[0] == pytest.approx(as_sampled, abs=1e-4)  # the policy: the ids it sampled


def test_the_default_judge_is_the_policy_the_run_hands_over(tiny_model):
    scorer = make_scorer("endogenous")
    assert scorer.score([sample(PROMPTS[0], COMPLETIONS[0])], context(None, policy=tiny_model))[0] is not None


def test_reductions():
    assert reduce_rewards([1.0, -2.0, 4.0], "sum") == 3.0
    assert reduce_rewards([1.0, -2.0, 4.0], "mean") == 1.0
    assert reduce_rewards([1.0, -2.0, 4.0], "min") == -2.0
    assert reduce_rewards([], "sum") is None


def test_token_rewards_use_a_zero_value_after_the_last_token():
    from rest.scorers.logprobs import TokenScores

    scores = TokenScores(token_ids=[5, 6], logits=[2.0, 3.0], logprobs=[-1.0, -1.0], values=[10.0, 4.0], truncated=False)
    assert token_rewards(scores) == [2.0 - 4.0, 3.0 - 0.0]


@pytest.mark.parametrize("settings", [{"alpha": 0}, {"reduction": "max"}, {"instruction": 5}, {"max_length": 0},
                                      {"batch_tokens": 2.5}])
def test_bad_settings_are_user_errors(settings):
    with pytest.raises(UserError):
        make_scorer("endogenous", **settings)


def test_the_engine_logs_its_progress_batch_by_batch_over_a_long_scoring(tiny_model, monkeypatch, caplog):
    from rest.pace import Pace

    caplog.set_level(logging.INFO, logger="rest.scorers.logprobs")
    monkeypatch.setattr("rest.scorers.logprobs.Pace", lambda what, total, log: Pace(what, total, log, every=0.0))
    engine = LogProbEngine(tiny_model, batch_tokens=64, max_length=None)
    engine.score(PROMPTS * 4, COMPLETIONS * 4)
    lines = [m for m in caplog.messages if "rows scored" in m]
    assert len(lines) >= 2 and lines[0].startswith(f"log-prob engine ({tiny_model}): rows scored: ")
    assert all(" of 12 in " in line for line in lines)
