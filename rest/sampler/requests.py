"""vLLM requests for one sampling call: their parameters, the outputs gathered per batch, decoded texts."""

from __future__ import annotations

from dataclasses import dataclass, field

from rest.sampler.settings import Completion, SamplingSettings


@dataclass
class Batch:
    """The request ids of one queued batch and the outputs of those that finished."""

    ids: list[str]
    outputs: dict = field(default_factory=dict)  # request id -> vLLM's output; None: refused, no completions

    def finished(self) -> bool:
        return len(self.outputs) == len(self.ids)

    def completions(self, tokenizer=None) -> list[list[Completion]]:
        """With `tokenizer`, texts are decoded here, all at once (vLLM was asked not to: see `params`)."""
        outputs = [[] if self.outputs[i] is None else self.outputs[i].outputs for i in self.ids]
        flat = [c for completions in outputs for c in completions]
        texts = iter(decode(tokenizer, [c.token_ids for c in flat]) if tokenizer else [c.text for c in flat])
        return [[_completion(c, next(texts)) for c in completions] for completions in outputs]


def params(settings: SamplingSettings, seed: int | None):
    from vllm import SamplingParams
    from vllm.sampling_params import RequestOutputKind

    return SamplingParams(
        n=settings.n,
        temperature=settings.temperature,
        top_p=settings.top_p,
        top_k=settings.top_k,
        max_tokens=settings.max_tokens,
        stop=list(settings.stop) or None,
        # vLLM needs text only to match stop strings. Without them its per-token detokenization (and the
        # decoding of every sampled token's logprob entry) is skipped, and `decode` does it in one batch:
        # the same text, faster where that Python work is the bottleneck (16,000 samples on 2 CPU cores:
        # 5-7% fewer seconds end to end, bench/generate_overhead.py).
        detokenize=bool(settings.stop),
        logprobs=0,  # the sampled token's logprob only: enough for cumulative_logprob
        seed=seed,
        output_kind=RequestOutputKind.FINAL_ONLY,  # one output per request, when it is done
    )


def decode(tokenizer, token_ids: list[list[int]]) -> list[str]:
    """What vLLM's incremental detokenizer gives, in one batched call: special tokens skipped, and a
    trailing incomplete UTF-8 sequence (decoded as U+FFFD) dropped, as vLLM withholds it."""
    return [text.rstrip("\ufffd") for text in tokenizer.batch_decode(token_ids, skip_special_tokens=True)]


def _completion(output, text: str) -> Completion:
    return Completion(
        text=text,
        token_ids=list(output.token_ids),
        finish_reason=output.finish_reason or "unknown",
        cumulative_logprob=output.cumulative_logprob,
    )
