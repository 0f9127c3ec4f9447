"""Shared fixtures: a random tiny Llama (no network) and one vLLM engine for the whole session."""

from __future__ import annotations

import os

# Tests never use the network: a name that is not a local path fails at once instead of after the hub's retries
# (set before transformers / datasets read it at import; subprocesses inherit it).
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest

from rest.base_model import init_tiny_llama

TINY = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 1,
        "num_key_value_heads": 1, "max_position_embeddings": 128}


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("tiny-llama")
    init_tiny_llama(path, TINY, seed=0)
    return str(path)


@pytest.fixture(scope="session")
def sampler():
    from rest.sampler import VLLMSampler

    engine = VLLMSampler(seed=0, gpu_memory_utilization=0.1, enforce_eager=True, enable_chunked_prefill=False)
    yield engine
    engine.close()
