"""MATH-style and GSM8K-style data from local files, through `datasets` and the `task=` presets."""

import json

import pytest
from conftest import config, make_task, make_verifier, run_in_process, sampling, task_from_preset, write_jsonl
from fakes import ScriptedSampler

from rest.artifacts import load_samples
from rest.config import build
from rest.errors import UserError
from rest.stages.grow import grow_stage

MATH_ROWS = [
    {"problem": "What is $\\frac{1}{2} + \\frac{1}{4}$?", "solution": "Add: $\\frac{2}{4}+\\frac{1}{4} = \\boxed{\\frac{3}{4}}$."},
    {"problem": "Solve $x^2 = 4$.", "solution": "So $x = \\boxed{\\pm 2}$."},
    {"problem": "For which $x$ is $x - 1 \\ge 0$?", "solution": "We get \\boxed{1} at the end, so $x \\in \\fbox{[1, \\infty)}$."},
    {"problem": "Write $(1,2)$ reversed.", "solution": "It is $\\boxed{(2,1)}$."},
]
GSM8K_ROWS = [
    {"question": "Tom has 3 apples and buys 4. How many?", "answer": "3 + 4 = <<3+4=7>>7\n#### 7"},
    {"question": "A book costs $1,200 and a pen $34. Total?", "answer": "1200 + 34 = 1234\n#### 1,234"},
]


def test_math_preset_reads_the_boxed_answer_from_local_files(tmp_path):
    task = task_from_preset("math", write_jsonl(tmp_path / "math.jsonl", MATH_ROWS))
    problems = task.problems("test")
    assert [p.answer for p in problems] == ["\\frac{3}{4}", "\\pm 2", "[1, \\infty)", "(2,1)"]
    assert problems[0].question == MATH_ROWS[0]["problem"] and "\\boxed{}" in task.prompt(problems[0])


def test_math_preset_uses_an_answer_field_when_mapped(tmp_path):
    rows = [dict(row, answer=f"ans{i}") for i, row in enumerate(MATH_ROWS)]
    task = task_from_preset("math", write_jsonl(tmp_path / "math.jsonl", rows), "task.fields.answer=answer")
    assert [p.answer for p in task.problems("pool")] == ["ans0", "ans1", "ans2", "ans3"]


def test_gsm8k_preset_reads_the_answer_after_the_hashes(tmp_path):
    task = task_from_preset("gsm8k", write_jsonl(tmp_path / "gsm8k.jsonl", GSM8K_ROWS))
    problems = task.problems("pool")
    assert [p.answer for p in problems] == ["7", "1,234"]
    assert problems[1].solution.endswith("#### 1,234") and task.prompt(problems[0]).startswith("Question: Tom")


def test_math_task_in_grow_is_judged_by_the_verifier(tmp_path):
    task = task_from_preset("math", write_jsonl(tmp_path / "math.jsonl", MATH_ROWS))
    by_question = {
        MATH_ROWS[0]["problem"]: ["so \\boxed{0.75}", "so \\boxed{\\frac{3}{5}}"],
        MATH_ROWS[1]["problem"]: ["x = \\boxed{2}", "\\boxed{-2, 2}"],
        MATH_ROWS[2]["problem"]: ["\\boxed{(1, \\infty)}", "\\boxed{[1,\\infty)}"],
        MATH_ROWS[3]["problem"]: ["\\boxed{(1,2)}", "I give up"],
    }
    sampler = ScriptedSampler(lambda prompt: next(t for q, t in by_question.items() if q in prompt))
    with make_verifier(workers=2) as verifier:
        grow_stage(tmp_path / "grown", 1, "policy", task, "pool", sampler, sampling(n=2), verifier)
    samples = load_samples(tmp_path / "grown")
    assert [s.correct for s in samples] == [True, False, False, True, False, True, False, False]
    assert [s.verdict for s in samples][-1] == "no_answer"


