"""`sampler.max_prompt_tokens`: the sampled splits keep only problems whose prompt fits, counted in the log; the
seed split is kept whole; the run's task is wrapped only when a limit is set."""

import logging

from conftest import config
from transformers import AutoTokenizer

from rest.records import Problem
from rest.run import Run
from rest.tasks.prompt_length import PromptLengthLimit


class SplitTask:
    """The same problems in every split, each prompted as its question and a newline."""

    answer_fallback, step_delimiter = None, "\n"

    def __init__(self, questions: list[str]):
        self.questions = questions

    def problems(self, split):
        return [Problem(id=f"{split}-{i}", question=q, answer="1") for i, q in enumerate(self.questions)]

    def prompt(self, problem):
        return problem.question + "\n"


def test_problems_with_a_prompt_over_the_limit_are_left_out_of_sampled_splits_and_counted(tiny_model, caplog):
    questions = ["Compute 1 + 2.", "Compute 10 + 20 + 30 + 40.", "Compute 3 - 1.", "x" * 200]
    lengths = [len(ids) for ids in AutoTokenizer.from_pretrained(tiny_model)([q + "\n" for q in questions])["input_ids"]]
    limit = sorted(lengths)[1]  # the two shortest fit
    calls = []
    task = PromptLengthLimit(SplitTask(questions), limit, lambda: calls.append(1) or tiny_model)
    with caplog.at_level(logging.WARNING):
        pool = task.problems("pool")
    assert [p.question for p in pool] == [q for q, n in zip(questions, lengths) if n <= limit] and len(pool) == 2
    assert "left out 2 of 4 pool problems" in caplog.text and f"the longest: {max(lengths)} tokens" in caplog.text
    assert task.problems("pool") is pool and len(calls) == 1  # measured once per split
    assert len(task.problems("seed")) == 4 and task.prompt(pool[0]) == pool[0].question + "\n"


def test_the_run_wraps_its_task_only_when_a_limit_is_set(tmp_path, tiny_model):
    with Run(config(f"model.path={tiny_model}"), tmp_path / "a") as run:
        assert not isinstance(run.task, PromptLengthLimit)
    with Run(config(f"model.path={tiny_model}", "sampler.max_prompt_tokens=18"), tmp_path / "b") as run:
        tokenizer = AutoTokenizer.from_pretrained(tiny_model)
        test = run.task.problems("test")
        assert 0 < len(test) < 300 and all(len(tokenizer(run.task.prompt(p))["input_ids"]) <= 18 for p in test)
        assert run.task.step_delimiter == "\n" and run.task.answer_fallback is None
