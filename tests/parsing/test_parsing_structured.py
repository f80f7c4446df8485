"""parse_structured: the user's output_structure keys, filled from the reply."""

from __future__ import annotations

from llama_vision_block.parsing import Parsed, parse_structured

STRUCTURE = {"count": "how many", "main_color": "dominant color"}


def test_clean_object() -> None:
    parsed = parse_structured('{"count": 2, "main_color": "red"}', STRUCTURE)
    assert parsed == Parsed({"count": 2, "main_color": "red"})
    assert parsed.ok and parsed.error == ""


def test_missing_keys_are_none_and_extra_keys_kept() -> None:
    parsed = parse_structured('{"count": 2, "note": "blurry"}', STRUCTURE)
    assert parsed.value == {"count": 2, "main_color": None, "note": "blurry"}


def test_keys_match_loosely_and_take_the_given_spelling() -> None:
    parsed = parse_structured('{"COUNT": 2, "Main Color": "red"}', STRUCTURE)
    assert parsed.value == {"count": 2, "main_color": "red"}
    parsed = parse_structured('{"mainColor": "red", "main-color": "blue"}', STRUCTURE)
    assert parsed.value["main_color"] == "red"
    assert parsed.value["main-color"] == "blue"


def test_list_of_one_object() -> None:
    assert parse_structured('[{"count": 1, "main_color": "red"}]', STRUCTURE).value == {"count": 1, "main_color": "red"}


def test_a_list_of_several_different_objects_is_an_error_not_the_best_guess() -> None:
    reply = '[{"note": 1}, {"count": 4, "main_color": "red"}, {"count": 5, "main_color": "blue"}]'
    parsed = parse_structured(reply, STRUCTURE)
    assert parsed.value is None
    assert parsed.error == (
        'the reply gives 2 different answers ({"count": 4, "main_color": "red"}; '
        '{"count": 5, "main_color": "blue"}) and no correction'
    )


def test_a_list_holding_one_answer_gives_it() -> None:
    reply = '[{"note": 1}, {"count": 4, "main_color": "red"}, {"count": 4, "main_color": "red"}]'
    assert parse_structured(reply, STRUCTURE).value == {"count": 4, "main_color": "red"}


def test_wrapped_object_is_unwrapped() -> None:
    assert parse_structured('{"answer": {"count": 1}}', STRUCTURE).value == {"count": 1, "main_color": None}


def test_prefers_block_with_expected_keys() -> None:
    reply = '```json\n{"image": "a.jpg"}\n```\n```json\n{"count": 9, "main_color": "tan"}\n```'
    assert parse_structured(reply, STRUCTURE).value == {"count": 9, "main_color": "tan"}


def test_an_object_with_none_of_the_requested_keys_is_an_error_not_a_row_of_nulls() -> None:
    reply = '```json\n[1, 2]\n```\n```json\n{"image": "a.jpg"}\n```'
    parsed = parse_structured(reply, STRUCTURE)
    assert parsed.value is None
    assert parsed.error == "the JSON answer has none of the requested keys (count, main_color); its keys are image"


def test_empty_structure_keeps_the_object() -> None:
    assert parse_structured('{"a": {"b": 1}}', {}).value == {"a": {"b": 1}}


def test_truncated_string_is_closed() -> None:
    assert parse_structured('{"count": 2, "main_color": "re', STRUCTURE).value == {"count": 2, "main_color": "re"}


def test_errors() -> None:
    assert parse_structured("nothing here", STRUCTURE).error == "no JSON object found in the reply"
    assert "expected a JSON object" in parse_structured("[1, 2]", STRUCTURE).error
    assert "str" in parse_structured(None, STRUCTURE).error  # type: ignore[arg-type]
    refused = parse_structured("I cannot help with that request.", STRUCTURE)
    assert refused.value is None and refused.error.startswith("the model refused: ")


def test_a_corrected_reply_gives_the_corrected_object() -> None:
    reply = '{"count": 3, "main_color": "red"}\n\nWait, I miscounted. Corrected answer:\n{"count": 4, "main_color": "red"}'
    assert parse_structured(reply, STRUCTURE).value == {"count": 4, "main_color": "red"}


def test_a_correction_without_a_new_object_is_an_error() -> None:
    parsed = parse_structured('{"count": 3, "main_color": "red"}\nWait, I need to recount.', STRUCTURE)
    assert parsed.ok is False
    assert "no corrected answer could be read" in parsed.error


def test_two_long_answers_that_differ_only_past_the_quote_are_still_two_answers() -> None:
    # The message quotes each answer cut to a line; telling them apart reads them whole.
    first = '{"count": 1, "main_color": "' + "x" * 100 + 'a"}'
    second = '{"count": 1, "main_color": "' + "x" * 100 + 'b"}'
    parsed = parse_structured(f"{first}\nor\n{second}", STRUCTURE)
    assert parsed.value is None
    assert parsed.error.startswith("the reply gives 2 different answers (") and "\u2026" in parsed.error
