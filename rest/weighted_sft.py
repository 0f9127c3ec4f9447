"""TRL's SFTTrainer with a loss weight per example (trainer.weighting, rest/weighting.py): each completion token's
loss is multiplied by its example's `weight`, then reduced exactly as TRL reduces the unweighted loss: summed and
divided by the number of completion tokens in the batch, or by `num_items_in_batch` (all the tokens of the gradient
accumulation steps, and of every rank) when the Trainer passes it. So weights that are all 1 give TRL's loss to the
bit, and the loss is sum_i w_i * sum_{t in i} -log p(t) / (tokens).

How: the `weight` column is kept through dataset preparation (a signature column), collated into a `weight` tensor
beside TRL's own batch, and taken out of the inputs before the forward; TRL's `compute_loss` then runs unchanged on a
model whose fused-LM-head per-token log-probabilities (TRL's per-token loss is their negative) are scaled by the
weights, so num_items_in_batch, the token average across ranks and the logged metrics stay TRL's.
Not supported: packing and padding-free batches (several examples share a row), label smoothing, a custom
`compute_loss_func`, and loss types other than nll (dft reads the log-probabilities back); the trainer's settings check
(rest/trainer.py) refuses the SFTConfig options among them in one line before any work.
"""

from __future__ import annotations

from typing import Any

from rest.errors import UserError

WEIGHT = "weight"


def weighted_sft_trainer(**kwargs):
    """A `trl.SFTTrainer` (built from the same keyword arguments) whose examples' losses are weighted by their
    dataset's `weight` column."""
    import torch
    from trl import SFTTrainer

    class WeightedSFTTrainer(SFTTrainer):
        def __init__(self, **kwargs):
            _check(kwargs["args"])
            super().__init__(**kwargs)
            self.data_collator = _WithWeights(self.data_collator)

        def _set_signature_columns_if_needed(self):
            super()._set_signature_columns_if_needed()
            if WEIGHT not in self._signature_columns:
                self._signature_columns = [*self._signature_columns, WEIGHT]

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            weights = inputs.pop(WEIGHT)

            def weighted(**model_inputs):
                outputs = model(**model_inputs)
                if model_inputs.get("fused_lm_head"):
                    outputs.log_probs = outputs.log_probs * weights.to(outputs.log_probs)[:, None]
                return outputs

            return super().compute_loss(weighted, inputs, return_outputs, num_items_in_batch)

    class _WithWeights:
        """TRL's collator, plus the examples' weights as a float tensor (TRL's collator ignores the column)."""

        def __init__(self, collator):
            self.collator = collator

        def __call__(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
            batch = self.collator(examples)
            batch[WEIGHT] = torch.tensor([float(e[WEIGHT]) for e in examples], dtype=torch.float32)
            return batch

    return WeightedSFTTrainer(**kwargs)


def _check(config) -> None:
    problem = unweighted_error(config)
    if problem:
        raise UserError(problem)


def unweighted_error(config) -> str | None:
    """One line naming the trl.SFTConfig option that a weighted loss cannot work with, or None: the trainer's settings
    check runs it before any work, and the weighted trainer again when it is built (a judge's own train_args)."""
    for name, bad in (("packing", config.packing), ("padding_free", config.padding_free),
                      ("label_smoothing_factor", config.label_smoothing_factor != 0),
                      ("loss_type", config.loss_type != "nll")):
        if bad:
            return (f"trainer.weighting weights each example's loss, which trainer.{name}={getattr(config, name)!r} "
                    "does not allow (several examples per row or another loss)")
    return None
