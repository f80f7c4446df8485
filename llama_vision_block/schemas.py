"""The JSON schema each task's answer must match, sized to fit the step's `max_tokens`.

A constrained decoder can only write what the schema allows, so a schema whose
longest valid answer fits in `max_tokens` ends in valid JSON even when the model
rambles. The bound is counted in tokens of the answer written without spare
whitespace (`{"a": 1, "b": [2, 3]}`, as xgrammar writes it when told to), as the
Llama 3 and Llama 4 tokenizers spell it:

- every token spells at least one byte, so text and punctuation cost at most a
  token per byte (a string character at most 4 bytes: UTF-8, and a bounded
  string admits no escapes);
- both tokenizers cut a run of digits into pieces of at most 3 before merging
  (their pre-tokenizer's `\p{N}{1,3}`), and every 1-3 digit string is one token
  of their vocabularies, so a run of n digits costs ceil(n / 3) tokens. A number
  between bounds has at most `FRACTION_DIGITS` digits after the point
  (xgrammar's rule for bounded numbers): 0.123456 is 4 tokens, not 8 bytes.

A model that spells a number digit by digit, off its tokenizer's usual path,
can still run past the bound; the provider then reports the cut and the image
is flagged, never passed off as complete.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Dict, List, Literal, Mapping, Optional, Sequence, Tuple, get_args

from llama_vision_block.errors import ConfigurationError
from llama_vision_block.task_inputs import TaskInputs

Schema = Dict[str, Any]
logger = logging.getLogger(__name__)

FRACTION_DIGITS = 6
BYTES_PER_CHARACTER = 4
DIGITS_PER_TOKEN = 3
# A structured answer's numbers lie within this bound (larger ones come as text).
STRUCTURED_NUMBER_BOUND = 1_000_000_000
# The step's `constrained_decoding`: constrain where the provider can ("auto"),
# never ("off"), or fail an image rather than send it unconstrained ("required").
DecodingMode = Literal["auto", "off", "required"]
DECODING_MODES: Tuple[str, ...] = get_args(DecodingMode)
_SEPARATOR = len(", ")
_COLON = len(": ")


class SchemaTooLarge(ConfigurationError):
    """No answer of the task's schema fits in the step's `max_tokens`."""


@dataclass(frozen=True)
class ResponseSchema:
    """The JSON schema a reply must match. `required`: a reply the provider did not
    constrain to it is an error, never an answer read leniently."""

    schema: Mapping[str, Any]
    required: bool = False
    # The schema as text, keys in their order (the order an answer writes them):
    # what caches of compiled grammars are keyed by.
    key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", json.dumps(self.schema))

    @cached_property
    def validator(self) -> Any:
        """The schema's validator, built once for all the step's replies."""
        return _validator(self.schema)

    @cached_property
    def text_limits(self) -> Dict[str, int]:
        """`length_limits` of the schema, read once for all the step's replies."""
        return length_limits(self.schema)

    @cached_property
    def item_limits(self) -> Dict[str, int]:
        """`budget_item_limits` of the schema, read once for all the step's replies."""
        return budget_item_limits(self.schema)


def response_schema(
    build: Optional[Callable[[TaskInputs, int], Schema]], mode: str, inputs: TaskInputs, max_tokens: int
) -> Optional[ResponseSchema]:
    """The schema a step's replies must match: `build(inputs, max_tokens)` unless the task
    answers in free text (`build` is None) or the step set `constrained_decoding`
    to "off". Under "auto", a schema that cannot fit `max_tokens` leaves the
    answer unconstrained (as before constrained decoding, so older workflows with
    a small `max_tokens` keep working); under "required" it is an error."""
    if mode not in DECODING_MODES:
        raise ConfigurationError(
            f"`constrained_decoding` must be one of {', '.join(DECODING_MODES)}; got {mode!r}."
        )
    if build is None or mode == "off":
        return None
    try:
        return ResponseSchema(build(inputs, max_tokens), required=mode == "required")
    except SchemaTooLarge as error:
        if mode == "required":
            raise
        logger.info("Answers are not constrained: %s", error)
        return None


