"""Property-based checks: nothing raises, and clean JSON round-trips in any wrapping."""

from __future__ import annotations

import json
from typing import Any, Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llama_vision_block.parsing import (
    Parsed,
    ReplyParseError,
    detect_refusal,
    extract_json,
    parse_detections,
    parse_multi_label,
    parse_single_label,
    parse_structured,
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=15,
)
JSON_OBJECTS = st.dictionaries(st.text(max_size=10), JSON_VALUES, max_size=5)

WRAPPERS: list[Callable[[str], str]] = [
    lambda body: f"```json\n{body}\n```",
    lambda body: f"```\n{body}\n```",
    lambda body: f"Here is the JSON you asked for:\n{body}\nLet me know if you need anything else.",
    lambda body: body,
]

# Characters that steer the tokenizer, so random text exercises its branches.
JSONISH = st.text(alphabet=list('{}[]:,"\'`\u201c\u201d\u2018\u2019/*#\\\n abc019.-+eE%tTfFnN'), max_size=80)
REPLIES = st.one_of(st.text(max_size=80), JSONISH)
CLASSES = ["cat", "dog"]


def parse_all(text: str) -> None:
    for parsed in (
        parse_structured(text, {"a": "x", "b": "y"}),
        parse_single_label(text, CLASSES),
        parse_multi_label(text, CLASSES),
        parse_detections(text, CLASSES, (64, 48)),
    ):
        assert isinstance(parsed, Parsed)
        assert parsed.ok == (parsed.value is not None and parsed.error == "")
        assert "\n" not in parsed.error
    detect_refusal(text)
    try:
        extract_json(text)
    except ReplyParseError:
        pass


@SETTINGS
@given(REPLIES)
def test_parsers_never_raise(text: str) -> None:
    parse_all(text)


@SETTINGS
@given(JSON_OBJECTS, JSONISH)
def test_parsers_never_raise_on_json_with_noise(value: dict, noise: str) -> None:
    body = json.dumps(value)
    cut = len(body) // 2
    parse_all(body[:cut] + noise + body[cut:])
    parse_all(body[:cut])


@settings(max_examples=40, deadline=None)
@given(JSON_OBJECTS, st.sampled_from(WRAPPERS), st.sampled_from([None, 2]), st.booleans())
def test_json_objects_round_trip(value: dict, wrap: Callable[[str], str], indent: Any, ascii_only: bool) -> None:
    reply = wrap(json.dumps(value, indent=indent, ensure_ascii=ascii_only))
    assert extract_json(reply) == value


@settings(max_examples=20, deadline=None)
@given(JSON_OBJECTS)
def test_structured_round_trip(value: dict) -> None:
    parsed = parse_structured(f"```json\n{json.dumps(value, indent=2)}\n```", {})
    assert parsed.ok and parsed.value == value
