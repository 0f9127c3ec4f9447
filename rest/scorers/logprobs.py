"""One batched log-prob engine for the model-based scorers (endogenous reward, implicit PRM, answer likelihood,
generative verifier: `next_token_logprobs`).

For each (prompt, completion) it returns, at every completion token a_h in state s_h (prompt + earlier
completion tokens): the logit f(s_h, a_h), log pi(a_h | s_h) = f(s_h, a_h) - logsumexp f(s_h, .), and, when
an `alpha` is given, the soft value V(s_h) = alpha * logsumexp(f(s_h, .) / alpha).

Rows are sorted by length and packed into batches of at most `batch_tokens` tokens (padded to the longest
row of the batch only; a row longer than that is a batch of its own); one forward pass per batch, so one per
sample at most, never one per token. Logits are computed only from the first completion position on
(`logits_to_keep`). bf16 on a GPU that supports it, fp32 otherwise. A row longer than `max_length` loses prompt
tokens from the left first, then completion tokens from the right; each such row is counted and logged. A row
whose prompt is no token at all (an empty prompt, from a tokenizer that adds no BOS) cannot be scored: nothing
precedes its first completion token. It is None, counted and logged, and never shares a forward pass.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

from rest.errors import UserError, is_whole
from rest.pace import Pace

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenScores:
    token_ids: list[int]  # the completion tokens that were scored
    logits: list[float]  # f(s_h, a_h)
    logprobs: list[float]  # log pi(a_h | s_h)
    values: list[float] | None  # V(s_h) for the requested alpha, else None
    truncated: bool


class LogProbEngine:
    def __init__(self, model: str, *, batch_tokens: int, max_length: int | None, device: str | None = None,
                 dtype: str | None = None):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.dtype = getattr(torch, dtype) if dtype else _default_dtype(self.device)
        self.tokenizer = AutoTokenizer.from_pretrained(model)
        self.model = AutoModelForCausalLM.from_pretrained(model, dtype=self.dtype).to(self.device).eval()
        self.max_length = max_length or getattr(self.model.config, "max_position_embeddings", None) or 4096
        self.batch_tokens = batch_tokens  # _batches gives a row longer than this a batch of its own
        self.path = model

    def encode(self, prompts: list[str], completions: list[str | list[int]]) -> list[tuple[list[int], list[int]]]:
        """(prompt ids, completion ids); a completion given as token ids (as vLLM sampled them) is kept as is."""
        prompt_ids = self.encode_prompts(prompts)
        texts = [c for c in completions if isinstance(c, str)]
        encoded = iter(self.tokenizer(texts, add_special_tokens=False)["input_ids"] if texts else [])
        return [(p, next(encoded) if isinstance(c, str) else list(c)) for p, c in zip(prompt_ids, completions)]

    def encode_prompts(self, prompts: list[str]) -> list[list[int]]:
        """Prompt ids, with the tokenizer's special tokens (a BOS where it adds one), as the sampler sees them."""
        return self.tokenizer(prompts, add_special_tokens=True)["input_ids"]

    def score(self, prompts: list[str], completions: list[str | list[int]],
              alpha: float | None = None) -> list[TokenScores | None]:
        return self.score_ids(self.encode(prompts, completions), alpha)

    @torch.no_grad()
    def score_ids(self, encoded: list[tuple[list[int], list[int]]],
                  alpha: float | None = None) -> list[TokenScores | None]:
        """Scores already-tokenized (prompt ids, completion ids) rows; None for a row with no prompt token."""
        rows = [self.fit(p, c) for p, c in encoded]
        truncated = sum(t for _, _, t in rows)
        if truncated:
            log.warning("log-prob engine: %d of %d rows were longer than %d tokens and were truncated",
                        truncated, len(rows), self.max_length)
        scorable = [i for i, (p, _, _) in enumerate(rows) if p]
        if len(scorable) < len(rows):
            log.warning("log-prob engine: %d of %d rows have an empty prompt (no token before the completion, and no "
                        "BOS from this tokenizer) and are not scored", len(rows) - len(scorable), len(rows))
        results: list[TokenScores | None] = [None] * len(rows)
        pace = Pace(f"log-prob engine ({self.path}): rows scored", len(scorable), log)
        for batch in self._batches([len(rows[i][0]) + len(rows[i][1]) for i in scorable]):
            for b, scores in zip(batch, self._forward([rows[scorable[b]] for b in batch], alpha)):
                results[scorable[b]] = scores
            pace.advance(len(batch))
        return results

    @torch.no_grad()
    def next_token_logprobs(self, prompts: list[list[int]], choices: list[int]) -> list[list[float] | None]:
        """log pi(t | prompt) for each token t of `choices`, all from one forward pass per prompt; None for a
        prompt that does not fit max_length (cutting it would hide part of what is asked) or is no token at all."""
        fits = [i for i, p in enumerate(prompts) if 0 < len(p) < self.max_length]
        results: list[list[float] | None] = [None] * len(prompts)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        pace = Pace(f"log-prob engine ({self.path}): judge prompts scored", len(fits), log)
        for batch in self._batches([len(prompts[i]) + 1 for i in fits]):
            rows = [(prompts[fits[b]], choices[:1]) for b in batch]
            for b, f in zip(batch, completion_logits(self.model, rows, pad)):
                results[fits[b]] = torch.log_softmax(f[0], dim=-1)[choices].tolist()
            pace.advance(len(batch))
        return results

    def close(self) -> None:
        self.model = None
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    def fit(self, prompt: list[int], completion: list[int]) -> tuple[list[int], list[int], bool]:
        """Cut a row to max_length: prompt tokens from the left first (at least one is kept), then completion."""
        excess = len(prompt) + len(completion) - self.max_length
        if excess <= 0:
            return prompt, completion, False
        cut_prompt = min(excess, len(prompt) - 1)
        prompt = prompt[cut_prompt:]
        return prompt, completion[: self.max_length - len(prompt)], True

    def _batches(self, lengths: list[int]) -> list[list[int]]:
        order = sorted(range(len(lengths)), key=lengths.__getitem__)
        batches, current = [], []
        for i in order:
            if current and (len(current) + 1) * lengths[i] > self.batch_tokens:
                batches.append(current)
                current = []
            current.append(i)
        return batches + [current] if current else batches

    def _forward(self, rows: list[tuple[list[int], list[int], bool]], alpha: float | None) -> list[TokenScores]:
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        out = []
        for f, (_, completion, truncated) in zip(completion_logits(self.model, [(p, c) for p, c, _ in rows], pad), rows):
            tokens = torch.tensor(completion, device=f.device, dtype=torch.long)
            chosen = f.gather(1, tokens[:, None]).squeeze(1)
            logprobs = chosen - torch.logsumexp(f, dim=-1)
            values = alpha * torch.logsumexp(f / alpha, dim=-1) if alpha is not None else None
            out.append(TokenScores(completion, chosen.tolist(), logprobs.tolist(),
                                   values.tolist() if values is not None else None, truncated))
        return out



