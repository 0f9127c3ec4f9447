"""algorithm.answer=reference: kept examples end in the reference answer (LaTRO's z ⊕ y*), not their own."""

from __future__ import annotations

import json

import pytest
from conftest import curve_loop

from rest.artifacts import load_samples
from rest.config import CONFIG_DIR
from rest.config_check import config_error
from rest.errors import UserError
from rest.records import Sample
from rest.reference_answer import ReferenceAnswer, from_config

REWRITE = ReferenceAnswer("####", "#### {reference}")


def sample(completion: str, reference: str | None = "5") -> Sample:
    return Sample(problem_id="p", sample_index=0, iteration=1, prompt="Compute 3 + 4 - 2.\n", completion=completion,
                  reference=reference, finish_reason="stop", num_tokens=0)


@pytest.mark.parametrize(("completion", "trained"), [
    ("3 + 4 = 7\n7 - 2 = 5\n#### 6", "3 + 4 = 7\n7 - 2 = 5\n#### 5"),  # a wrong final answer is replaced
    ("3 + 4 = 7\n#### 7\n7 - 2 = 5\n#### 5", "3 + 4 = 7\n#### 7\n7 - 2 = 5\n#### 5"),  # only the last marker
    ("3 + 4 = 7\n7 - 2 = 5\n", "3 + 4 = 7\n7 - 2 = 5\n#### 5"),  # no marker: the answer is appended
])
def test_the_trained_completion_is_the_rationale_then_the_filled_template(completion, trained):
    assert REWRITE(sample(completion)) == trained


def test_a_sample_without_a_reference_cannot_be_rewritten():
    with pytest.raises(UserError, match="no reference"):
        REWRITE(sample("#### 5", reference=None))


def test_the_marker_and_template_are_the_answer_likelihood_scorers():
    scorers = {"answer_likelihood": {"answer_marker": "\\boxed{", "answer_template": "\\boxed{{reference}}"}}
    from omegaconf import OmegaConf

    rewrite = from_config("reference", OmegaConf.create(scorers))
    assert rewrite(sample("so x = 4, \\boxed{4}")) == "so x = 4, \\boxed{5}"
    assert from_config("own", {}) is None


@pytest.mark.parametrize(("args", "says"), [
    (["algorithm.answer=theirs"], "algorithm.answer must be one of own, reference"),
    (["algorithm.answer=reference"], "add it (scorer=answer_likelihood"),
])
def test_bad_answer_settings_are_one_line_before_any_work(args, says):
    problem = config_error(CONFIG_DIR, args)
    assert says in problem and "\n" not in problem
    assert config_error(CONFIG_DIR, ["experiment=verifier_free", "algorithm.answer=reference"]) is None


@pytest.mark.parametrize("answer", ["own", "reference"])
def test_the_verifier_free_loop_trains_on_reference_answers_and_keeps_the_grown_ones(tmp_path, tiny_model, answer):
    """One right and one wrong sample per problem, both kept (top 2): with answer=reference every example Train
    sees ends in the reference; the samples dataset still holds what was grown."""
    curve_loop(tmp_path, tiny_model, lambda prompt, iteration, j: j == 0, "experiment=verifier_free", "filter.k=2",
               "filter.min_score=null", "algorithm.iterations=1", f"algorithm.answer={answer}")
    kept = [s for s in load_samples(tmp_path / "iter_1" / "samples") if s.kept]
    examples = json.loads((tmp_path / "iter_1" / "checkpoint" / "examples.json").read_text())
    assert len(examples) == len(kept) == 16 and sum(bool(s.correct) for s in kept) == 8
    trained_right = sum(e["completion"] == f"#### {s.reference}" for e, s in zip(examples, kept, strict=True))
    assert trained_right == (16 if answer == "reference" else 8)
