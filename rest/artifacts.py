"""Stage artifacts on disk: written atomically (temp path, then rename) so that an existing artifact
is always complete, and a stage whose artifact exists is skipped on rerun."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

log = logging.getLogger(__name__)
STATS = "stats.json"  # a samples artifact's counts and timings, inside its directory


def cannot_create(path: Path) -> str | None:
    """Why `path` (a new directory, a new file or a file to replace) cannot be written, or None. A trial directory
    is made where it would go: permissions, a read-only mount and a pseudo file system such as /proc refuse it, also
    for root."""
    path = path.expanduser().absolute()
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir() and existing != path:
        return f"cannot create it, {existing} is a file"
    where = existing if existing.is_dir() else path.parent
    try:
        tempfile.TemporaryDirectory(dir=where).cleanup()
    except OSError as err:
        return f"cannot create it in {where} ({err.strerror})"
    return None


def inside(path: str, root: Path) -> str:
    """An existing `path` relative to `root` when it lies inside it (so that a record of it, a resume plan or a
    link, still holds after `root`, a run directory, is moved), else as given (a model outside the run, a hub id)."""
    resolved, root = Path(path).resolve(), root.resolve()
    return str(resolved.relative_to(root)) if Path(path).exists() and resolved.is_relative_to(root) else path


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a temp directory beside `path`; on success it replaces `path` in one rename."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(path, ignore_errors=True)
    os.replace(tmp, path)


@contextlib.contextmanager
def one_maker(path: str | Path) -> Iterator[None]:
    """Hold `<path>.lock` while making a shared cache entry at `path` (a base model built or converted on first use):
    the jobs of a parallel sweep or a Slurm array that need the same one make it once; the others wait, then find
    it made. The lock is the operating system's, dropped however its holder ends."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(f"{path}.lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log.info("waiting for another process to finish making %s", path)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def write_json(path: str | Path, obj) -> None:
    """Write JSON atomically."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def read_json(path: str | Path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_jsonl(path: str | Path, rows: list[dict]) -> None:
    """Write JSON lines atomically."""
    write_text(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))


def sha256_of(path: str | Path) -> str:
    """The file's SHA-256, hex: what a kept result was made from; of a directory, its files' names and contents."""
    path = Path(path)
    if not path.is_dir():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(path)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def write_text(path: str | Path, text: str) -> None:
    """Write a file atomically: readers see the old file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")  # whatever the locale: rows keep their questions' characters
    os.replace(tmp, path)


def save_samples(out: Path, samples: list, stats: dict) -> None:
    """Samples as a `datasets` dataset at `out`, with `stats` beside them (stats.json), in one rename."""
    import datasets

    with atomic_dir(out) as tmp:
        datasets.Dataset.from_list([s.to_row() for s in samples]).save_to_disk(str(tmp))
        write_json(tmp / STATS, stats)


def load_samples(path: Path) -> list:
    import datasets

    from rest.records import Sample

    return [Sample.from_row(row) for row in datasets.load_from_disk(str(path))]


def remove_leftovers(run_dir: Path) -> list[Path]:
    """Delete the temporary files and directories an interrupted run left (their artifacts were never
    renamed into place); returns what was removed."""
    leftovers = sorted(Path(run_dir).rglob("*.tmp")) if Path(run_dir).exists() else []
    for path in leftovers:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return leftovers
