"""Scorers (the contract: `Scorer` in rest/contracts.py): exact_answer.py (the verifier), endogenous.py (EndoRM),
implicit_prm.py (PRIME) with its online update prm_update.py; logprobs.py is the batched log-prob engine that
model-based scorers share; rewards.py turns any scorer's values into a reward in [0, 1]."""
