"""Reading a dataset from the Hugging Face Hub, or from local files, through `datasets`, with one line for what
goes wrong: a missing or unreadable file, a dataset the hub does not have, and a hub that cannot be reached (a
compute node without network: the client's own connection error, not an OSError, passes through `datasets`
untranslated when it lists `hf://` files). `unreachable` also words a hub model's error (rest/models.py).

Run once where there is network (datasets and models are cached under HF_HOME, e.g. ~/.cache/huggingface), then
with HF_HUB_OFFLINE=1 on the node without: the cache is read and nothing is retried.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from rest.errors import UserError, chain, first_line

CACHE_IT = "load it once where there is network (it is cached under HF_HOME)"
LOCAL_FILES = "or set task.data_files to local files"


def _transport_errors() -> tuple[type[Exception], ...]:
    """The hub client's errors for a request that reached no server: httpx2's (huggingface_hub >= 2) and httpx's
    (1.x); requests' (0.x) are OSErrors."""
    return tuple(importlib.import_module(name).TransportError
                 for name in ("httpx2", "httpx") if importlib.util.find_spec(name))


UNREACHABLE = (ConnectionError, *_transport_errors())


def load_split(path: str, name: str | None, data_files: dict | str | None, split: str):
    """`datasets.load_dataset(path, name, data_files=..., split=split)`, or one UserError line."""
    import datasets

    files = split_files(data_files, split)
    where = f"task: cannot load {path!r} split {split!r}" + (f" ({files})" if files else "")
    if data_files and not isinstance(data_files, dict) and split.split("[")[0] != "train":
        raise UserError(f"{where}: task.data_files names files without splits, which `datasets` reads as one "
                        "'train' split; map splits to files, task.data_files='{train: A.jsonl, test: B.jsonl}', "
                        "or carve the loop's splits out of it, task.splits.pool='train[:90%]' "
                        "task.splits.test='train[90%:]'")
    if files and _is_hub_name(path) and all(Path(f).is_file() for f in _listed(files)):
        raise UserError(f"{where}: these are local files, but task.path={path!r} names a hub dataset; set "
                        "task.path to their format (json, csv or parquet), e.g. task.path=json")
    try:
        return datasets.load_dataset(path, name, data_files=data_files, split=split)
    except UNREACHABLE as err:
        raise UserError(f"{where}: {unreachable(err, LOCAL_FILES)}") from None
    except (OSError, ValueError, RuntimeError, datasets.exceptions.DatasetNotFoundError) as err:
        raise UserError(f"{where}: {first_line(err)}") from None
    except StopIteration:  # datasets' json builder finds no first row to read the columns from
        raise UserError(f"task: {path!r} has an empty data file (data_files={data_files})") from None


def split_files(data_files: dict | str | None, split: str):
    """The files behind a `datasets` split (`train[:50%]`: the `train` files), or None when none are named."""
    return data_files.get(split.split("[")[0]) if isinstance(data_files, dict) else data_files


def _is_hub_name(path: str) -> bool:
    """`owner/name` that is not a local directory (`datasets`' own loaders, json, csv, parquet, ..., have no `/`)."""
    return "/" in path and not Path(path).exists()


def _listed(files: str | list[str]) -> list[str]:
    return [files] if isinstance(files, str) else list(files)


def unreachable(err: BaseException, local: str) -> str | None:
    """Why the hub gave nothing and what to do, when that is why: offline mode is on, or a request reached no
    server (an error anywhere in `err`'s chain); None for anything else (a name the hub does not have). `local`:
    the setting that takes local files instead."""
    from huggingface_hub.constants import is_offline_mode

    if is_offline_mode():
        return f"not in the local cache, and HF_HUB_OFFLINE is set ({first_line(err)}); {CACHE_IT}, {local}"
    if any(isinstance(link, UNREACHABLE) for link in chain(err)):
        return (f"the Hugging Face Hub cannot be reached ({first_line(err)}); {CACHE_IT} and set HF_HUB_OFFLINE=1 "
                f"where there is none, {local}")
    return None

