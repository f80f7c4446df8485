"""parse_single_label and parse_multi_label."""

from __future__ import annotations

import pytest

from llama_vision_block.parsing import MultiLabel, SingleLabel, parse_multi_label, parse_single_label

CLASSES = ["cat", "dog", "bird"]


@pytest.mark.parametrize(
    "reply, expected",
    [
        ('{"class_name": "dog", "confidence": 0.8}', SingleLabel("dog", 0.8, 1)),
        ('{"class": "Dogs", "confidence": "80%"}', SingleLabel("dog", 0.8, 1)),
        ('{"label": "cat"}', SingleLabel("cat", 1.0, 0)),
        ('{"category": "bird", "score": 70}', SingleLabel("bird", 0.7, 2)),
        ('{"name": "horse", "confidence": 0.4}', SingleLabel("horse", 0.4, -1)),
        ('{"className": ["cat"], "confidence": 0.5}', SingleLabel("cat", 0.5, 0)),
        ('[{"class": "cat", "confidence": 0.2}, {"class": "dog", "confidence": 0.7}]', SingleLabel("dog", 0.7, 1)),
        ('{"predicted_classes": [{"class": "bird", "confidence": 0.9}]}', SingleLabel("bird", 0.9, 2)),
        ('{"cat": 0.1, "dog": 0.85, "bird": 0.05}', SingleLabel("dog", 0.85, 1)),
        ('{"answer": "cat"}', SingleLabel("cat", 1.0, 0)),
        ("Dog.", SingleLabel("dog", 1.0, 1)),
        ('{"class": "bird", "confidence": 0.6, "classes": ["cat", "dog", "bird"]}', SingleLabel("bird", 0.6, 2)),
        ('{"class_name": "cat", "confidence": 0.9', SingleLabel("cat", 0.9, 0)),
    ],
)
def test_single_label(reply: str, expected: SingleLabel) -> None:
    parsed = parse_single_label(reply, CLASSES)
    assert parsed.ok, parsed.error
    assert parsed.value == expected


def test_single_label_prefers_a_known_class() -> None:
    reply = 'Format: {"class_name": "<class>"}\n{"class_name": "bird", "confidence": 0.6}'
    assert parse_single_label(reply, CLASSES).value == SingleLabel("bird", 0.6, 2)


@pytest.mark.parametrize(
    "reply, error",
    [
        ('{"class_name": "golden retr', "cut off"),
        ('["cat", "dog"]', "none the most confident"),
        ('{"description": "fluffy"}', "no class name"),
        ("I'm sorry, I can't classify this.", "the model refused"),
        ("", "no JSON object found"),
        ('{"class_name": ""}', "no class name"),
    ],
)
def test_single_label_errors(reply: str, error: str) -> None:
    parsed = parse_single_label(reply, CLASSES)
    assert not parsed.ok and parsed.value is None
    assert error in parsed.error


@pytest.mark.parametrize(
    "reply, confidences, class_ids",
    [
        (
            '{"predicted_classes": [{"class": "cat", "confidence": 0.9}, {"class": "dog", "confidence": 0.4}]}',
            {"cat": 0.9, "dog": 0.4},
            {"cat": 0, "dog": 1},
        ),
        ('{"predicted_classes": []}', {}, {}),
        ('["cat", "Birds"]', {"cat": 1.0, "bird": 1.0}, {"cat": 0, "bird": 2}),
        ('{"labels": [["cat", 0.3], ["dog", "60%"]]}', {"cat": 0.3, "dog": 0.6}, {"cat": 0, "dog": 1}),
        (
            '{"classes": [{"label": "cat", "score": 0.3}, {"label": "CAT", "score": 0.8}, {"label": "cat", "score": 0.5}]}',
            {"cat": 0.8},
            {"cat": 0},
        ),
        ('{"class_name": "dog", "confidence": 0.7}', {"dog": 0.7}, {"dog": 1}),
        ('{"cat": 0.6, "bird": 0.3}', {"cat": 0.6, "bird": 0.3}, {"cat": 0, "bird": 2}),
        ('[{"class": "zebra", "confidence": 0.5}]', {"zebra": 0.5}, {"zebra": -1}),
        ('{"predicted_classes": [{"class": "cat", "confidence": 0.9}, {"class": "do', {"cat": 0.9}, {"cat": 0}),
        ('["cat", "do', {"cat": 1.0}, {"cat": 0}),
        ('{"x": 1}\n{"predicted_classes": ["dog"]}', {"dog": 1.0}, {"dog": 1}),
    ],
)
def test_multi_label(reply: str, confidences: dict, class_ids: dict) -> None:
    parsed = parse_multi_label(reply, CLASSES)
    assert parsed.ok, parsed.error
    assert parsed.value == MultiLabel(confidences, class_ids)


@pytest.mark.parametrize(
    "reply, error",
    [
        ('{"predicted_classes": [{"class": "ca', "cut off"),
        ('{"predicted_classes": [{"confidence": 0.3}]}', "no class name"),
        ('{"foo": "bar", "baz": 1}', "no list of predicted classes"),
        ("As an AI, I can't do that.", "the model refused"),
    ],
)
def test_multi_label_errors(reply: str, error: str) -> None:
    parsed = parse_multi_label(reply, CLASSES)
    assert not parsed.ok and parsed.value is None
    assert error in parsed.error