def worst_case_tokens(schema: Mapping[str, Any]) -> int:
    """The most tokens any answer valid under `schema` can take (the subset of JSON
    Schema this module writes: objects with every key required and no others,
    enums, bounded numbers, strings and arrays, booleans, null and `anyOf`)."""
    if "anyOf" in schema:
        return max(worst_case_tokens(option) for option in schema["anyOf"])
    if "enum" in schema:
        return max(len(json.dumps(value, ensure_ascii=ascii).encode()) for value in schema["enum"] for ascii in (True, False))
    kind = schema.get("type")
    if kind == "object":
        properties = schema["properties"]
        entries = [len(json.dumps(key).encode()) + _COLON + worst_case_tokens(value) for key, value in properties.items()]
        return 2 + sum(entries) + _SEPARATOR * max(len(entries) - 1, 0)
    if kind == "array":
        items = schema["maxItems"]
        return 2 + items * worst_case_tokens(schema["items"]) + _SEPARATOR * max(items - 1, 0)
    if kind == "string":
        return 2 + BYTES_PER_CHARACTER * schema["maxLength"]
    if kind in ("number", "integer"):
        largest = max(abs(schema["minimum"]), abs(schema["maximum"]))
        fraction = 1 + _digit_tokens(FRACTION_DIGITS) if kind == "number" else 0
        return (schema["minimum"] < 0) + _digit_tokens(len(str(int(largest)))) + fraction
    if kind == "boolean":
        return len("false")
    if kind == "null":
        return len("null")
    raise ValueError(f"no token bound for the schema {schema!r}")


