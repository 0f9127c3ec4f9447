"""Answer likelihood (LaTRO's reward) against a direct computation of its definition on tiny models; bad input is
one line before any model is loaded; mode=score writes it as a column."""

import dataclasses
import json

import pytest
import torch
from conftest import config, context, make_scorer, run_in_process, write_jsonl
from omegaconf import OmegaConf
from transformers import AutoModelForCausalLM, AutoTokenizer

from rest.errors import UserError
from rest.records import Sample
from rest.scorers.answer_likelihood import rationale
from rest.tasks.arithmetic import ArithmeticTask

PROMPT = "Compute 3 + 4 - 2.\n"
ROWS = [  # (completion, reference, the rationale the definition gives)
    ("3 + 4 = 7\n7 - 2 = 5\n#### 5", "5", "3 + 4 = 7\n7 - 2 = 5\n"),  # one marker
    ("3 + 4 = 7\n7 - 2 = 5", "5", "3 + 4 = 7\n7 - 2 = 5"),  # no marker: the whole completion
    ("3 + 4 = 7\n#### 7\n7 - 2 = 5\n#### 5", "5", "3 + 4 = 7\n#### 7\n7 - 2 = 5\n"),  # two: only the last splits
    ("#### 6", "5", ""),  # an empty rationale
]


