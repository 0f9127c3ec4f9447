"""A group that only the loop reads, chosen on the command line for another mode, is one line before any work (it
was silently unused: `mode=generate filter=correct_top_k` wrote every sample); a preset's choice is left alone."""

import pytest

from rest.config import CONFIG_DIR
from rest.config_check import config_error


@pytest.mark.parametrize("mode", ["generate", "score", "rm_eval", "merge"])
@pytest.mark.parametrize("choice", ["filter=correct_top_k", "budget=adaptive", "logger=tensorboard", "algorithm=rest",
                                    "trainer=sft", "filter.cap=2", "trainer.learning_rate=1e-4", "+budget.target=0.5"])
def test_a_loop_only_group_chosen_for_another_mode_is_one_line_naming_it(mode, choice):
    problem = config_error(CONFIG_DIR, [f"mode={mode}", choice])
    assert problem is not None and problem.startswith(f"{choice}: mode={mode} does not read it (") and "\n" not in problem


def test_the_line_says_where_the_modes_own_setting_is():
    problem = config_error(CONFIG_DIR, ["mode=generate", "budget=adaptive"])
    assert problem.endswith("; mode=generate draws sampler.grow.n of each, mode=rm_eval mode.n"), problem


@pytest.mark.parametrize("overrides", [
    ["budget=adaptive", "logger=tensorboard", "algorithm=rest"],  # the loop reads them all
    ["mode=generate", "experiment=verifier_free"],  # the preset chooses filter=top_k for the loop
    ["mode=generate", "scorer=endogenous", "task=code"],  # groups that generate reads
])
def test_the_loops_groups_for_the_loop_a_presets_choice_and_a_modes_own_groups_pass(overrides):
    assert config_error(CONFIG_DIR, overrides) is None


@pytest.mark.parametrize("overrides, counts", [
    (["experiment=smoke", "algorithm=rest", "algorithm.iterations=2"], "ReST counts algorithm.grow_steps"),
    (["algorithm=rest", "+algorithm.iterations=2"], "ReST counts algorithm.grow_steps"),
    (["+algorithm.grow_steps=2"], "ReST-EM counts algorithm.iterations"),
    (["+algorithm.thresholds=[0.5]"], "ReST-EM counts algorithm.iterations"),
])
def test_a_step_count_of_the_other_algorithm_is_one_line_naming_the_one_this_algorithm_reads(overrides, counts):
    """experiment=smoke algorithm=rest algorithm.iterations=2 ran one Grow step: the smoke preset's iterations key
    let the override through, and ReST never read it."""
    problem = config_error(CONFIG_DIR, overrides)
    assert problem is not None and problem.startswith(f"{overrides[-1]}: algorithm=") and counts in problem, problem


@pytest.mark.parametrize("overrides", [
    ["experiment=smoke", "algorithm=rest"],  # the preset's iterations: left alone
    ["algorithm=rest", "algorithm.grow_steps=2", "algorithm.thresholds=[0.5]"],
    ["algorithm.iterations=2"],
])
def test_each_algorithms_own_step_counts_and_a_presets_pass(overrides):
    assert config_error(CONFIG_DIR, overrides) is None


@pytest.mark.parametrize("overrides, mode, key", [
    (["experiment=smoke", "mode=generate", "mode.eval.k=3"], "generate", "eval"),  # smoke's mode.eval let it in
    (["mode=rm_eval", "+mode.eval.k=3"], "rm_eval", "eval"),
    (["mode=score", "+mode.pairs=true"], "score", "pairs"),
])
def test_a_mode_setting_that_the_chosen_mode_does_not_take_is_one_line_naming_its_settings(overrides, mode, key):
    """It was left out of the mode, with an INFO line only: the run went on without it."""
    problem = config_error(CONFIG_DIR, overrides)
    assert problem is not None and problem.startswith(f"{overrides[-1]}: mode={mode} does not read mode.{key}; its "
                                                      "settings: "), problem


@pytest.mark.parametrize("overrides", [
    ["experiment=smoke", "mode=generate", "mode.pairs=true"],  # a setting generate takes
    ["mode=rm_eval", "+scorer@mode.scorers.prm=implicit_prm", "mode.scorers.prm.update=false"],
    ["mode.eval.k=3", "mode.pairs=true"],  # the loop's own
])
def test_the_modes_own_settings_pass(overrides):
    assert config_error(CONFIG_DIR, overrides) is None


@pytest.mark.parametrize("overrides", [
    ["mode=score", "scorer=implicit_prm", "scorers.implicit_prm.update=true"],
    ["mode=generate", "scorer=[exact_answer,generative_verifier]", "scorers.generative_verifier.update=true"],
    ["mode=rm_eval", "+scorer@mode.scorers.prm=implicit_prm", "mode.scorers.prm.update=true"],
])
def test_a_scorers_update_asked_of_a_mode_that_never_updates_is_one_line(overrides):
    """The scorer was built and scored, never trained: the run gave no sign of it."""
    problem = config_error(CONFIG_DIR, overrides)
    assert problem is not None and problem.startswith(f"{overrides[-1]}: mode=") and "never updates" in problem


def test_a_scorers_update_in_the_loop_or_turned_off_elsewhere_passes():
    assert config_error(CONFIG_DIR, ["scorer=implicit_prm", "scorers.implicit_prm.update=true"]) is None
    assert config_error(CONFIG_DIR, ["mode=score", "scorer=implicit_prm", "scorers.implicit_prm.update=false"]) is None


@pytest.mark.parametrize("overrides", [
    ["mode=score", "sampler.grow.temperature=0.7"],
    ["mode=score", "sampler=ray"],
    ["mode=merge", "mode.shards=[a,b]", "scorer=endogenous"],
    ["mode=merge", "+scorer@scorers.prm=implicit_prm"],
    ["mode=merge", "sampler.engine.seed=3"],
])
def test_a_group_that_score_or_merge_never_reads_is_one_line_saying_what_the_mode_does(overrides):
    """mode=score samples nothing and mode=merge neither samples nor scores: the setting changed nothing."""
    problem = config_error(CONFIG_DIR, overrides)
    assert problem is not None and problem.startswith(f"{overrides[-1]}: mode=") and "does not read it; it " in problem


@pytest.mark.parametrize("overrides", [
    ["mode=score", "scorer=endogenous", "model=smollm2"],  # the scorer and the model that score the rows
    ["mode=generate", "sampler.grow.n=2", "scorer=endogenous"],
])
def test_the_groups_score_and_generate_read_pass(overrides):
    assert config_error(CONFIG_DIR, overrides) is None
