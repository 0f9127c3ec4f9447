"""Grow with the session's shared vLLM engine (CPU build here, same code path on GPU)."""

import pytest
from conftest import config, sampling
from omegaconf import OmegaConf

from rest.config import build
from rest.errors import UserError

PROMPTS = ["Compute 1 + 2.\n", "Compute 30 - 4 + 5.\n", "Compute 7 + 7.\n"]


def test_generates_n_completions_per_prompt_with_tokens_finish_reason_and_logprob(sampler, tiny_model):
    outputs = sampler.generate(tiny_model, PROMPTS, sampling(n=3, max_tokens=8))
    assert [len(o) for o in outputs] == [3, 3, 3]
    for completion in (c for o in outputs for c in o):
        assert 1 <= len(completion.token_ids) <= 8
        assert completion.finish_reason in {"stop", "length"}
        assert completion.cumulative_logprob is not None and completion.cumulative_logprob <= 0


def test_max_tokens_bounds_the_completion(sampler, tiny_model):
    outputs = sampler.generate(tiny_model, PROMPTS[:1], sampling(n=4, max_tokens=2))
    assert all(len(c.token_ids) <= 2 for c in outputs[0])


def test_greedy_is_deterministic_and_reuses_the_running_engine(sampler, tiny_model):
    greedy = sampling(n=1, temperature=0.0, max_tokens=6)
    first = sampler.generate(tiny_model, PROMPTS, greedy)
    starts = sampler.engine_starts
    second = sampler.generate(tiny_model, PROMPTS, greedy)
    assert [o[0].token_ids for o in first] == [o[0].token_ids for o in second]
    assert sampler.engine_starts == starts  # same model path: no new engine


def test_seeded_samples_do_not_depend_on_batching_or_order(sampler, tiny_model):
    settings = sampling(n=4, max_tokens=8)
    together = sampler.generate(tiny_model, PROMPTS, settings, seeds=[11, 12, 13])
    reordered = sampler.generate(tiny_model, PROMPTS[::-1][:2], settings, seeds=[13, 12])
    texts = lambda completions: [c.text for c in completions]
    assert texts(reordered[0]) == texts(together[2]) and texts(reordered[1]) == texts(together[1])
    other_seed = sampler.generate(tiny_model, PROMPTS[:1], settings, seeds=[99])
    assert texts(other_seed[0]) != texts(together[0])


def test_the_same_batches_streamed_again_give_the_same_samples_log_probabilities_included(tiny_model):
    engine = build(config().sampler.engine, gpu_memory_utilization=0.1)  # the default: deterministic scheduling
    settings = sampling(n=4, max_tokens=16)
    batches = [(PROMPTS * 4, list(range(12))), (PROMPTS, [20, 21, 22]), (PROMPTS * 8, list(range(30, 54)))]
    samples = lambda: [(c.token_ids, c.cumulative_logprob) for batch in engine.stream(tiny_model, batches, settings)
                       for completions in batch for c in completions]
    try:
        assert samples() == samples()
    finally:
        engine.close()


def test_a_second_engine_core_in_this_process_is_refused_in_one_line_until_the_first_closes(tiny_model):
    first, second = (build(config().sampler.engine, gpu_memory_utilization=0.1) for _ in range(2))
    try:
        first.generate(tiny_model, PROMPTS[:1], sampling(n=1, max_tokens=2))
        with pytest.raises(UserError, match="another vLLM engine core already runs in this process"):
            second.generate(tiny_model, PROMPTS[:1], sampling(n=1, max_tokens=2))
        first.close()
        assert len(second.generate(tiny_model, PROMPTS[:1], sampling(n=1, max_tokens=2))) == 1
    finally:
        first.close()
        second.close()


def test_streamed_batches_equal_one_generate_call_per_batch(sampler, tiny_model):
    settings = sampling(n=2, max_tokens=8)
    batches = [(PROMPTS[:2], [1, 2]), ([], []), (PROMPTS[2:], [3])]
    streamed = list(sampler.stream(tiny_model, iter(batches), settings))
    separately = [sampler.generate(tiny_model, prompts, settings, seeds) for prompts, seeds in batches]
    texts = lambda batch: [[c.text for c in completions] for completions in batch]
    assert [texts(b) for b in streamed] == [texts(b) for b in separately]
    assert [len(b) for b in streamed] == [2, 0, 1]


def test_leaving_a_stream_early_aborts_its_queued_requests(sampler, tiny_model):
    settings = sampling(n=2, max_tokens=8)
    many = PROMPTS * 200  # more sequences than the engine runs at once: most still wait when the first batch ends
    stream = sampler.stream(tiny_model, [(PROMPTS[:1], [1]), (many, list(range(len(many))))], settings)
    next(stream)
    stream.close()
    assert sampler._llm.llm_engine.get_num_unfinished_requests() == 0
    assert len(sampler.generate(tiny_model, PROMPTS[:1], settings, [1])[0]) == 2


