"""Prompts for chat models: a task's text as the user turn of the tokenizer's chat template, after an optional
system message, ending with the assistant's header so that the model writes the reply (and then its
end-of-turn token, where Grow stops)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from rest.errors import UserError

log = logging.getLogger(__name__)


def chat_formatter(tokenizer_path: str | None, system_prompt: str | None) -> Callable[[str], str] | None:
    """The chat template as a function of the user text; None (prompts used as they are) when it has none."""
    if not tokenizer_path:
        raise UserError("task.chat_template=true needs task.tokenizer (or model.path) to read the template from")
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_path)
    if not tokenizer.chat_template:
        log.warning("task: %s has no chat template; prompts are used as they are", tokenizer_path)
        return None
    system = [{"role": "system", "content": system_prompt}] if system_prompt else []

    def format_chat(text: str) -> str:
        messages = [*system, {"role": "user", "content": text}]
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    return format_chat
