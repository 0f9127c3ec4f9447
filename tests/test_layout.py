"""The shape of the code, checked: small files and functions, no import cycle, Grow written once."""

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "rest"


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules `path` imports at run time, anywhere in it (TYPE_CHECKING blocks excepted)."""
    found = set()

    def visit(node, type_checking: bool) -> None:
        for child in ast.iter_child_nodes(node):
            guarded = type_checking or (isinstance(child, ast.If) and "TYPE_CHECKING" in ast.dump(child.test))
            if isinstance(child, ast.ImportFrom) and child.module and not guarded:
                found.update(f"{child.module}.{a.name}" if f"{child.module}.{a.name}" in known else child.module
                             for a in child.names)
            elif isinstance(child, ast.Import) and not guarded:
                found.update(a.name for a in child.names)
            visit(child, guarded)

    visit(ast.parse(path.read_text()), False)
    return {name for name in found if name in known}


def test_no_file_over_300_lines_and_no_function_over_40():
    long_files = [str(p) for p in PACKAGE.rglob("*.py") if p.read_text().count("\n") > 300]
    long_functions = [f"{p}:{node.name}" for p in PACKAGE.rglob("*.py") for node in ast.walk(ast.parse(p.read_text()))
                      if isinstance(node, ast.FunctionDef) and node.end_lineno - node.lineno + 1 > 40]
    assert long_files == [] and long_functions == []


def test_no_import_cycle():
    known = modules()
    graph = {name: imports(path, known) - {name} for name, path in known.items()}
    done, cycles = set(), []

    def walk(name: str, stack: list[str]) -> None:
        for dep in graph[name]:
            if dep in stack:
                cycles.append(stack[stack.index(dep):] + [dep])
            elif dep not in done:
                walk(dep, [*stack, dep])
        done.add(name)

    for name in graph:
        walk(name, [name])
    assert cycles == []


def test_grow_is_written_once():
    """Only the Grow stage turns sampler output into samples; everyone else calls it."""
    sources = {p.relative_to(ROOT).as_posix(): p.read_text() for p in PACKAGE.rglob("*.py")}
    assert [p for p, s in sources.items() if "Sample.grown(" in s] == ["rest/stages/grow.py"]
    assert [p for p, s in sources.items() if "sampler.stream(" in s] == ["rest/stages/grow.py"]
