"""Confidence, key and class-name coercion."""

from __future__ import annotations

import math

import pytest

from llama_vision_block.parsing import DEFAULT_CONFIDENCE, to_confidence
from llama_vision_block.parsing.confidence import not_finite, percent_scale
from llama_vision_block.parsing.coercion import (
    ClassMatcher,
    field_key,
    normalize_key,
    to_number,
    to_presence,
    unwrap_name,
)


@pytest.mark.parametrize(
    "raw, expected",
    [
        (0.9, 0.9),
        ("0.9", 0.9),
        ("90%", 0.9),
        (" 90 % ", 0.9),
        (90, 0.9),
        ("90", 0.9),
        (1, 1.0),
        (0, 0.0),
        (100, 1.0),
        (250, 1.0),
        (-0.3, 0.0),
        ("0.5%", 0.005),
        (1.5, 1.0),
        (1.02, 1.0),
        (2, 0.02),
        ("1.5%", 0.015),
    ],
)
def test_confidence(raw: object, expected: float) -> None:
    assert math.isclose(to_confidence(raw), expected)


def test_an_answer_in_percent_reads_every_value_as_percent() -> None:
    assert percent_scale([95, 1.5, 80]) and math.isclose(to_confidence(1.5, percent=True), 0.015)
    assert not percent_scale([1.5])  # a lone overshoot of 1
    assert not percent_scale([0.9, 1.2, 85])
    assert not percent_scale([float("nan"), 1.2])


@pytest.mark.parametrize("raw", [float("nan"), float("inf"), float("-inf"), "NaN", " -Infinity", "inf"])
def test_nan_and_infinity_are_not_finite(raw: object) -> None:
    assert not_finite(raw)


@pytest.mark.parametrize("raw", [0.5, "0.5", "90%", None, "high", 1e308])
def test_numbers_and_words_are_finite(raw: object) -> None:
    assert not not_finite(raw)


@pytest.mark.parametrize("raw", [None, "high", "", True, [0.9], {"v": 1}, float("nan"), "12px"])
def test_unreadable_confidence_is_the_default(raw: object) -> None:
    assert to_confidence(raw) == DEFAULT_CONFIDENCE == 1.0
    assert to_confidence(raw, default=0.25) == 0.25


@pytest.mark.parametrize("raw, expected", [(3, 3.0), ("0.5", 0.5), (" 12px", 12.0), ("1e2", 100.0)])
def test_to_number(raw: object, expected: float) -> None:
    assert to_number(raw) == expected


@pytest.mark.parametrize("raw", [None, True, "x", "50%", float("inf"), [1]])
def test_to_number_rejects(raw: object) -> None:
    assert to_number(raw) is None


def test_keys_ignore_case_spaces_dashes_and_underscores() -> None:
    assert normalize_key("Class_Name") == normalize_key("class-name") == normalize_key("className") == "classname"
    assert field_key({"Label": 1, "class": 2}, ("classname", "class", "label")) == "class"
    assert field_key({"x": 1}, ("class",)) is None


@pytest.mark.parametrize(
    "name, expected",
    [
        ("dog", ("dog", 1)),
        ("Dog", ("dog", 1)),
        ("  DOG ", ("dog", 1)),
        ("dogs", ("dog", 1)),
        ("buses", ("bus", 2)),
        ("Traffic   Light", ("traffic light", 3)),
        ("traffic_lights", ("traffic light", 3)),
        ("horse", ("horse", -1)),
        (" horse ", ("horse", -1)),
        ("'Dog'", ("dog", 1)),
        ("Dog.", ("dog", 1)),
        ('"dog"', ("dog", 1)),
        ("`Buses`!", ("bus", 2)),
        ("\u201cdog\u201d", ("dog", 1)),
        ("**traffic light**", ("traffic light", 3)),
        ("'horse'", ("'horse'", -1)),
    ],
)
def test_class_matching(name: str, expected: tuple) -> None:
    assert ClassMatcher(["cat", "dog", "bus", "traffic light"]).match(name) == expected


def test_ambiguous_plural_is_not_matched() -> None:
    matcher = ClassMatcher(["car", "cars", "bus"])
    assert matcher.match("cars") == ("cars", 1)
    assert matcher.match("care") == ("care", -1)
    ambiguous = ClassMatcher(["bu", "buses"])
    assert ambiguous.match("bus") == ("bus", -1)


@pytest.mark.parametrize(
    "name, expected",
    [("'Dog'", "Dog"), ("Dog.", "Dog"), ('"dog"', "dog"), ("**cat**!", "cat"), ("Mr. T", "Mr. T"), ("", "")],
)
def test_unwrap_name(name: str, expected: str) -> None:
    assert unwrap_name(name) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        (True, True), (False, False), ("yes", True), (" No ", False), ("TRUE", True), ("false", False),
        (None, None), (0, None), (1, None), ("0.9", None), ("maybe", None),
    ],
)
def test_to_presence(raw: object, expected: object) -> None:
    assert to_presence(raw) is expected


def test_class_punctuation_only_strips_when_the_name_is_not_a_class() -> None:
    assert ClassMatcher(["dog", "dog."]).match("dog.") == ("dog.", 1)
