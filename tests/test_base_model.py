"""The tiny base model's training data: the seed split's worked solutions, and optionally a share of them again with
the reference answer as a hint in the question (a model that can read a hint, for rationalization); and its cache
entry, made once when parallel jobs need it at the same time."""

import multiprocessing
import re
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from conftest import config, make_task

from rest.artifacts import one_maker
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


def make_marked(path: str, marker: str) -> None:
    """In a child process: make the cache entry `path` under its lock (writing `marker` once inside)."""
    with one_maker(path):
        Path(marker).write_text("made")


def test_a_second_maker_of_a_cache_entry_waits_for_the_first(tmp_path):
    entry, marker = tmp_path / "models" / "entry", tmp_path / "second_inside"
    with one_maker(entry):
        second = multiprocessing.get_context("spawn").Process(target=make_marked, args=(str(entry), str(marker)))
        second.start()
        second.join(timeout=8)
        assert second.is_alive() and not marker.exists()  # blocked while the first holds it
    second.join(timeout=60)
    assert second.exitcode == 0 and marker.read_text() == "made"


def build_base_model(cache_dir: str) -> str:
    return base_model(f"model.build.cache_dir={cache_dir}", "+model.build.train.max_steps=2").build(make_task())


def test_two_processes_building_the_same_base_model_at_once_both_get_it_and_leave_no_temporary_files(tmp_path):
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        paths = list(pool.map(build_base_model, [str(tmp_path)] * 2))
    assert paths[0] == paths[1] and (Path(paths[0]) / "model.safetensors").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([Path(paths[0]).name, f"{Path(paths[0]).name}.lock"])
