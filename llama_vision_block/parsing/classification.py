"""Single-label and multi-label classification replies."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

from llama_vision_block.parsing.coercion import DEFAULT_CONFIDENCE, ClassMatcher, to_confidence
from llama_vision_block.parsing.json_text import pick
from llama_vision_block.parsing.labels import label_items, read_labels
from llama_vision_block.parsing.lenient import Loaded
from llama_vision_block.parsing.result import Parsed, ReplyParseError, failed

_PLAIN_ANSWER = re.compile(r"[\s\"'`*.]+")


@dataclass(frozen=True)
class SingleLabel:
    """The one class the model chose; `class_id` is -1 when it is not a given class."""

    class_name: str
    confidence: float
    class_id: int


@dataclass(frozen=True)
class MultiLabel:
    """Every class the model predicted, with its confidence and id (-1 when unknown)."""

    confidences: Dict[str, float]
    class_ids: Dict[str, int]


def parse_single_label(text: str, classes: Sequence[str]) -> Parsed[SingleLabel]:
    """The class the reply names, mapped onto `classes`.

    A missing or unreadable confidence is `DEFAULT_CONFIDENCE` (1.0). Given
    several labels, the most confident wins. A reply that is just a class
    name, with no JSON, is accepted too.
    """
    if not isinstance(text, str):
        return failed(f"expected the reply as str, got {type(text).__name__}")
    matcher = ClassMatcher(classes or ())

    def interpret(candidate: Loaded) -> Tuple[int, Parsed[SingleLabel]]:
        items = label_items(candidate.value, matcher, single=True)
        labels = read_labels(items, candidate) if items is not None else []
        if not labels:
            return 0, failed("no class name found in the JSON reply")
        pool = [label for label in labels if not label[2]] or labels
        scores = [to_confidence(label[1]) for label in pool]
        top = max(scores)
        tied = {matcher.match(label[0]) for label, score in zip(pool, scores) if score == top}
        if len(tied) > 1:
            return 0, failed(f"the reply names {len(pool)} classes, none the most confident")
        name, raw, cut = pool[scores.index(max(scores))]
        class_name, class_id = matcher.match(name)
        if cut and class_id < 0:
            return 0, failed("reply was cut off before the class name was complete")
        result = SingleLabel(class_name, to_confidence(raw, DEFAULT_CONFIDENCE), class_id)
        return (2 if class_id >= 0 else 1), Parsed(result)

    try:
        return pick(text, interpret, enough=2)
    except ReplyParseError as error:
        return _plain_answer(text, matcher) or failed(str(error))


def parse_multi_label(text: str, classes: Sequence[str]) -> Parsed[MultiLabel]:
    """Every class the reply predicts, mapped onto `classes`.

    Entries may be objects, bare names (confidence 1.0) or [name, confidence]
    pairs; duplicates keep the highest confidence; an entry the end of the
    reply cut off is dropped.
    """
    if not isinstance(text, str):
        return failed(f"expected the reply as str, got {type(text).__name__}")
    matcher = ClassMatcher(classes or ())

    def interpret(candidate: Loaded) -> Tuple[int, Parsed[MultiLabel]]:
        items = label_items(candidate.value, matcher)
        if items is None:
            return 0, failed("no list of predicted classes found in the JSON reply")
        labels = read_labels(items, candidate)
        complete = [label for label in labels if not label[2]]
        if labels and not complete:
            return 0, failed("reply was cut off before the first class was complete")
        if items and not labels:
            return 0, failed("no class name found among the predicted classes")
        confidences: Dict[str, float] = {}
        class_ids: Dict[str, int] = {}
        for name, raw, _ in complete:
            class_name, class_id = matcher.match(name)
            confidence = to_confidence(raw, DEFAULT_CONFIDENCE)
            confidences[class_name] = max(confidence, confidences.get(class_name, confidence))
            class_ids[class_name] = class_id
        score = 3 if any(i >= 0 for i in class_ids.values()) else 2 if complete else 1
        return score, Parsed(MultiLabel(confidences, class_ids))

    try:
        return pick(text, interpret, enough=3)
    except ReplyParseError as error:
        return failed(str(error))


def _plain_answer(text: str, matcher: ClassMatcher) -> Optional[Parsed[SingleLabel]]:
    if len(text) > 200:
        return None
    answer = _PLAIN_ANSWER.sub(" ", text).strip()
    class_name, class_id = matcher.match(answer)
    if class_id < 0:
        return None
    return Parsed(SingleLabel(class_name, DEFAULT_CONFIDENCE, class_id))