def _digit_tokens(digits: int) -> int:
    return -(-digits // DIGITS_PER_TOKEN)


def classification(inputs: TaskInputs, max_tokens: int) -> Schema:
    """One class from the step's classes and a confidence."""
    return _fitting("classification", max_tokens, lambda _: _object(class_name=_one_of(inputs.classes), confidence=_UNIT))


def multi_label_classification(inputs: TaskInputs, max_tokens: int) -> Schema:
    """A list of the step's classes, each with a confidence; as many as fit."""
    classes = inputs.classes
    item = _object(**{"class": _one_of(classes), "confidence": _UNIT})
    return _fitting(
        "multi-label-classification", max_tokens,
        lambda size: _object(predicted_classes=_array(item, size, unique=True)), most=len(classes),
    )


def structured_answering(inputs: TaskInputs, max_tokens: int) -> Schema:
    """Exactly the keys of the step's output structure, each a short text, a
    number, a boolean or null; the texts are as long as fit."""
    output_structure = inputs.output_structure
    def schema(length: int) -> Schema:
        return _object(**{
            key: {"description": str(description), "anyOf": [
                _text(length),
                {"type": "number", "minimum": -STRUCTURED_NUMBER_BOUND, "maximum": STRUCTURED_NUMBER_BOUND},
                {"type": "boolean"},
                {"type": "null"},
            ]}
            for key, description in output_structure.items()
        })

    return _fitting("structured-answering", max_tokens, schema, most=max_tokens)


def object_detection(inputs: TaskInputs, max_tokens: int) -> Schema:
    """A list of boxes, each one of the step's classes, four fractions of the image
    and a confidence; as many as fit."""
    classes = inputs.classes
    box = {"type": "array", "items": _UNIT, "minItems": 4, "maxItems": 4}
    item = _object(**{"class": _one_of(classes), "box": box, "confidence": _UNIT})
    return _fitting("object-detection", max_tokens, lambda size: _object(detections=_array(item, size)), most=max_tokens)


def length_limits(schema: Mapping[str, Any]) -> Dict[str, int]:
    """The bound on each string value of a structured-answering schema, by key; a
    value that reaches it may have been cut short."""
    limits = {}
    for key, value in schema.get("properties", {}).items():
        for option in value.get("anyOf", []):
            if option.get("type") == "string":
                limits[key] = option["maxLength"]
    return limits


def budget_item_limits(schema: Mapping[str, Any]) -> Dict[str, int]:
    """The bound on each list of an answer that `max_tokens` set, by key: a list
    that reaches it may have been cut short. A list of distinct classes bounded
    by the number of classes is left out: that bound is the answer's own."""
    limits = {}
    for key, value in schema.get("properties", {}).items():
        if value.get("type") == "array" and "maxItems" in value:
            classes = value["items"].get("properties", {}).get("class", {}).get("enum")
            natural = value.get("uniqueItems") and classes is not None and value["maxItems"] >= len(classes)
            if not natural:
                limits[key] = value["maxItems"]
    return limits


_UNIT: Schema = {"type": "number", "minimum": 0, "maximum": 1}


def _text(length: int) -> Schema:
    # The pattern says the length again: xgrammar reads a pattern instead of
    # maxLength, and this one also keeps out control characters (invalid in JSON)
    # and escapes, so each character is at most 4 bytes.
    return {"type": "string", "maxLength": length, "pattern": f'^[^"\\\\\\x00-\\x1f]{{0,{length}}}$'}


def _one_of(classes: Sequence[str]) -> Schema:
    return {"type": "string", "enum": [str(name).strip() for name in classes]}


def _object(**properties: Schema) -> Schema:
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


def _array(item: Schema, size: int, unique: bool = False) -> Schema:
    schema = {"type": "array", "items": item, "maxItems": size}
    if unique:
        schema["uniqueItems"] = True
    return schema


def _fitting(task: str, max_tokens: int, build: Callable[[int], Schema], most: int = 1) -> Schema:
    """`build(size)` for the largest size from 1 to `most` whose longest answer,
    and the end-of-turn token after it, fit in `max_tokens`."""
    budget = max_tokens - 1
    if worst_case_tokens(build(1)) > budget:
        raise SchemaTooLarge(
            f"`max_tokens` {max_tokens} is too small for a constrained {task} answer: it "
            f"needs at least {worst_case_tokens(build(1)) + 1}. Raise `max_tokens`, or set "
            "`constrained_decoding` to 'auto' or 'off'."
        )
    low, high = 1, max(most, 1)
    while low < high:  # the longest answer grows with the size
        middle = (low + high + 1) // 2
        low, high = (middle, high) if worst_case_tokens(build(middle)) <= budget else (low, middle - 1)
    return build(low)


@dataclass(frozen=True)
class ReplyCheck:
    """What a reply to a constrained request says of itself.

    `ignored`: under "required", the reply does not match the schema (the
    provider did not apply it); no answer is read from such a reply.
    `at_bound`: the answer filled what max_tokens left it (a list at its most
    items, a text at its most characters), so it may be incomplete; the answer
    is kept and the image flagged.
    """

    ignored: Optional[str] = None
    at_bound: Optional[str] = None


def check_reply(reply: str, constraint: ResponseSchema) -> ReplyCheck:
    """`ReplyCheck` of a reply to a request constrained to `constraint`."""
    document, violation = _read(reply, constraint.validator)
    if violation is not None:
        if not constraint.required:
            return ReplyCheck()  # read leniently, as an unconstrained reply
        return ReplyCheck(ignored=(
            f"the reply does not match the JSON schema it was constrained to ({violation}): "
            "the provider did not apply the constraint"
        ))
    for key, limit in constraint.text_limits.items():
        if isinstance(document.get(key), str) and len(document[key]) >= limit:
            return ReplyCheck(at_bound=(
                f"the value of '{key}' reached the {limit} characters that max_tokens leaves "
                "it and may be cut short; raise `max_tokens` for complete values"
            ))
    for key, limit in constraint.item_limits.items():
        if isinstance(document.get(key), list) and len(document[key]) >= limit:
            return ReplyCheck(at_bound=(
                f"the answer holds {len(document[key])} entries in '{key}', the most that "
                "max_tokens leaves room for, so more may have been left out; raise "
                "`max_tokens` for a complete list"
            ))
    return ReplyCheck()


def schema_violation(reply: str, schema: Mapping[str, Any]) -> Optional[str]:
    """Why `reply` is not a JSON document valid under `schema`, or None."""
    return _read(reply, _validator(schema))[1]


def _validator(schema: Mapping[str, Any]) -> Any:
    import jsonschema  # only steps that check replies need it loaded

    return jsonschema.Draft202012Validator(schema)


def _read(reply: str, validator: Any) -> Tuple[Any, Optional[str]]:
    """The reply's JSON document, and why it is not valid under `validator` (or None)."""
    import jsonschema

    try:
        document = json.loads(reply)
    except ValueError as error:
        return None, f"it is not JSON ({error})"
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if error is None:
        return document, None
    where = "/".join(map(str, error.absolute_path)) or "the answer"
    return document, f"{where}: {error.message}"


__all__: List[str] = [
    "DECODING_MODES", "ReplyCheck", "ResponseSchema", "budget_item_limits", "check_reply", "classification", "length_limits", "multi_label_classification",
    "object_detection", "schema_violation", "structured_answering", "worst_case_tokens",
]