def direct_logprobs(model_path: str, prefix_parts: list[str], target: str) -> torch.Tensor:
    """log pi(target token | prompt + earlier parts + earlier target tokens), each part tokenized on its own (the
    first as a prompt, the rest without special tokens), from one plain forward pass."""
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32).eval()
    prefix = tokenizer(prefix_parts[0])["input_ids"]
    for part in prefix_parts[1:]:
        prefix += tokenizer(part, add_special_tokens=False)["input_ids"]
    t = tokenizer(target, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = model(torch.tensor([prefix + t])).logits[0].double()
    logprobs = torch.log_softmax(logits[len(prefix) - 1 : len(prefix) + len(t) - 1], dim=-1)
    return logprobs[torch.arange(len(t)), torch.tensor(t)]


def definition(judge: str, base: str, completion: str, reference: str, reduction: str, kl_coef: float) -> float:
    z = completion[: completion.rfind("####")] if "####" in completion else completion
    answer = direct_logprobs(judge, [PROMPT, z], f"#### {reference}")
    reward = float(answer.sum() if reduction == "sum" else answer.mean())
    if kl_coef and z:
        reward -= kl_coef * float(direct_logprobs(judge, [PROMPT], z).sum() - direct_logprobs(base, [PROMPT], z).sum())
    return reward


def sample(completion: str, reference: str | None) -> Sample:
    return Sample(problem_id="p", sample_index=0, iteration=1, prompt=PROMPT, completion=completion,
                  reference=reference, finish_reason="stop", num_tokens=0)


def test_the_rationale_is_the_completion_before_its_last_marker():
    assert [rationale(c, "####") for c, _, _ in ROWS] == [z for _, _, z in ROWS]
    assert rationale("a #### b", None) == "a #### b"


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("kl_coef", [0.0, 0.5])
def test_the_score_is_the_log_likelihood_of_the_reference_answer(tiny_model, other_model, reduction, kl_coef):
    """The judge is the policy (tiny_model); pi_0 is a different base model (other_model), so the drift is not 0."""
    scorer = make_scorer("answer_likelihood", reduction=reduction, kl_coef=kl_coef)
    scores = scorer.score([sample(c, r) for c, r, _ in ROWS], context(None, policy=tiny_model, base_model=other_model))
    expected = [definition(tiny_model, other_model, c, r, reduction, kl_coef) for c, r, _ in ROWS]
    assert scores == pytest.approx(expected, abs=1e-4)


def test_the_drift_penalty_lowers_a_rationale_the_policy_likes_more_than_the_base_does(tiny_model, other_model):
    rows = [sample(c, r) for c, r, _ in ROWS[:3]]
    plain = make_scorer("answer_likelihood").score(rows, context(None, policy=tiny_model, base_model=other_model))
    kl = make_scorer("answer_likelihood", kl_coef=1.0).score(rows, context(None, policy=tiny_model, base_model=other_model))
    drift = [float(direct_logprobs(tiny_model, [PROMPT], z).sum() - direct_logprobs(other_model, [PROMPT], z).sum())
             for _, _, z in ROWS[:3]]
    assert [p - k for p, k in zip(plain, kl)] == pytest.approx(drift, abs=1e-4) and all(abs(d) > 1e-3 for d in drift)


def test_the_configured_judge_scores_and_the_base_model_has_no_drift_against_itself(tiny_model, other_model):
    scorer = make_scorer("answer_likelihood", model=other_model, kl_coef=1.0)
    scores = scorer.score([sample(ROWS[0][0], "5")], context(None, base_model=other_model))
    assert scores == pytest.approx([definition(other_model, other_model, ROWS[0][0], "5", "sum", 0.0)], abs=1e-4)


def test_a_sample_without_a_reference_is_not_scored_and_logged(tiny_model, caplog):
    scorer = make_scorer("answer_likelihood", model=tiny_model)
    with caplog.at_level("WARNING"):
        scores = scorer.score([sample(ROWS[0][0], "5"), sample(ROWS[0][0], "")], context(None))
    assert scores[0] is not None and scores[1] is None and "1 of 2 samples have no reference" in caplog.text


def test_a_task_without_references_is_one_line_before_any_model_is_loaded():
    scorer = make_scorer("answer_likelihood", model="/no/such/model")  # loading it would fail otherwise
    with pytest.raises(UserError) as err:
        scorer.score([sample("2 + 2 = 4\n#### 4", ""), sample("#### 4", None)], context(None))
    assert "reference" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("settings", [{"answer_template": "#### {answer}"}, {"reduction": "min"}, {"kl_coef": -1.0},
                                      {"answer_template": 5}, {"answer_marker": 5}, {"answer_marker": ""}])
def test_bad_settings_are_one_line(settings):
    with pytest.raises(UserError) as err:
        make_scorer("answer_likelihood", **settings)
    assert "\n" not in str(err.value)


def test_mode_score_writes_the_answer_likelihood_column(tmp_path, tiny_model):
    from rest.run import execute

    rows = [{"prompt": PROMPT, "completion": c, "reference": r} for c, r, _ in ROWS[:2]]
    cfg = config("mode=score", "scorer=answer_likelihood", f"scorers.answer_likelihood.model={tiny_model}",
                 f"mode.input={write_jsonl(tmp_path / 'in.jsonl', rows)}", f"mode.output={tmp_path / 'out.jsonl'}")
    OmegaConf.set_struct(cfg, False)
    assert execute(cfg, tmp_path / "run") == 0
    written = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    expected = [definition(tiny_model, tiny_model, c, r, "sum", 0.0) for c, r, _ in ROWS[:2]]
    assert [row["score_answer_likelihood"] for row in written] == pytest.approx(expected, abs=1e-4)


def test_the_verifier_free_loop_keeps_k_samples_per_problem_whatever_their_verdict(tmp_path, tiny_model):
    from conftest import curve_loop

    """One right and one wrong sample per problem: the verifier would keep 8 of 16, top-2 by likelihood keeps all."""
    metrics = curve_loop(tmp_path, tiny_model, lambda prompt, iteration, j: j == 0, "experiment=verifier_free",
                         "filter.min_score=null", "filter.k=2", "algorithm.iterations=1")
    improve = metrics[1]
    assert (improve["grown"], improve["correct"], improve["kept"]) == (16, 8, 16)
    assert improve["unscorable_answer_likelihood"] == 0


class Unlabelled:
    """The built-in task with its problems' reference answers taken away: a task that has none."""

    def __init__(self, **settings):
        self.task = ArithmeticTask(**settings)

    def __getattr__(self, name):
        return getattr(self.task, name)

    def problems(self, split):
        return [dataclasses.replace(p, answer="") for p in self.task.problems(split)]


@pytest.mark.parametrize(("job", "split", "made"), [
    (["experiment=verifier_free"], "pool", "iter_0"),
    (["mode=rm_eval", "mode.scorers={}", "+scorer@mode.scorers.answer_likelihood=answer_likelihood"], "test",
     "rm_eval.parts"),
])
def test_a_job_on_problems_without_references_is_refused_before_any_work(tmp_path, tiny_model, job, split, made):
    with pytest.raises(UserError, match=f"scorer answer_likelihood needs reference answers, and the task's {split}"):
        run_in_process(tmp_path, *job, f"task._target_={__name__}.Unlabelled", f"model.path={tiny_model}")
    assert not (tmp_path / made).exists()
