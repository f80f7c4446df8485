"""Each task's JSON schema, and the bound that keeps its answers within max_tokens."""

import json

import pytest
from hypothesis import given, settings, strategies as st

from llama_vision_block import schemas
from llama_vision_block.errors import ConfigurationError
import re

from llama_vision_block.schemas import ResponseSchema, SchemaTooLarge, response_schema, worst_case_tokens
from llama_vision_block.task_inputs import TaskInputs
from llama_vision_block.tasks import TASKS

CLASSES = ["cat", "dog", "traffic light"]
STRUCTURE = {"count": "how many", "colour": "main colour"}
BUILDERS = {task: spec.json_schema for task, spec in TASKS.items() if spec.json_schema}
INPUTS = TaskInputs(classes=CLASSES, output_structure=STRUCTURE)


def _xgrammar_accepts(schema, text):
    xgr = pytest.importorskip("xgrammar")
    from xgrammar.testing import _is_grammar_accept_string

    grammar = xgr.Grammar.from_json_schema(json.dumps(schema), any_whitespace=False)
    return _is_grammar_accept_string(grammar, text)


def test_the_tasks_that_answer_in_json_have_a_schema():
    assert set(BUILDERS) == {"classification", "multi-label-classification", "structured-answering", "object-detection"}


@settings(max_examples=60, deadline=None)
@given(
    task=st.sampled_from(sorted(BUILDERS)),
    max_tokens=st.integers(min_value=120, max_value=8192),
    classes=st.lists(st.text(min_size=1, max_size=30).filter(str.strip), min_size=1, max_size=40, unique=True),
)
def test_every_schema_leaves_room_for_its_longest_answer_and_the_end_of_turn(task, max_tokens, classes):
    structure = {f"field_{i}": "a value" for i in range(len(classes) % 6 + 1)}
    try:
        schema = BUILDERS[task](TaskInputs(classes=classes, output_structure=structure), max_tokens)
    except SchemaTooLarge:
        return  # long class names at a small max_tokens: said, not squeezed
    assert worst_case_tokens(schema) <= max_tokens - 1


