"""The log-prob engine's batching: a row's log-probs do not depend on the rows batched beside it, and batches hold
at most the configured number of tokens."""

import json
import logging
import shutil

import pytest
import torch
from transformers import AutoModelForCausalLM

from rest.scorers.logprobs import LogProbEngine, completion_logits

PROMPT, COMPLETION = "What is 2+3?", "The answer is 5."


def test_a_rows_log_probs_are_the_same_alone_and_beside_an_empty_prompt_which_is_not_scored(tiny_model, caplog):
    """The tiny Llama's tokenizer adds no BOS: "" is no token, which shifted every row of its batch by one."""
    engine = LogProbEngine(tiny_model, batch_tokens=8192, max_length=None)
    assert engine.encode_prompts([""]) == [[]]
    alone = engine.score([PROMPT], [COMPLETION])[0]
    with caplog.at_level(logging.WARNING, logger="rest.scorers.logprobs"):
        empty, beside = engine.score(["", PROMPT], ["Hi there, friend!", COMPLETION])
    assert empty is None and "1 of 2 rows have an empty prompt" in caplog.text
    assert beside.logprobs == pytest.approx(alone.logprobs, abs=1e-5)


def test_next_token_log_probs_are_the_same_alone_and_beside_an_empty_prompt_which_is_not_scored(tiny_model):
    engine = LogProbEngine(tiny_model, batch_tokens=8192, max_length=None)
    prompt = engine.encode_prompts([PROMPT])[0]
    alone = engine.next_token_logprobs([prompt], [5, 6])[0]
    empty, beside = engine.next_token_logprobs([[], prompt], [5, 6])
    assert empty is None and beside == pytest.approx(alone, abs=1e-5)


def test_completion_logits_refuse_a_row_with_no_prompt_token(tiny_model):
    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32).eval()
    with pytest.raises(ValueError, match="no prompt token"):
        completion_logits(model, [([], [60, 61]), ([1, 10, 11], [20, 21])], 0)


def test_batches_stay_within_batch_tokens_on_a_model_whose_config_claims_a_long_context(tiny_model, tmp_path):
    """Llama-3.1 says 131072: batches that large were ~67 GB of fp32 logits."""
    long_context = tmp_path / "long-context"
    shutil.copytree(tiny_model, long_context)
    config = json.loads((long_context / "config.json").read_text())
    (long_context / "config.json").write_text(json.dumps({**config, "max_position_embeddings": 131072}))
    engine = LogProbEngine(str(long_context), batch_tokens=8192, max_length=None)
    assert engine.max_length == 131072
    batches = engine._batches([600] * 2000)
    assert sorted(i for b in batches for i in b) == list(range(2000))
    assert max(len(b) for b in batches) * 600 <= 8192
    assert [len(b) for b in engine._batches([9000, 100, 100])] == [2, 1]  # an over-long row is a batch of its own