def test_texts_decoded_in_one_batch_equal_vllms_own_detokenization(sampler, tiny_model):
    ours = sampler.generate(tiny_model, PROMPTS, sampling(n=8, max_tokens=24), seeds=[5, 6, 7])
    never_matches = sampling(n=8, max_tokens=24, stop=["@@never@@"])  # stop strings: vLLM detokenizes
    vllms = sampler.generate(tiny_model, PROMPTS, never_matches, seeds=[5, 6, 7])
    assert [[c.token_ids for c in o] for o in ours] == [[c.token_ids for c in o] for o in vllms]
    assert [[c.text for c in o] for o in ours] == [[c.text for c in o] for o in vllms]


def test_decoding_drops_special_tokens_and_a_trailing_incomplete_character(tiny_model):
    from transformers import AutoTokenizer

    from rest.sampler.requests import decode

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    ids = tokenizer.encode("日本", add_special_tokens=False)
    assert decode(tokenizer, [ids[:-1], ids + [tokenizer.eos_token_id]]) == ["日", "日本"]


def test_a_prompt_longer_than_the_engines_context_is_one_line_and_the_engine_samples_on(sampler, tiny_model):
    with pytest.raises(UserError, match=r"^vLLM refused a prompt: .*maximum context length.*raise sampler\.engine"):
        sampler.generate(tiny_model, [PROMPTS[0], "1 + 2 = 3\n" * 200], sampling(n=2, max_tokens=4))
    assert sampler._llm.llm_engine.get_num_unfinished_requests() == 0  # the batch's accepted prompt was aborted
    assert len(sampler.generate(tiny_model, PROMPTS[:1], sampling(n=2, max_tokens=4))[0]) == 2


def test_with_skip_refused_a_prompt_too_long_gets_no_samples_and_the_others_theirs(sampler, tiny_model, caplog):
    outputs = sampler.generate(tiny_model, [PROMPTS[0], "1 + 2 = 3\n" * 200, PROMPTS[1]],
                               sampling(n=2, max_tokens=4, skip_refused=True))
    assert [len(completions) for completions in outputs] == [2, 0, 2]
    assert "vLLM refused 1 of 3 prompts, left out" in caplog.text


def test_only_a_refusal_for_length_gets_the_advice_on_the_context():
    from rest.sampler.vllm import too_long_advice

    assert "sampler.engine.max_model_len" in too_long_advice("The prompt is longer than the maximum model length of 24")
    assert too_long_advice("n must be 1 when using greedy sampling, got 2.") == ""


def test_an_engine_setting_vllm_does_not_take_is_one_line_before_any_engine_starts():
    from rest.sampler.ray import RaySampler

    cfg = config().sampler.engine
    with pytest.raises(UserError, match=r"^sampler.engine.max_num_seq is not a setting of vLLM's engine") as raised:
        build(cfg, max_num_seq=8)  # once: vLLM's TypeError, in a traceback, when Grow started the engine
    assert "\n" not in str(raised.value)
    assert build(cfg, max_num_seqs=8).engine_kwargs["max_num_seqs"] == 8  # vLLM's spelling
    engine = {key: value for key, value in OmegaConf.to_container(cfg).items() if key != "_target_"}
    with pytest.raises(UserError, match="sampler.engine.max_num_seq is not a setting"):
        RaySampler(replicas=1, gpus_per_replica=1, address=None, **engine, max_num_seq=8)


class FailingLoad:
    """An engine whose in-place load of a new policy fails part way, as a truncated checkpoint would make it."""

    def __init__(self):
        self.loads = []

    def collective_rpc(self, method, args):
        self.loads.append(args[0])
        raise RuntimeError("shard 2 of 3 is cut short")


def test_after_a_failed_policy_load_the_engine_loads_the_policy_again_rather_than_trusting_mixed_weights(
        tiny_model, other_model):
    from rest.sampler.checkpoints import engine_identity

    engine = build(config().sampler.engine)
    engine._llm, engine._policy, engine._identity, engine.state = FailingLoad(), tiny_model, engine_identity(tiny_model), "awake"
    with pytest.raises(RuntimeError, match="cut short"):
        engine._serve(other_model)  # same architecture: loaded in place
    with pytest.raises(RuntimeError, match="cut short"):
        engine._serve(tiny_model)  # once: taken as already held, and sampled from half-loaded weights
    assert engine._llm.loads == [other_model, tiny_model]