def llama_tokens_at_most(text: str) -> int:
    """Tokens Llama 3 / 4 spend on `text` at most: a token per byte, but a run of
    digits in pieces of at most 3 (their pre-tokenizer's \\p{N}{1,3}), each one token."""
    digits = re.findall(r"\d+", text)
    return len(text.encode()) - sum(map(len, digits)) + sum(-(-len(run) // 3) for run in digits)


def test_the_bound_is_the_cost_of_the_longest_answer_the_grammar_accepts():
    schema = schemas.classification(TaskInputs(classes=CLASSES), 500)
    longest = '{"class_name": "traffic light", "confidence": 0.000001}'
    assert _xgrammar_accepts(schema, longest)
    assert llama_tokens_at_most(longest) == worst_case_tokens(schema) == len(longest.encode()) - 4
    assert not _xgrammar_accepts(schema, '{"class_name": "traffic light", "confidence": 0.0000001}')
    assert not _xgrammar_accepts(schema, '{"class_name": "bird", "confidence": 0.5}')


def test_a_bounded_text_admits_no_escapes_or_control_characters_and_no_more_characters():
    schema = schemas.structured_answering(TaskInputs(output_structure={"a": "x"}), 40)
    length = schemas.length_limits(schema)["a"]
    assert _xgrammar_accepts(schema, json.dumps({"a": "é" * length}, ensure_ascii=False))
    assert not _xgrammar_accepts(schema, json.dumps({"a": "é" * (length + 1)}, ensure_ascii=False))
    assert not _xgrammar_accepts(schema, '{"a": "\\u0041"}')
    assert not _xgrammar_accepts(schema, '{"a": "a\x0bb"}')
    assert worst_case_tokens(schema) >= len(json.dumps({"a": "é" * length}, ensure_ascii=False).encode())


def test_lists_hold_as_many_items_as_fit_and_never_more_than_the_classes():
    small = schemas.multi_label_classification(TaskInputs(classes=CLASSES), 120)["properties"]["predicted_classes"]
    large = schemas.multi_label_classification(TaskInputs(classes=CLASSES), 4000)["properties"]["predicted_classes"]
    assert 1 <= small["maxItems"] < len(CLASSES)
    assert large["maxItems"] == len(CLASSES)
    boxes = schemas.object_detection(TaskInputs(classes=CLASSES), 500)["properties"]["detections"]
    assert boxes["maxItems"] >= 3
    assert boxes["items"]["properties"]["box"] == {
        "type": "array", "items": {"type": "number", "minimum": 0, "maximum": 1}, "minItems": 4, "maxItems": 4,
    }


def test_structured_answers_have_exactly_the_requested_keys():
    schema = schemas.structured_answering(TaskInputs(output_structure=STRUCTURE), 500)
    assert schema["required"] == list(STRUCTURE) and schema["additionalProperties"] is False
    assert schemas.schema_violation('{"count": 2, "colour": "red"}', schema) is None
    assert "colour" in schemas.schema_violation('{"count": 2}', schema)
    assert schemas.schema_violation('{"count": 2, "colour": "red", "extra": 1}', schema) is not None


def test_a_schema_that_cannot_fit_is_an_error_only_where_it_is_required():
    with pytest.raises(SchemaTooLarge, match="`max_tokens` 40 is too small .* needs at least 98"):
        response_schema(TASKS["object-detection"].json_schema, "required", INPUTS, 40)
    assert response_schema(TASKS["object-detection"].json_schema, "auto", INPUTS, 40) is None


@pytest.mark.parametrize("task,mode", [("caption", "auto"), ("classification", "off")])
def test_no_schema_for_free_text_or_when_switched_off(task, mode):
    assert response_schema(TASKS[task].json_schema, mode, INPUTS, 500) is None


def test_an_unknown_mode_names_the_property():
    with pytest.raises(ConfigurationError, match="`constrained_decoding` must be one of auto, off, required"):
        response_schema(TASKS["classification"].json_schema, "strict", INPUTS, 500)


def test_a_reply_that_ignored_a_required_schema_is_a_problem_and_under_auto_is_read_leniently():
    schema = schemas.classification(TaskInputs(classes=CLASSES), 500)
    reply = "The image shows a cat."
    problem = schemas.check_reply(reply, ResponseSchema(schema, required=True)).ignored
    assert problem.startswith("the reply does not match the JSON schema it was constrained to (it is not JSON")
    assert schemas.check_reply(reply, ResponseSchema(schema)) == schemas.ReplyCheck()
    assert schemas.check_reply('{"class_name": "cat", "confidence": 0.5}', ResponseSchema(schema, required=True)) == schemas.ReplyCheck()


def test_a_text_value_that_reached_its_bound_is_flagged_as_maybe_cut():
    schema = schemas.structured_answering(TaskInputs(output_structure={"text": "the sign"}), 60)
    length = schemas.length_limits(schema)["text"]
    full = json.dumps({"text": "x" * length})
    assert "the value of 'text' reached the" in schemas.check_reply(full, ResponseSchema(schema)).at_bound
    assert schemas.check_reply(json.dumps({"text": "x"}), ResponseSchema(schema)) == schemas.ReplyCheck()


@pytest.mark.parametrize("classes", [["cat", "dog"], ["car", "person", "traffic light"], ["x" * 50]])
def test_at_the_default_max_tokens_a_detection_answer_holds_at_least_50_boxes(classes):
    default = TASKS["object-detection"].default_max_tokens
    boxes = schemas.object_detection(TaskInputs(classes=classes), default)["properties"]["detections"]
    assert boxes["maxItems"] >= 50
    # Before: sized at a byte per token, 500 tokens held 4 or 5 boxes.
    assert schemas.object_detection(TaskInputs(classes=["cat", "dog"]), 500)["properties"]["detections"]["maxItems"] >= 6


def test_the_token_bound_of_a_full_detection_answer_is_what_the_digit_rule_counts():
    schema = schemas.object_detection(TaskInputs(classes=["traffic light"]), 2000)
    size = schema["properties"]["detections"]["maxItems"]
    box = {"class": "traffic light", "box": [0.000001] * 4, "confidence": 0.000001}
    longest = json.dumps({"detections": [box] * size}).replace("1e-06", "0.000001")
    assert _xgrammar_accepts(schema, longest)
    assert llama_tokens_at_most(longest) == worst_case_tokens(schema) <= 2000 - 1
    assert not _xgrammar_accepts(schema, json.dumps({"detections": [box] * (size + 1)}).replace("1e-06", "0.000001"))


def test_a_list_that_fills_its_budget_is_flagged_and_a_list_of_every_class_is_not():
    detections = ResponseSchema(schemas.object_detection(TaskInputs(classes=CLASSES), 300))
    limit = detections.item_limits["detections"]
    box = {"class": "cat", "box": [0.1, 0.1, 0.2, 0.2], "confidence": 0.5}
    full = json.dumps({"detections": [box] * limit})
    assert schemas.check_reply(full, detections).at_bound == (
        f"the answer holds {limit} entries in 'detections', the most that max_tokens leaves room for, "
        "so more may have been left out; raise `max_tokens` for a complete list"
    )
    assert schemas.check_reply(json.dumps({"detections": [box] * (limit - 1)}), detections) == schemas.ReplyCheck()
    every_class = ResponseSchema(schemas.multi_label_classification(TaskInputs(classes=CLASSES), 4000))
    assert every_class.item_limits == {}
    budgeted = ResponseSchema(schemas.multi_label_classification(TaskInputs(classes=CLASSES), 120))
    assert budgeted.item_limits == {"predicted_classes": budgeted.schema["properties"]["predicted_classes"]["maxItems"]}
