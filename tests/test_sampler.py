"""Grow with the session's shared vLLM engine (CPU build here, same code path on GPU)."""

from rest.sampler import SamplingSettings

PROMPTS = ["Compute 1 + 2.\n", "Compute 30 - 4 + 5.\n", "Compute 7 + 7.\n"]


def test_generates_n_completions_per_prompt_with_tokens_finish_reason_and_logprob(sampler, tiny_model):
    outputs = sampler.generate(tiny_model, PROMPTS, SamplingSettings(n=3, temperature=1.0, max_tokens=8))
    assert [len(o) for o in outputs] == [3, 3, 3]
    for completion in (c for o in outputs for c in o):
        assert 1 <= len(completion.token_ids) <= 8
        assert completion.finish_reason in {"stop", "length"}
        assert completion.cumulative_logprob is not None and completion.cumulative_logprob <= 0


def test_max_tokens_bounds_the_completion(sampler, tiny_model):
    outputs = sampler.generate(tiny_model, PROMPTS[:1], SamplingSettings(n=4, temperature=1.0, max_tokens=2))
    assert all(len(c.token_ids) <= 2 for c in outputs[0])


def test_greedy_is_deterministic_and_reuses_the_running_engine(sampler, tiny_model):
    greedy = SamplingSettings(n=1, temperature=0.0, max_tokens=6)
    first = sampler.generate(tiny_model, PROMPTS, greedy)
    starts = sampler.engine_starts
    second = sampler.generate(tiny_model, PROMPTS, greedy)
    assert [o[0].token_ids for o in first] == [o[0].token_ids for o in second]
    assert sampler.engine_starts == starts  # same model path: no new engine


def test_seeded_samples_do_not_depend_on_batching_or_order(sampler, tiny_model):
    settings = SamplingSettings(n=4, temperature=1.0, max_tokens=8)
    together = sampler.generate(tiny_model, PROMPTS, settings, seeds=[11, 12, 13])
    reordered = sampler.generate(tiny_model, PROMPTS[::-1][:2], settings, seeds=[13, 12])
    texts = lambda completions: [c.text for c in completions]  # noqa: E731
    assert texts(reordered[0]) == texts(together[2]) and texts(reordered[1]) == texts(together[1])
    other_seed = sampler.generate(tiny_model, PROMPTS[:1], settings, seeds=[99])
    assert texts(other_seed[0]) != texts(together[0])
