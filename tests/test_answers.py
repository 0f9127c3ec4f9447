from functools import partial

import pytest
from conftest import judge_settings

from rest.evaluate import majority_answer
from rest.verifier.answers import extract_answer
from rest.verifier.equivalence import ParseError
from rest.verifier.equivalence import equivalent as equivalent_with

equivalent = partial(equivalent_with, **judge_settings())


@pytest.mark.parametrize("text, expected", [
    ("3 + 4 = 7\n#### 7", "7"),
    ("#### 1\nmore\n#### -12", "-12"),
    ("so the result is \\boxed{\\frac{1}{2}}.", "\\frac{1}{2}"),
    ("\\boxed{1} then \\boxed{{2}+1}", "{2}+1"),
    ("Therefore, the answer is 42.", "42"),
    ("#### 5 but \\boxed{6}", "6"),
])
def test_extracts_the_final_answer(text, expected):
    assert extract_answer(text) == expected


def test_no_answer_is_none_unless_the_last_number_fallback_is_on():
    assert extract_answer("I think 3 and then 4", fallback=None) is None
    assert extract_answer("I think 3 and then 4", fallback="last_number") == "4"
    assert extract_answer("no digits at all") is None


@pytest.mark.parametrize("predicted, reference", [
    ("42", "42"), (" 42 ", "42"), ("42.0", "42"), ("1,000", "1000"), ("-7", "-7"),
    ("0.5", "1/2"), ("\\frac{1}{2}", "0.5"), ("$12$", "12"), ("x + 1", "1 + x"), ("2*x", "x*2"),
])
def test_equivalent_answers_match(predicted, reference):
    assert equivalent(predicted, reference)


@pytest.mark.parametrize("predicted, reference", [
    ("41", "42"), ("0.5", "50"), ("5000", "50"), ("-7", "7"), ("x + 2", "x + 1"), ("1e-20", "1e-21"),
])
def test_different_answers_do_not_match(predicted, reference):
    assert not equivalent(predicted, reference)


@pytest.mark.parametrize("predicted", ["((", "", "\\frac{1}{"])
def test_an_unparseable_answer_is_a_parse_error_not_a_verdict(predicted):
    with pytest.raises(ParseError):
        equivalent(predicted, "1")


def test_majority_vote_ignores_missing_answers_and_normalises():
    assert majority_answer([None, "7", " 7", "8", None, None]) == "7"
    assert majority_answer([None, None]) is None


def test_majority_vote_counts_one_number_written_in_several_ways_as_one_answer():
    assert majority_answer(["7", "0.5", "\\frac{1}{2}"]) == "0.5"  # 1/2 twice; 7 once
    assert majority_answer(["999", "1000", "1,000.0", "$1000$"]) == "1000"
    assert majority_answer(["x+1", "1+x", "y"]) == "x+1"  # expressions vote by their text: a tie, the earliest wins


def test_a_closed_box_is_found_behind_many_unclosed_ones():
    text = "first \\boxed{7} then a degenerate loop " + "\\boxed{" * 5000 + "and no closing brace"
    assert extract_answer(text) == "7"
