"""The endogenous reward (EndoRM; Li et al. 2025, arXiv 2506.23235): a reward read off a model's logits.

With logits f and V(s) = alpha * logsumexp(f(s, .) / alpha), the token reward is
r_h = f(s_h, a_h) - V(s_{h+1}), with V = 0 after the last token. Summed it telescopes:
R = sum_h r_h = alpha * log pi(y | x) + V(s_1), where pi = softmax(f / alpha). An optional judge
instruction placed before the prompt steers the reward ("promptable"). Reductions: `sum` (the paper),
`mean` (R divided by the number of tokens) and `min` (the worst token). No training is involved. A sample whose
state (instruction + prompt) is no token at all cannot be scored (None): nothing precedes its first token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest.errors import UserError
from rest.models import check_model_path
from rest.records import Sample
from rest.scorers.logprobs import HeldEngine, TokenScores

if TYPE_CHECKING:
    from rest.contracts import ScoringContext

REDUCTIONS = ("sum", "mean", "min")


def token_rewards(scores: TokenScores) -> list[float]:
    """r_h = f(s_h, a_h) - V(s_{h+1}), V = 0 after the last token."""
    next_values = scores.values[1:] + [0.0]
    return [f - v for f, v in zip(scores.logits, next_values)]


def reduce_rewards(rewards: list[float], reduction: str) -> float | None:
    if not rewards:
        return None
    if reduction == "sum":
        return sum(rewards)
    if reduction == "mean":
        return sum(rewards) / len(rewards)
    return min(rewards)


class EndogenousScorer:
    """Scores samples under a judge model (`model`; None: the policy being improved). Settings: rest/conf/scorer/endogenous.yaml."""

    bounded = False  # unbounded: thresholds see its percentile rank within the Improve step

    def __init__(self, *, model: str | None, alpha: float, instruction: str | None, reduction: str,
                 keep_token_rewards: bool, batch_tokens: int, max_length: int | None):
        if not alpha > 0:
            raise UserError(f"scorer.alpha must be > 0, got {alpha}")
        if reduction not in REDUCTIONS:
            raise UserError(f"scorer.reduction must be one of {REDUCTIONS}, got {reduction!r}")
        if instruction is not None and not isinstance(instruction, str):
            raise UserError(f"scorer.instruction must be null or text (with {{prompt}} where the problem goes, else "
                            f"put before it), got {instruction!r}")
        self.model, self.alpha, self.instruction, self.reduction = model, alpha, instruction, reduction
        self.keep_token_rewards = keep_token_rewards
        self._judge = HeldEngine(batch_tokens, max_length)

    def check(self, context: ScoringContext) -> None:
        """Before any work: a judge named by path exists."""
        if self.model:
            check_model_path(self.model, "scorer.model")

    def score(self, samples: list[Sample], context: ScoringContext) -> list[float | None]:
        judge = self.model or context.policy()
        prompts = [self.state(s.prompt) for s in samples]
        # the sampled token ids are the policy's tokens: a judge of its own (another tokenizer, maybe) reads the text
        completions = [(s.token_ids or s.completion) if self.model is None else s.completion for s in samples]
        results = self._judge.get(judge).score(prompts, completions, alpha=self.alpha)
        scores = []
        for sample, result in zip(samples, results):
            if result is None:  # an empty prompt: the engine could not score it (and logged it)
                scores.append(None)
                continue
            rewards = token_rewards(result)
            if self.keep_token_rewards:
                sample.token_rewards = rewards
            scores.append(reduce_rewards(rewards, self.reduction))
        return scores

    def release(self) -> None:
        self._judge.release()

    def state(self, prompt: str) -> str:
        """The state the judge reads: the instruction (with `{prompt}` filled in, or placed before it)."""
        if not self.instruction:
            return prompt
        if "{prompt}" in self.instruction:
            return self.instruction.replace("{prompt}", prompt)
        return self.instruction + prompt
