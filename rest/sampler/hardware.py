"""What the engine runs in, chosen from the hardware: `dtype: auto` means float32 on a CPU without native bf16.

vLLM's own `auto` samples a float32 checkpoint in bf16. A CPU without bf16 instructions (no AVX512-BF16, no AMX,
no ARM BF16) emulates bf16, at about a quarter of float32's speed (README: 764 against 3,249 tokens/s on a
2-core AVX2 machine), so there `auto` is float32. Elsewhere (GPU, bf16 CPUs) it stays vLLM's choice.
"""

from __future__ import annotations


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
