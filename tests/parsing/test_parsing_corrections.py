"""Replies that correct themselves: the corrected answer counts, or the reply is an error."""

from __future__ import annotations

import pytest

from llama_vision_block.parsing import SingleLabel, parse_single_label, parse_structured

CLASSES = ["cat", "dog", "bird"]
STRUCTURE = {"count": "how many"}


@pytest.mark.parametrize(
    "reply",
    [
        '{"count": 3}\nWait, I miscounted: {"count": 4}',
        '{"count": 3}\n\nwait - {"count": 4}',
        '{"count": 3}. Actually, {"count": 4}',
        '{"count": 3}\n**Correction:** {"count": 4}',
        '{"count": 3}\nHere is the corrected JSON: {"count": 4}',
        '{"count": 3}\nOn second thought, {"count": 4}',
        '{"count": 3}\nUpon closer inspection, {"count": 4}',
        '{"count": 3}\nI made a mistake. {"count": 4}',
        '{"count": 3}\nLet me correct that: {"count": 4}',
        '{"count": 3}\nThe correct answer is {"count": 4}',
        '{"count": 3}\n**Final answer:** {"count": 4}',
        '{"count": 2}\nWait, {"count": 3}\nOops, {"count": 4}',
    ],
)
def test_the_answer_after_the_last_correction_counts(reply: str) -> None:
    assert parse_structured(reply, STRUCTURE).value == {"count": 4}


@pytest.mark.parametrize(
    "reply",
    [
        '{"note": "Three. Wait, one is hidden. Correction: none.", "count": 3}',
        '{"count": 3}\n\nI hope this is the correct answer.',
        'Wait, let me count.\n{"count": 3}',
    ],
)
def test_what_is_not_a_correction_changes_nothing(reply: str) -> None:
    assert parse_structured(reply, STRUCTURE).value["count"] == 3


@pytest.mark.parametrize(
    "reply",
    [
        'People wait at the stop.\n{"count": 3}\nThey wait for the bus, {"count": 4} in all later.',
        '{"count": 3}\nThe image is actually quite dark. {"count": 4}',
    ],
)
def test_two_answers_without_a_correction_are_an_error_that_quotes_both(reply: str) -> None:
    # Before: the first answer won, silently.
    parsed = parse_structured(reply, STRUCTURE)
    assert parsed.value is None
    assert parsed.error == 'the reply gives 2 different answers ({"count": 3}; {"count": 4}) and no correction'


def test_a_correction_that_cannot_be_read_is_an_error_not_the_first_answer() -> None:
    # Before: the retracted first answer came back as the result.
    parsed = parse_single_label('{"class_name": "cat"}\n\nWait, this might be something else.', CLASSES)
    assert parsed.ok is False and parsed.value is None
    assert parsed.error == (
        'the reply corrects itself ("Wait") but no corrected answer could be read after it: '
        "no JSON object found in the reply"
    )


def test_a_correction_of_an_unreadable_reply_reports_the_reply() -> None:
    parsed = parse_single_label("I'm sorry, I can't tell. Actually, no.", CLASSES)
    assert parsed.error.startswith("the model refused")


def test_a_correction_before_the_only_answer_is_harmless() -> None:
    parsed = parse_single_label('Wait, let me look again.\n{"class_name": "bird", "confidence": 0.9}', CLASSES)
    assert parsed.value == SingleLabel("bird", 0.9, 2)
