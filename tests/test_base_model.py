"""The tiny base model's training data: the seed split's worked solutions, and optionally a share of them again with
the reference answer as a hint in the question (a model that can read a hint, for rationalization)."""

import re

import pytest
from conftest import config, make_task

from rest.config import build
from rest.errors import UserError
from rest.stages.train import seed_examples

HINT = "{question} The answer is {answer}."


def base_model(*overrides: str):
    return build(config(*overrides).model.build)


def test_by_default_the_base_model_trains_on_the_seed_solutions_only():
    task = make_task()
    assert base_model().examples(task) == seed_examples(task)


def test_a_hinted_share_adds_that_share_of_seed_problems_with_the_answer_in_the_question():
    task = make_task()
    plain = seed_examples(task)
    examples = base_model("model.build.hinted_share=0.5").examples(task)
    hinted = examples[len(plain):]
    assert examples[: len(plain)] == plain and len(hinted) == round(0.5 * len(plain))
    for example, problem in zip(hinted, task.problems("seed")):
        assert example["prompt"] == task.prompt_template.format(question=HINT.format(question=problem.question,
                                                                                     answer=problem.answer))
        assert example["completion"] == problem.solution


def test_the_hint_template_follows_the_rationalization_template():
    task = make_task()
    examples = base_model("model.build.hinted_share=1", "mode.rationalize.template='{question} Hint: {answer}.'"
                          ).examples(task)
    assert examples[-1]["prompt"].endswith(f"Hint: {task.problems('seed')[-1].answer}.\n")


@pytest.mark.parametrize("overrides, message", [
    (("model.build.hinted_share=1.5",), "hinted_share must be in [0, 1]"),
    (("model.build.hinted_share=0.5", "model.build.hint_template='{question} hint'"), "hint_template: missing {answer}"),
])
def test_a_bad_hint_setting_is_one_line(overrides, message):
    with pytest.raises(UserError, match=re.escape(message)):
        base_model(*overrides)
