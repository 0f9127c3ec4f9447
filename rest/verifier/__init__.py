"""The exact-answer verifier: which part of a completion is the answer (answers.py), whether it equals the
reference (numbers.py for plain numbers, equivalence.py for text and LaTeX, structure.py for parsed
structures), judged under a hard time limit per pair (pool.py). `python -m rest.verifier` is its command line."""

from rest.verifier.pool import Verdict, Verifier

__all__ = ["Verdict", "Verifier"]
