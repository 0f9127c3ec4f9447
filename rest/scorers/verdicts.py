"""Which verifier verdicts label a sample for the scorers that learn from labels (the implicit PRM's and the
generative verifier's online updates): those that judged the answer itself. Math (rest/verifier/pool.py): `ok`;
code (rest/code/judge.py): the program passed, gave a wrong answer, failed at run time or did not compile. No answer,
no code, timeouts, memory limits and sandbox or parse errors say nothing about whether the answer is right."""

from __future__ import annotations

from rest.records import Sample

LABELLED = frozenset({"ok", "pass", "wrong_answer", "runtime_error", "syntax_error"})


def labelled(sample: Sample) -> bool:
    """The verifier judged this sample's answer, so `sample.correct` is a training label."""
    return sample.verdict in LABELLED and sample.correct is not None
