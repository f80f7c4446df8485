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


@pytest.mark.parametrize(
    "reply, confidences",
    [
        ('{"cat": true, "dog": false}', {"cat": 1.0}),
        ('{"predicted_classes": {"cat": true, "dog": false}}', {"cat": 1.0}),
        ('{"predicted_classes": {"cat": true, "dog": false}, "reasoning": "whiskers"}', {"cat": 1.0}),
        ("{'cat': True, 'dog': False, 'bird': True}", {"cat": 1.0, "bird": 1.0}),
        ('{"cat": "yes", "dog": "No", "bird": "TRUE"}', {"cat": 1.0, "bird": 1.0}),
        ('{"cat": 0.9, "dog": 0, "bird": -0.5}', {"cat": 0.9}),
        ('{"cat": "0%", "dog": "80%"}', {"dog": 0.8}),
        ('[["cat", false], ["dog", true]]', {"dog": 1.0}),
        ('{"cat": false, "dog": false, "bird": false}', {}),
    ],
)
def test_multi_label_predicts_only_the_classes_marked_present(reply: str, confidences: dict) -> None:
    # Before: every class came back at confidence 1.0, those marked false included.
    parsed = parse_multi_label(reply, CLASSES)
    assert parsed.ok, parsed.error
    assert parsed.value.confidences == confidences
    assert parsed.value.class_ids == {name: CLASSES.index(name) for name in confidences}


def test_single_label_takes_the_class_marked_true() -> None:
    assert parse_single_label('{"cat": false, "dog": true, "bird": false}', CLASSES).value == SingleLabel("dog", 1.0, 1)
    assert parse_single_label('{"cat": "no", "dog": "no", "bird": "yes"}', CLASSES).value == SingleLabel("bird", 1.0, 2)


@pytest.mark.parametrize(
    "reply, expected",
    [
        ('{"class_name": "\'Dog\'", "confidence": 0.8}', SingleLabel("dog", 0.8, 1)),
        ('{"class_name": "Dog."}', SingleLabel("dog", 1.0, 1)),
        ('{"class_name": "\\"dog\\""}', SingleLabel("dog", 1.0, 1)),
        ('{"class_name": "`bird`!"}', SingleLabel("bird", 1.0, 2)),
        ('{"class_name": "\u201cCats\u201d"}', SingleLabel("cat", 1.0, 0)),
    ],
)
def test_single_label_class_names_in_quotes_or_with_punctuation(reply: str, expected: SingleLabel) -> None:
    assert parse_single_label(reply, CLASSES).value == expected


def test_multi_label_class_names_in_quotes() -> None:
    parsed = parse_multi_label('["\'cat\'", "Dog."]', CLASSES)
    assert parsed.value == MultiLabel({"cat": 1.0, "dog": 1.0}, {"cat": 0, "dog": 1})


@pytest.mark.parametrize(
    "reply, expected",
    [
        ("**Class:** Dog\n**Confidence:** 0.9", SingleLabel("dog", 0.9, 1)),
        ("**Class**: Dog\n**Confidence**: 90%", SingleLabel("dog", 0.9, 1)),
        ("- Class: Dog\n- Confidence: High", SingleLabel("dog", 1.0, 1)),
        ("* **Predicted class:** Birds\n* **Confidence:** 0.4", SingleLabel("bird", 0.4, 2)),
        ("1. Label: cat\n2. Reasoning: pointed ears", SingleLabel("cat", 1.0, 0)),
        ("Answer: Cat", SingleLabel("cat", 1.0, 0)),
        ("Dog\n\nThe image shows a dog lying on a couch.", SingleLabel("dog", 1.0, 1)),
        ("**Dog**\n\nA dog on the grass.\nClass: dog", SingleLabel("dog", 1.0, 1)),
    ],
)
def test_single_label_markdown_and_first_line_answers(reply: str, expected: SingleLabel) -> None:
    parsed = parse_single_label(reply, CLASSES)
    assert parsed.ok, parsed.error
    assert parsed.value == expected


@pytest.mark.parametrize(
    "reply, error",
    [
        ("**Class:** Horse\n**Confidence:** 0.9", "no JSON object found"),
        ("The dog is in the picture.", "no JSON object found"),
        ("**Class:** Cat\n**Class:** Dog", "the reply gives 2 different answers (cat; dog) and no correction"),
        ("Dog\n\nClass: cat", "the reply gives 2 different answers (dog; cat)"),
        ('{"cat": false, "dog": false, "bird": false}', "the reply rules out every class"),
    ],
)
def test_single_label_text_errors(reply: str, error: str) -> None:
    parsed = parse_single_label(reply, CLASSES)
    assert parsed.ok is False and parsed.value is None
    assert error in parsed.error


