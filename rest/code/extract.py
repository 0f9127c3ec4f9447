"""The program in a completion: which fenced block to run.

Rule: among the fenced blocks tagged python / py / python3 / py3 or untagged, the last one that defines
`entry_point` at top level (def, class or assignment; read with `ast`, or a regular expression when the block does
not parse), else the last of them; a completion without any fence is the program itself. A final fence left open
(generation cut at max_tokens) is a block up to the end. Blocks are dedented (fences inside markdown lists).
A completion that has fences but none of them Python, or that is empty, has no program (None: verdict no_code).
"""

from __future__ import annotations

import ast
import re
import textwrap

FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:^[ \t]*```[ \t]*$|\Z)", re.MULTILINE | re.DOTALL)
PYTHON_TAGS = ("", "python", "py", "python3", "py3")


def extract_code(completion: str | None, entry_point: str | None = None) -> str | None:
    """The program to run, by the module's rule.

    >>> extract_code("Here:\\n```python\\ndef f(x):\\n    return 2 * x\\n```\\nDone.")
    'def f(x):\\n    return 2 * x\\n'
    >>> extract_code("```py\\ndef g(): pass\\n```\\n```\\nprint(g())\\n```", entry_point="g")
    'def g(): pass\\n'
    >>> extract_code("def f(): return 1"), extract_code("```bash\\nls\\n```"), extract_code("  ")
    ('def f(): return 1', None, None)
    """
    if completion is None or not completion.strip():
        return None
    fences = FENCE.findall(completion)
    if not fences:
        return completion
    blocks = [textwrap.dedent(body) for tag, body in fences if tag.lower() in PYTHON_TAGS and body.strip()]
    if not blocks:
        return None
    if entry_point is not None:
        defining = [block for block in blocks if defines(block, entry_point)]
        blocks = defining or blocks
    return blocks[-1]


def defines(code: str, name: str) -> bool:
    """Whether `code` defines `name` at top level.

    >>> defines("import math\\nclass Stack: ...", "Stack"), defines("def f(:\\n  pass", "f"), defines("f(3)", "f")
    (True, True, False)
    """
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        pattern = rf"^(?:async[ \t]+def|def|class)[ \t]+{re.escape(name)}\b|^{re.escape(name)}[ \t]*(?::[^=\n]*)?="
        return re.search(pattern, code, re.MULTILINE) is not None
    return any(name in top_level_names(statement) for statement in tree.body)


def top_level_names(statement: ast.stmt) -> set[str]:
    """The names a top-level statement binds (functions, classes, assignments, imports)."""
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {statement.name}
    if isinstance(statement, ast.Import | ast.ImportFrom):
        return {(alias.asname or alias.name).split(".")[0] for alias in statement.names}
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, ast.AnnAssign | ast.AugAssign):
        targets = [statement.target]
    else:
        return set()
    return {node.id for target in targets for node in ast.walk(target) if isinstance(node, ast.Name)}
