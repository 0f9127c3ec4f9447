"""EAST (rest/weighting.py, rest/weighted_sft.py): answer entropy per problem, the h^a weights (mean 1 over kept
examples) written beside the samples, and an SFT loss in which each example counts by its weight."""

import json
import math

import pytest
import torch
from conftest import PLAIN_SFT, config, context, make_scorer, rank_spec, sampling
from fakes import ScriptedSampler
from omegaconf import OmegaConf
from trl import SFTTrainer

from rest.artifacts import load_samples
from rest.config import CONFIG_DIR, build
from rest.config_check import config_error
from rest.errors import UserError
from rest.filters import KeepCorrect
from rest.records import Problem, Sample
from rest.stages.grow import grow_stage
from rest.stages.improve import improve, refilter
from rest.stages.train import kept_examples
from rest.trainer import SFT as Trainer
from rest.weighting import East, answer_entropy, east_weights, mean_one, smallest_entropy
from rest.weighting import from_trainer as weighting_from

EXAMPLES = [{"prompt": "Compute 1 + 2.\n", "completion": "1 + 2 = 3\n#### 3"},
            {"prompt": "Compute 10 - 4 + 7.\n", "completion": "10 - 4 = 6\n6 + 7 = 13\n#### 13"}]


def samples(answers: dict[str, list[str | None]], kept: dict[str, int] | None = None) -> list[Sample]:
    """Samples of each problem with these extracted answers; the first kept[problem] of them kept."""
    return [Sample(problem_id=p, sample_index=i, iteration=1, prompt="", completion="", reference="", finish_reason="stop",
                   num_tokens=1, extracted=a, kept=i < (kept or {}).get(p, 0))
            for p, texts in answers.items() for i, a in enumerate(texts)]


MIXED = {"agree": ["3", "$3$", "3."], "differ": ["1", "2", "3", None], "mixed": ["5", "5", "7", None]}


def test_answer_entropy_is_0_when_all_agree_1_when_all_differ_and_counts_no_answer_as_its_own_group():
    h = answer_entropy(samples({**MIXED, "silent": [None, None]}))
    # "mixed": groups of 2, 1, 1 of 4 samples: 1.5 bits of at most 2
    assert h == pytest.approx({"agree": 0.0, "differ": 1.0, "mixed": 0.75, "silent": 1.0})


def test_one_number_written_in_several_ways_is_one_answer_of_the_distribution():
    h = answer_entropy(samples({"halves": ["1/2", "0.5", "\\frac{1}{2}", "4"], "thousands": ["1,000", "1000.0"]}))
    three_and_one = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25)) / math.log(4)
    assert h == pytest.approx({"halves": three_and_one, "thousands": 0.0})


def test_weights_are_entropy_to_the_a_with_mean_one_over_the_kept_samples():
    rows = samples(MIXED, kept={"agree": 1, "differ": 1, "mixed": 2})
    weights = East(2.0).apply(rows)
    raw = {"agree": 0.0, "differ": 1.0, "mixed": 0.75**2}
    mean = (raw["agree"] + raw["differ"] + 2 * raw["mixed"]) / 4
    assert weights == pytest.approx({p: w / mean for p, w in raw.items()})
    assert sum(s.weight for s in rows if s.kept) / 4 == pytest.approx(1.0)
    assert {s.problem_id: s.answer_entropy for s in rows} == pytest.approx({"agree": 0, "differ": 1, "mixed": 0.75})


def test_a_zero_gives_uniform_weights():
    rows = samples(MIXED, kept={"agree": 3, "differ": 1})
    assert mean_one(east_weights(rows, 0.0), [s for s in rows if s.kept]) == {"agree": 1.0, "differ": 1.0, "mixed": 1.0}


def test_negative_a_favours_confident_problems_with_a_finite_weight_at_zero_entropy():
    weights = east_weights(samples(MIXED), -1.0)
    assert weights["agree"] == pytest.approx(2 / smallest_entropy(3))  # h floored at half the smallest non-zero one
    assert weights["agree"] > weights["mixed"] > weights["differ"] == 1.0


def test_one_sample_per_problem_is_one_line_before_any_work():
    problem = config_error(CONFIG_DIR, ["trainer.weighting=east", "sampler.grow.n=1"])
    assert "sampler.grow.n" in problem and "\n" not in problem
    assert "budget.per_round" in config_error(CONFIG_DIR, ["trainer.weighting=east", "budget=adaptive"])
    assert "east" in config_error(CONFIG_DIR, ["trainer.weighting=entropy"])
    assert config_error(CONFIG_DIR, ["trainer.weighting=east", "trainer.east_a=-1"]) is None
    with pytest.raises(UserError, match="sampler.grow.n >= 2"):
        answer_entropy(samples({"alone": ["3"]}))


def test_an_adaptive_budget_below_two_samples_of_every_problem_is_one_line_naming_the_budget():
    east = ["trainer.weighting=east", "budget=adaptive", "budget.per_round=2"]
    problem = config_error(CONFIG_DIR, [*east, "budget.samples_per_problem=1.5"])  # round 0 gives half the problems 1
    assert problem is not None and "budget.samples_per_problem >= 2" in problem and "sampler.grow.n" not in problem
    assert config_error(CONFIG_DIR, [*east, "budget.samples_per_problem=2"]) is None