@pytest.mark.parametrize(
    "reply",
    [
        '{"class_name": "cat", "confidence": 0.6}\n\nor\n\n{"class_name": "dog", "confidence": 0.6}',
        '```json\n{"class_name": "cat"}\n```\n```json\n{"class_name": "dog"}\n```',
        'For example: {"class_name": "cat", "confidence": 0.9}\nFor this image: {"class_name": "dog"}',
        '{"class": "cat"}\n{"class": "dog"}',
    ],
)
def test_single_label_two_different_answers_are_an_error(reply: str) -> None:
    # Before: the first answer won, whichever it was.
    parsed = parse_single_label(reply, CLASSES)
    assert parsed.ok is False
    assert parsed.error == "the reply gives 2 different answers (cat; dog) and no correction"


@pytest.mark.parametrize(
    "reply, expected",
    [
        ('```json\n{"class_name": "dog", "confidence": 0.9}\n```\nSo: {"class_name": "dog"}', SingleLabel("dog", 0.9, 1)),
        ('{"class": "cat", "confidence": 0.2}\n{"class": "dog", "confidence": 0.7}', SingleLabel("dog", 0.7, 1)),
        ('Format: {"class_name": "<class>"}\n{"class_name": "bird"}', SingleLabel("bird", 1.0, 2)),
    ],
)
def test_single_label_one_answer_given_twice_or_scored_is_not_ambiguous(reply: str, expected: SingleLabel) -> None:
    assert parse_single_label(reply, CLASSES).value == expected


@pytest.mark.parametrize(
    "reply, expected",
    [
        ('{"class_name": "cat", "confidence": 0.7}\nWait, corrected answer: {"class_name": "dog", "confidence": 0.8}', SingleLabel("dog", 0.8, 1)),
        ('{"class_name": "bird"}\n\nActually, the correct answer is cat.', SingleLabel("cat", 1.0, 0)),
        ('{"class_name": "bird"}\nCorrection:\n```json\n{"class_name": "dog"}\n```', SingleLabel("dog", 1.0, 1)),
        ("**Class:** Cat\n\nOn second thought:\n**Class:** Dog\n**Confidence:** 0.8", SingleLabel("dog", 0.8, 1)),
    ],
)
def test_single_label_takes_the_corrected_answer(reply: str, expected: SingleLabel) -> None:
    parsed = parse_single_label(reply, CLASSES)
    assert parsed.ok, parsed.error
    assert parsed.value == expected


def test_multi_label_takes_the_corrected_answer() -> None:
    reply = '["cat"]\nCorrection: there is a dog too.\n["cat", "dog"]'
    assert parse_multi_label(reply, CLASSES).value == MultiLabel({"cat": 1.0, "dog": 1.0}, {"cat": 0, "dog": 1})


@pytest.mark.parametrize("parse", [parse_single_label, parse_multi_label])
def test_a_list_of_boxes_is_not_a_classification_answer(parse) -> None:
    reply = '```json\n[{"class": "dog", "box": [0.1, 0.2, 0.5, 0.9], "confidence": 0.9}]\n```'
    parsed = parse(reply, CLASSES)
    assert parsed.value is None
    assert parsed.error == "the reply is a list of boxes, not a classification answer"


def test_multi_label_nan_leaves_its_class_out_and_flags_the_answer() -> None:
    parsed = parse_multi_label('{"predicted_classes": [{"class": "cat", "confidence": NaN}, {"class": "dog", "confidence": 0.6}]}', CLASSES)
    assert parsed.value.confidences == {"dog": 0.6}
    assert parsed.warning == "the confidence of 'cat' (nan) is not a finite number; the other classes are kept"


@pytest.mark.parametrize(
    "reply, confidence",
    [('{"class_name": "dog", "confidence": 1.5}', 1.0), ('{"class_name": "dog", "confidence": 1.02}', 1.0),
     ('{"class_name": "dog", "confidence": 85}', 0.85), ('{"class_name": "dog", "confidence": "85%"}', 0.85)],
)
def test_single_label_confidence_slightly_above_1_is_capped_and_percent_is_percent(reply, confidence) -> None:
    assert parse_single_label(reply, CLASSES).value.confidence == pytest.approx(confidence)


def test_two_different_multi_label_answers_are_an_error() -> None:
    reply = 'If outdoors: {"predicted_classes": [{"class": "bird", "confidence": 0.8}]}\nIf indoors: {"predicted_classes": [{"class": "cat", "confidence": 0.7}]}'
    parsed = parse_multi_label(reply, CLASSES)
    assert parsed.error == "the reply gives 2 different answers ([bird]; [cat]) and no correction"