class HeldEngine:
    """One judge loaded at a time, kept across scoring calls (mode=score's chunks) and replaced when the judge
    changes; `release` frees it (before Train)."""

    def __init__(self, batch_tokens: int, max_length: int | None):
        if not is_whole(batch_tokens, 1):
            raise UserError(f"scorer.batch_tokens must be a whole number >= 1, got {batch_tokens!r}")
        if max_length is not None and not is_whole(max_length, 1):
            raise UserError(f"scorer.max_length must be null (the judge's own context length) or a whole number >= 1, "
                            f"got {max_length!r}")
        self.batch_tokens, self.max_length = batch_tokens, max_length
        self.engine: LogProbEngine | None = None

    def get(self, judge: str) -> LogProbEngine:
        if self.engine is None or self.engine.path != judge:
            self.release()
            self.engine = LogProbEngine(judge, batch_tokens=self.batch_tokens, max_length=self.max_length)
        return self.engine

    def release(self) -> None:
        if self.engine is not None:
            self.engine.close()
            self.engine = None

def completion_logits(model, rows: list[tuple[list[int], list[int]]], pad_id: int) -> list[torch.Tensor]:
    """One forward pass over (prompt ids, completion ids) rows, right-padded to the longest; for each row the
    fp32 logits (H, vocab) of the states s_1..s_H that predict its H completion tokens. Differentiable: the
    caller chooses no_grad (scoring) or not (training the implicit PRM). Every row needs a prompt token: nothing
    predicts the first completion token of a row without one (and the batch would be misaligned)."""
    if any(not p for p, _ in rows):
        raise ValueError("completion_logits: a row has no prompt token, so no state predicts its first completion token")
    device = next(model.parameters()).device
    width = max(len(p) + len(c) for p, c in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for r, (p, c) in enumerate(rows):
        ids[r, : len(p) + len(c)] = torch.tensor(p + c)
        mask[r, : len(p) + len(c)] = 1
    first = min(len(p) for p, _ in rows) - 1  # the first position whose logits predict a completion token
    logits = model(input_ids=ids.to(device), attention_mask=mask.to(device), logits_to_keep=width - first).logits.float()
    return [logits[r, len(p) - 1 - first : len(p) - 1 - first + len(c)] for r, (p, c) in enumerate(rows)]


def completion_logprobs(model, rows: list[tuple[list[int], list[int]]], pad_id: int) -> list[torch.Tensor]:
    """log pi(a_h | s_h) for every completion token of every row (differentiable)."""
    out = []
    for f, (_, c) in zip(completion_logits(model, rows, pad_id), rows):
        tokens = torch.tensor(c, device=f.device, dtype=torch.long)
        out.append(f.gather(1, tokens[:, None]).squeeze(1) - torch.logsumexp(f, dim=-1))
    return out


def _default_dtype(device: torch.device) -> torch.dtype:
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32