def test_east_with_a_grow_n_that_is_no_number_gets_the_grow_n_line():
    problem = config_error(CONFIG_DIR, ["trainer.weighting=east", "sampler.grow.n=null"])
    assert problem == "sampler.grow.n must be a whole number >= 1, got None"


@pytest.mark.parametrize("option", ["+trainer.packing=true", "+trainer.padding_free=true", "+trainer.loss_type=dft",
                                    "+trainer.label_smoothing_factor=0.1"])
def test_east_with_several_examples_per_row_or_another_loss_is_one_line_before_any_work(option):
    problem = config_error(CONFIG_DIR, ["trainer.weighting=east", option])
    assert problem is not None and problem.startswith("trainer.weighting weights each example's loss, which "
                                                      f"{option[1:].split('=')[0]}="), problem
    assert config_error(CONFIG_DIR, [option]) is None  # unweighted, TRL's own trainer takes it


def test_a_trainer_config_without_east_a_is_refused_rather_than_weighting_uniformly():
    problem = config_error(CONFIG_DIR, ["trainer.weighting=east", "~trainer.east_a"])
    assert problem is not None and "trainer.east_a" in problem and "rest/conf/trainer/sft.yaml" in problem
    with pytest.raises(UserError, match="needs trainer.east_a"):
        weighting_from(OmegaConf.create({"weighting": "east"}))
    with pytest.raises(UserError, match="needs trainer.east_a"):
        Trainer(**PLAIN_SFT, weighting="east")


class TwoProblems:
    answer_fallback = None

    def problems(self, split):
        return [Problem(id=f"p{i}", question=f"Compute {i} - {i}.", answer="0") for i in range(2)]

    def prompt(self, problem):
        return problem.question + "\n"


def east_improved(tmp_path, verifier) -> None:
    """iter_1-like samples at tmp_path/samples: p0's three samples agree (all right), p1's three differ (one right);
    the right ones kept, EAST a = 1."""
    answers = {"Compute 0 - 0.\n": ["#### 0"] * 3, "Compute 1 - 1.\n": ["#### 0", "#### 1", "#### 2"]}
    grow_stage(tmp_path / "grown", 1, "policy", TwoProblems(), "pool", ScriptedSampler(answers.__getitem__),
               sampling(n=3), verifier)
    improve(tmp_path / "samples", 1, tmp_path / "grown", {"exact_answer": make_scorer("exact_answer")},
            "exact_answer", KeepCorrect(), context(verifier), weighting=East(1.0))


def test_weights_and_entropies_are_written_in_the_samples_dataset_and_reach_the_examples(tmp_path, verifier):
    east_improved(tmp_path, verifier)
    rows = load_samples(tmp_path / "samples")
    # p0: 3 kept, entropy 0 -> weight 0; p1: 1 kept, entropy 1; mean over the 4 kept is 1
    written = {s.problem_id: (s.answer_entropy, s.weight) for s in rows}
    assert written == {"p0": pytest.approx((0.0, 0.0)), "p1": pytest.approx((1.0, 4.0))}
    assert sorted(e["weight"] for e in kept_examples(tmp_path / "samples")) == [0.0, 0.0, 0.0, 4.0]
    stats = json.loads((tmp_path / "samples" / "stats.json").read_text())
    assert (stats["weight_min"], stats["weight_max"]) == (0.0, 4.0)


def first_correct_of_each_problem(rows: list[Sample]) -> list[Sample]:
    firsts = {}
    for sample in rows:
        if sample.correct:
            firsts.setdefault(sample.problem_id, sample)
    return list(firsts.values())


def test_a_rest_step_that_filters_again_scales_the_weights_to_mean_one_over_what_it_keeps(tmp_path, verifier):
    east_improved(tmp_path, verifier)
    refilter(tmp_path / "step_2", 1, tmp_path / "samples", first_correct_of_each_problem, weighting=East(1.0))
    # kept: one of p0 (raw weight 0) and p1's one (raw weight 1): mean 1 over these two gives 0 and 2
    assert sorted(e["weight"] for e in kept_examples(tmp_path / "step_2")) == [0.0, 2.0]
    stats = json.loads((tmp_path / "step_2" / "stats.json").read_text())
    assert (stats["kept"], stats["weight_max"]) == (2, 2.0)


def SFT(**settings):
    return build(config().trainer, per_device_train_batch_size=2, max_length=128, **settings)


def weighted(tiny_model, tmp_path, weights, examples=EXAMPLES):
    rows = [{**e, "weight": w} for e, w in zip(examples, weights)]
    return SFT(weighting="east").build(rows, tiny_model, tmp_path)


