"""Huge and deeply nested replies return or fail cleanly (no recursion, no blow-up)."""

from __future__ import annotations

import json

import pytest

from llama_vision_block.parsing import (
    ReplyParseError,
    extract_json,
    parse_detections,
    parse_multi_label,
    parse_single_label,
    parse_structured,
)

DEPTH = 10_000


def parse_everything(text: str) -> list:
    return [
        parse_structured(text, {"a": "x"}),
        parse_single_label(text, ["cat"]),
        parse_multi_label(text, ["cat"]),
        parse_detections(text, ["cat"], (10, 10)),
    ]


@pytest.mark.parametrize(
    "reply",
    [
        "[" * DEPTH,
        "[" * DEPTH + "]" * DEPTH,
        '{"a": ' * DEPTH + "1" + "}" * DEPTH,
        "```json\n" + "{" * DEPTH + "\n```",
        "([{" * DEPTH,
    ],
    ids=["open-brackets", "balanced-brackets", "nested-objects", "fenced-braces", "mixed"],
)
def test_deep_nesting_fails_cleanly(reply: str) -> None:
    try:
        extract_json(reply)
    except ReplyParseError as error:
        assert "\n" not in str(error)
    for parsed in parse_everything(reply):
        assert parsed.value is None or parsed.ok


@pytest.mark.parametrize(
    "reply",
    [
        "[" * DEPTH + '\n```json\n{"class_name": "cat", "confidence": 0.5}\n```',
        '```json\n{"class_name": "cat", "confidence": 0.5}\n```\n' + "[" * DEPTH,
        '{"class_name": "cat", "confidence": 0.5}\n```\n' + "{" * DEPTH + "\n```",
    ],
)
def test_deep_nesting_does_not_hide_other_json(reply: str) -> None:
    parsed = parse_single_label(reply, ["cat"])
    assert parsed.ok and parsed.value.class_name == "cat"


def test_moderate_nesting_is_read() -> None:
    assert extract_json("[" * 300 + "]" * 300) is not None


def test_megabyte_of_detections() -> None:
    entry = {"class": "cat", "box": [0.1, 0.1, 0.5, 0.5], "confidence": 0.9}
    count = 1_000_000 // len(json.dumps(entry))
    reply = "Here you go:\n```json\n" + json.dumps({"detections": [entry] * count}) + "\n```"
    assert len(reply) >= 1_000_000
    parsed = parse_detections(reply, ["cat"], (100, 100))
    assert parsed.ok and len(parsed.value) == count


@pytest.mark.parametrize(
    "reply",
    [
        "x" * 1_000_000,
        "{" + "a" * 1_000_000,
        '{"a": "' + "b" * 1_000_000,
        "[1, " * 250_000,
        "```\n" * 250_000,
        "'" * 1_000_000,
        '{"a": "\\' * 125_000,
        "I'm sorry " * 100_000,
        "{}" * 500_000,
        "Class: cat" + " " * 1_000_000 + "x",
        "{}. Wait, " * 100_000,
        '{"a": "x. Wait, ' + "Wait, " * 150_000 + '"}' + '\n{"b": "Wait, wait"}' * 900,
    ],
    ids=[
        "prose", "bare-word", "open-string", "open-array", "fences", "quotes", "escapes", "refusals",
        "empties", "field-spaces", "corrections", "corrections-in-json",
    ],
)
def test_megabyte_replies_return(reply: str) -> None:
    try:
        extract_json(reply)
    except ReplyParseError:
        pass
    for parsed in parse_everything(reply):
        assert parsed.value is None or parsed.ok
