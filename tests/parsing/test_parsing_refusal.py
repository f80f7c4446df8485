"""detect_refusal: the refusal sentence, or None."""

from __future__ import annotations

import pytest

from llama_vision_block.parsing import detect_refusal, parse_single_label, parse_structured


@pytest.mark.parametrize(
    "reply, sentence",
    [
        ("I'm sorry, I can't help with that.", "I'm sorry, I can't help with that."),
        ("I\u2019m sorry, but I cannot identify people.", "I'm sorry, but I cannot identify people."),
        ("Looking at it. I apologize, but that is not possible. Bye", "I apologize, but that is not possible."),
        ("As an AI, I do not judge appearances", "As an AI, I do not judge appearances"),
        ("Unfortunately, I cannot determine the class.", "Unfortunately, I cannot determine the class."),
        ("I am unable to read the label.\nAnything else?", "I am unable to read the label."),
    ],
)
def test_refusals_are_found(reply: str, sentence: str) -> None:
    assert detect_refusal(reply) == sentence


@pytest.mark.parametrize("reply", ['{"class_name": "cat"}', "A cat on a sofa.", "", "Cannot be sure it is a dog"])
def test_non_refusals(reply: str) -> None:
    assert detect_refusal(reply) is None


def test_json_wins_over_refusal_phrasing() -> None:
    parsed = parse_single_label("I'm not sure, but: {\"class_name\": \"cat\"}", ["cat"])
    assert parsed.ok and parsed.value.class_name == "cat"


def test_refusal_becomes_error() -> None:
    parsed = parse_structured("I'm sorry, I can't help with that.", {"a": "x"})
    assert not parsed.ok
    assert parsed.value is None
    assert parsed.error == "the model refused: I'm sorry, I can't help with that."


def test_long_refusal_is_one_short_line() -> None:
    sentence = detect_refusal("I cannot " + "really " * 200 + "do it.\nNext line")
    assert sentence is not None and "\n" not in sentence and len(sentence) <= 300
