"""Online update of the implicit PRM: train pi_phi on outcome labels only (PRIME).

loss = BCE(sigmoid(beta * sum_t [log pi_phi(y_t|y_<t) - log pi_ref(y_t|y_<t)]), label), pi_ref frozen (its
log-probs are computed once, up front, for the examples the batches draw). Batches are `balance="sample"`d (half correct, half incorrect when
both exist; an odd batch's extra example is either label, by the seeded RNG), `"weight"`ed (positives weighted by
negatives/positives), or drawn as they come (`"none"`). An example whose prompt is no token at all (an empty prompt,
from a tokenizer that adds no BOS) is left out, and counted: nothing predicts its first completion token. The
checkpoint is written atomically in HF format.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path

import torch

from rest.artifacts import atomic_dir
from rest.errors import is_whole
from rest.scorers.logprobs import LogProbEngine, completion_logprobs

log = logging.getLogger(__name__)
BALANCES = ("sample", "weight", "none")


def update_settings_error(settings: dict) -> str | None:
    """What is wrong with `scorer.update_settings` (train_implicit_prm's settings), or None."""
    key, known = "scorer.update_settings", ("steps", "lr", "batch_size", "balance", "seed")
    if set(settings) != set(known):
        odd = sorted(set(settings) ^ set(known))
        return f"{key}: {', '.join(odd)} unknown or missing (its keys are {', '.join(known)})"
    for name in ("steps", "batch_size"):
        if not is_whole(settings[name], 1):
            return f"{key}.{name} must be a whole number >= 1, got {settings[name]!r}"
    lr = settings["lr"]
    if isinstance(lr, bool) or not isinstance(lr, int | float) or not lr > 0:
        return f"{key}.lr must be > 0, got {lr!r}"
    if settings["balance"] not in BALANCES:
        return f"{key}.balance must be one of {BALANCES}, got {settings['balance']!r}"
    if not is_whole(settings["seed"], 0):
        return f"{key}.seed must be a whole number >= 0, got {settings['seed']!r}"
    return None


def train_implicit_prm(init: str, ref: str, examples: list[tuple[str, str, bool]], out: Path, *, beta: float,
                       steps: int, lr: float, batch_size: int, balance: str, seed: int, batch_tokens: int,
                       max_length: int | None) -> dict:
    """Returns {"examples", "steps", "loss_first", "loss_last"}; the trained model is saved at `out`. With no
    example left to train on (each prompt empty) it returns {"examples": 0} and saves nothing."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if balance not in BALANCES:
        raise ValueError(f"balance must be one of {BALANCES}, got {balance!r}")
    tokenizer = AutoTokenizer.from_pretrained(init)
    examples = _with_prompt_tokens(tokenizer, examples)
    if not examples:
        return {"examples": 0}
    labels = [label for _, _, label in examples]
    rng = random.Random(seed)
    batches = [_batch(labels, batch_size, balance, rng) for _ in range(steps)]
    rows, ref_sums = _drawn_rows(LogProbEngine(ref, batch_tokens=batch_tokens, max_length=max_length), tokenizer,
                                 examples, batches)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = AutoModelForCausalLM.from_pretrained(init, dtype=torch.float32).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    pos_weight = _pos_weight(labels) if balance == "weight" else None
    losses = []
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    for step, batch in enumerate(batches):
        loss = bce_loss(model, [rows[i] for i in batch], torch.tensor([ref_sums[i] for i in batch]),
                        torch.tensor([float(labels[i]) for i in batch]), beta, pad, pos_weight)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if step % max(1, steps // 5) == 0 or step == steps - 1:
            log.info("PRM update: step %d/%d, BCE %.4f", step + 1, steps, loss.item())
    with atomic_dir(out) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    return {"examples": len(examples), "correct": sum(labels), "steps": steps,
            "loss_first": losses[0] if losses else None, "loss_last": losses[-1] if losses else None}


def bce_loss(model, rows: list[tuple[list[int], list[int]]], ref_sums: torch.Tensor, labels: torch.Tensor,
             beta: float, pad_id: int, pos_weight: torch.Tensor | None = None) -> torch.Tensor:
    """BCE of sigmoid(beta * (sum log pi_phi - sum log pi_ref)) against the labels, differentiable in phi."""
    sums = torch.stack([lp.sum() for lp in completion_logprobs(model, rows, pad_id)])
    logits = beta * (sums - ref_sums.to(sums.device))
    return torch.nn.functional.binary_cross_entropy_with_logits(
        logits, labels.to(sums.device), pos_weight=None if pos_weight is None else pos_weight.to(sums.device))


def _with_prompt_tokens(tokenizer, examples: list[tuple[str, str, bool]]) -> list[tuple[str, str, bool]]:
    """The examples whose prompt is at least one token (as the scorer encodes it); the others are counted."""
    prompts = tokenizer([p for p, _, _ in examples], add_special_tokens=True)["input_ids"] if examples else []
    kept = [example for example, ids in zip(examples, prompts) if ids]
    if len(kept) < len(examples):
        log.warning("PRM update: %d of %d examples have an empty prompt (no token before the completion) and are "
                    "left out", len(examples) - len(kept), len(examples))
    return kept


def _drawn_rows(engine: LogProbEngine, tokenizer, examples, batches) -> tuple[dict, dict]:
    """By example index, for the examples the batches draw (pi_ref scores only those): the row cut to the context
    length, and the sum of pi_ref's log-probs over it."""
    used = sorted({i for batch in batches for i in batch})
    rows, ref_sums = _reference_sums(engine, _encode(tokenizer, [examples[i] for i in used]))
    return dict(zip(used, rows)), dict(zip(used, ref_sums))


def _encode(tokenizer, examples) -> list[tuple[list[int], list[int]]]:
    prompts = tokenizer([p for p, _, _ in examples], add_special_tokens=True)["input_ids"]
    completions = tokenizer([c for _, c, _ in examples], add_special_tokens=False)["input_ids"]
    return list(zip(prompts, completions))


def _reference_sums(engine: LogProbEngine, rows) -> tuple[list[tuple[list[int], list[int]]], list[float]]:
    """Rows cut to the context length (as the scorer cuts them) and the sum of pi_ref's log-probs of each."""
    try:
        fitted = [engine.fit(p, c)[:2] for p, c in rows]
        scores = engine.score_ids(fitted)
    finally:
        engine.close()
    return fitted, [sum(s.logprobs) for s in scores]


def _pos_weight(labels: list[bool]) -> torch.Tensor | None:
    positives = sum(labels)
    return torch.tensor(max(len(labels) - positives, 1) / positives) if positives else None


def _batch(labels: list[bool], size: int, balance: str, rng: random.Random) -> list[int]:
    indices = list(range(len(labels)))
    if balance != "sample":
        return rng.sample(indices, min(size, len(indices)))
    good = [i for i in indices if labels[i]]
    bad = [i for i in indices if not labels[i]]
    if not good or not bad:
        return rng.sample(indices, min(size, len(indices)))
    incorrect = size // 2
    if size % 2:  # the odd example is either label (an even batch draws no more from the RNG than before)
        incorrect += rng.randrange(2)
    return [rng.choice(good) for _ in range(size - incorrect)] + [rng.choice(bad) for _ in range(incorrect)]
