"""Grow's sampler: vLLM (vllm.py), several vLLM engines on Ray (ray.py; where they go: placement.py), their
settings and outputs (settings.py), the engine's dtype from the hardware (hardware.py), when a checkpoint can be
loaded into a running engine (checkpoints.py) and the code that runs in vLLM's workers (worker.py). Neither vllm
nor ray is imported until an engine starts."""

from rest.sampler.ray import RaySampler
from rest.sampler.settings import Completion, SamplingSettings, sample_seed
from rest.sampler.vllm import VLLMSampler

__all__ = ["Completion", "RaySampler", "SamplingSettings", "VLLMSampler", "sample_seed"]