def test_unit_weights_give_exactly_trl_loss_on_a_batch_and_in_the_first_step(tiny_model, tmp_path):
    trainer = weighted(tiny_model, tmp_path / "w", [1.0, 1.0])
    batch = next(iter(trainer.get_train_dataloader()))
    assert torch.equal(batch["weight"], torch.ones(2))
    plain_batch = {k: v for k, v in batch.items() if k != "weight"}
    loss = trainer.compute_loss(trainer.model, dict(batch))
    assert loss.item() == SFTTrainer.compute_loss(trainer, trainer.model, plain_batch).item()
    steps = {"max_steps": 1, "logging_steps": 1}
    plain = SFT(**steps).build(EXAMPLES, tiny_model, tmp_path / "p").train().training_loss
    assert weighted_first_step(tiny_model, tmp_path / "w1", steps) == pytest.approx(plain, rel=1e-6)


def weighted_first_step(tiny_model, out, steps):
    rows = [{**e, "weight": 1.0} for e in EXAMPLES]
    return SFT(weighting="east", **steps).build(rows, tiny_model, out).train().training_loss


def test_the_loss_is_the_weighted_sum_of_token_losses_over_the_batch_tokens(tiny_model, tmp_path):
    trainer = weighted(tiny_model, tmp_path, [0.5, 3.0])
    batch = next(iter(trainer.get_train_dataloader()))
    with torch.no_grad():
        loss = trainer.compute_loss(trainer.model, dict(batch)).item()
        logits = trainer.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
    labels = batch["labels"][:, 1:]
    mask = labels != -100
    token_loss = -logits.log_softmax(-1).gather(-1, labels.clamp(min=0)[..., None])[..., 0] * mask
    expected = (batch["weight"] * token_loss.sum(1)).sum() / mask.sum()
    assert loss == pytest.approx(expected.item(), rel=1e-5)


def gradient(tiny_model, tmp_path, weight: float) -> torch.Tensor:
    trainer = weighted(tiny_model, tmp_path, [weight], examples=EXAMPLES[:1])
    trainer.compute_loss(trainer.model, next(iter(trainer.get_train_dataloader()))).backward()
    return torch.cat([p.grad.flatten() for p in trainer.model.parameters() if p.grad is not None])


def test_an_example_gradient_scales_by_its_weight(tiny_model, tmp_path):
    once, twice = gradient(tiny_model, tmp_path / "1", 1.0), gradient(tiny_model, tmp_path / "2", 2.0)
    assert once.abs().sum() > 0
    torch.testing.assert_close(twice, 2 * once)


def test_weighting_with_packing_is_one_line(tiny_model, tmp_path):
    with pytest.raises(UserError, match="packing"):
        SFT(weighting="east", packing=True).build([{**EXAMPLES[0], "weight": 1.0}], tiny_model, tmp_path)


def test_the_process_group_spec_carries_the_weighting_and_the_weights(tiny_model, tmp_path, monkeypatch):
    import rest.trainer

    seen = {}
    monkeypatch.setattr(rest.trainer, "launch", lambda spec, examples, *_: seen.update(spec=spec, examples=examples) or
                        {"world_size": 2, "global_batch_size": 4, "global_step": 1, "training_loss": 0.0})
    SFT(weighting="east", east_a=-1).train_in_group([{**EXAMPLES[0], "weight": 2.5}], tiny_model, tmp_path)
    assert (seen["spec"]["weighting"], seen["examples"][0]["weight"]) == ("east", 2.5)
    assert "weighting" not in seen["spec"]["args"] and seen["spec"]["east_a"] == -1


def test_the_rank_entry_point_builds_the_weighted_trainer(tiny_model, tmp_path, monkeypatch):
    from rest import train_job
    from rest.trainer import SFT as Trainer

    built = []
    original = Trainer.build
    monkeypatch.setattr(Trainer, "build", lambda self, *a, **k: built.append(original(self, *a, **k)) or built[-1])
    args = {"max_steps": 1, "max_length": 128, "report_to": [], "save_strategy": "no"}
    spec = rank_spec(tmp_path, tiny_model, [{**EXAMPLES[0], "weight": 2.0}], weighting="east", east_a=1.0, args=args)
    train_job.main(str(spec))
    assert type(built[0]).__name__ == "WeightedSFTTrainer" and (tmp_path / "train_done.json").exists()


def test_the_loop_weights_kept_samples_when_east_is_on(tmp_path, tiny_model):
    import datasets
    from conftest import curve_loop, make_task

    task = make_task("task.sizes.pool=8", "task.sizes.test=3")
    sure = {task.prompt(p) for p in task.problems("pool")[:4]}  # both samples right: answers agree, entropy 0
    curve_loop(tmp_path, tiny_model, lambda prompt, iteration, j: j == 0 or prompt in sure, "trainer.weighting=east",
               "trainer.east_a=1.0", "algorithm.iterations=1")
    kept = datasets.load_from_disk(str(tmp_path / "iter_1" / "samples")).filter(lambda r: r["kept"])
    weights = {(r["prompt"] in sure, r["answer_entropy"], r["weight"]) for r in kept}
    # a = 1: weight = entropy, then mean 1 over the 8 kept (one per problem: the sure ones' two are duplicates)
    assert len(kept) == 8 and weights == {(True, 0.0, 0.0), (False, 1.0, 2.0)}