def test_math_task_runs_in_the_loop_end_to_end(tmp_path, tiny_model):
    data = write_jsonl(tmp_path / "math.jsonl", MATH_ROWS)
    run_in_process(tmp_path / "run", "task=math", "task.path=json", "task.name=null",
                   f"task.data_files={{train: {data}, test: {data}}}", f"model.path={tiny_model}",
                   "algorithm.iterations=1", "sampler.grow.n=2", "sampler.grow.max_tokens=8", "mode.eval.k=2")
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in rows] == [0, 1] and rows[1]["grown"] == 2 * len(MATH_ROWS)
    assert rows[1]["eval_problems"] == len(MATH_ROWS)


def test_few_shot_prefix_and_the_tokenizers_chat_template(tmp_path):
    from rest.base_model import byte_level_tokenizer

    tokenizer = byte_level_tokenizer()
    tokenizer.chat_template = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% endfor %}<|assistant|>"
    tokenizer.save_pretrained(tmp_path / "tok")
    data = write_jsonl(tmp_path / "gsm8k.jsonl", GSM8K_ROWS)
    task = task_from_preset("gsm8k", data, "task.few_shot='Q: 1+1? A: 2.\n'", "task.chat_template=true",
                            f"task.tokenizer={tmp_path / 'tok'}")
    prompt = task.prompt(task.problems("test")[0])
    assert prompt.startswith("<|user|>Q: 1+1? A: 2.\nQuestion: Tom has 3 apples") and prompt.endswith("<|assistant|>")
    plain = task_from_preset("gsm8k", data, "task.few_shot='Q: 1+1? A: 2.\n'")
    assert plain.prompt(plain.problems("test")[0]).startswith("Q: 1+1? A: 2.\nQuestion: Tom")


def test_a_source_that_cannot_be_reached_is_a_one_line_error():
    """A misspelt builder or hub name (`jsonl` for `json`) is looked up on the hub: offline that is a
    ConnectionError, online a DatasetNotFoundError; both become a UserError naming the source."""
    task = build(config("task=gsm8k").task, path="jsonl", name=None)
    with pytest.raises(UserError, match="cannot load 'jsonl' split 'train'"):
        task.problems("pool")


@pytest.mark.parametrize("preset", ["gsm8k", "mbpp"])
def test_one_file_without_splits_is_the_train_split_as_datasets_reads_it(tmp_path, preset):
    """`task.data_files=FILE` (no split names): `datasets` calls it `train`; a split mapped to train reads it, one
    mapped to another split is one line that says how to map them."""
    data = write_jsonl(tmp_path / "rows.jsonl", GSM8K_ROWS)
    task = make_task(f"task={preset}", "task.path=json", "task.name=null", f"task.data_files={data}",
                     "task.splits.test=train")
    assert len(task.problems("test")) == 2 if preset == "gsm8k" else task.data_files == data
    unmapped = make_task(f"task={preset}", "task.path=json", "task.name=null", f"task.data_files={data}",
                         "task.splits.test=test")
    with pytest.raises(UserError, match="names files without splits, which `datasets` reads as one 'train' split"):
        unmapped.problems("test")


@pytest.mark.parametrize("preset", ["gsm8k", "math", "mbpp", "humaneval"])  # apps reads its hub files as json
def test_local_files_under_a_hub_dataset_name_say_to_set_the_format(tmp_path, preset):
    """Forgetting `task.path=json` leaves the preset's hub name: the local files would be looked for in the hub's
    repository (offline: advice to set task.data_files, which is set)."""
    data = write_jsonl(tmp_path / "rows.jsonl", GSM8K_ROWS)
    task = make_task(f"task={preset}", f"task.data_files={{train: {data}, test: {data}}}")
    with pytest.raises(UserError, match="these are local files, but task.path=.* names a hub dataset; set "
                                        "task.path to their format .* e.g. task.path=json"):
        task.problems("test")
