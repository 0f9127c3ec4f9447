"""Any `datasets` source as a task: a hub name or local JSONL / Parquet / CSV files, with a field map.

GSM8K (`question`, `answer` = worked solution ending in `#### 72`) and MATH (`problem`, `solution` with a
boxed answer) are presets in rest/conf/task/. When no answer field is mapped, the final answer is extracted
from the solution field. A row without an answer is a UserError naming the split and the row.
"""

from __future__ import annotations

import logging

from rest.config import plain
from rest.errors import UserError
from rest.hub import load_split
from rest.records import Problem
from rest.tasks import checked_limits
from rest.tasks.chat import chat_formatter
from rest.templates import check_template
from rest.verifier.answers import check_fallback, extract_answer

log = logging.getLogger(__name__)


class DatasetTask:
    """Settings: rest/conf/task/gsm8k.yaml (and math.yaml); `limits` caps a split's problems (None: all)."""

    def __init__(self, *, path: str, name: str | None, data_files: dict[str, str] | str | None, splits: dict[str, str],
                 fields: dict[str, str | None], limits: dict[str, int | None], prompt_template: str, few_shot: str,
                 chat_template: bool, system_prompt: str | None, tokenizer: str | None, answer_fallback: str | None,
                 step_delimiter: str):
        if not fields.get("question"):
            raise UserError("task.fields.question: name the dataset field that holds the question")
        if not (fields.get("answer") or fields.get("solution")):
            raise UserError("task.fields: map `answer` or `solution` (the final answer is read from it)")
        check_template(prompt_template, "task.prompt_template", ("question",))
        self.path, self.name = path, name
        check_fallback(answer_fallback, "task.answer_fallback")
        self.answer_fallback = answer_fallback
        self.step_delimiter = step_delimiter
        self.data_files = plain(data_files) or None  # {split: files}, or the files of one `train` split
        self.splits, self.fields = dict(splits), dict(fields)
        self.limits = checked_limits(limits)
        self.prompt_template, self.few_shot = prompt_template, few_shot
        self._chat = chat_formatter(tokenizer, system_prompt) if chat_template else None
        self._cache: dict[str, list[Problem]] = {}

    def problems(self, split: str) -> list[Problem]:
        if split not in self.splits:
            raise UserError(f"task.splits has no {split!r} split (it maps {sorted(self.splits)})")
        if split not in self._cache:
            self._cache[split] = self._load(split)
        return self._cache[split]

    def prompt(self, problem: Problem) -> str:
        """few_shot + prompt_template; with `chat_template`, that text as the user turn of the tokenizer's template."""
        text = self.few_shot + self.prompt_template.format(question=problem.question)
        return self._chat(text) if self._chat else text

    def _load(self, split: str) -> list[Problem]:
        source = self.splits[split]
        rows = load_split(self.path, self.name, self.data_files, source)
        limit = self.limits.get(split)
        if limit:
            rows = rows.select(range(min(limit, len(rows))))
        if len(rows) == 0:
            raise UserError(f"task: split {split!r} ({self.path} {source}) is empty")
        missing = {f for f in self.fields.values() if f} - set(rows.column_names)
        if missing:
            raise UserError(f"task: {self.path} {source} has no field(s) {sorted(missing)}; it has {rows.column_names}")
        return [self._problem(row, i, split) for i, row in enumerate(rows)]

    def _problem(self, row: dict, index: int, split: str) -> Problem:
        f = self.fields
        solution = row[f["solution"]] if f.get("solution") else None
        answer = row[f["answer"]] if f.get("answer") else extract_answer(solution or "")
        if answer is None or str(answer).strip() == "":
            raise UserError(f"task: {self.path} split {split!r} row {index} has no answer")
        problem_id = str(row[f["id"]]) if f.get("id") else f"{split}-{index}"
        return Problem(id=problem_id, question=row[f["question"]], answer=str(answer).strip(), solution=solution)

