"""Single-label and multi-label classification replies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

from llama_vision_block.parsing.answer_text import text_answers
from llama_vision_block.parsing.coercion import ClassMatcher
from llama_vision_block.parsing.confidence import DEFAULT_CONFIDENCE, not_finite, percent_scale, to_confidence
from llama_vision_block.parsing.corrections import read_corrected
from llama_vision_block.parsing.json_text import different_answers, pick
from llama_vision_block.parsing.labels import boxes_among, label_items, read_labels, ruled_out
from llama_vision_block.parsing.lenient import Loaded
from llama_vision_block.parsing.result import DifferentAnswers, Parsed, ReplyParseError, failed


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
    several labels, the most confident wins; classes marked false or "no" are
    not candidates. Without JSON, a markdown answer (`**Class:** Dog`) or a
    first line that is just a class name is read. A reply that corrects itself
    gives its corrected answer; one that gives two different answers is an error.
    """
    if not isinstance(text, str):
        return failed(f"expected the reply as str, got {type(text).__name__}")
    matcher = ClassMatcher(classes or ())
    return read_corrected(text, lambda reply: _single_label(reply, matcher))


def parse_multi_label(text: str, classes: Sequence[str]) -> Parsed[MultiLabel]:
    """Every class the reply predicts, mapped onto `classes`.

    Entries may be objects, bare names (confidence 1.0), [name, confidence]
    pairs or a {class: true/false or confidence} map; a class marked false or
    "no", or given a confidence of 0 or below, is not predicted. Duplicates keep
    the highest confidence; an entry the end of the reply cut off is dropped.
    """
    if not isinstance(text, str):
        return failed(f"expected the reply as str, got {type(text).__name__}")
    matcher = ClassMatcher(classes or ())
    return read_corrected(text, lambda reply: _multi_label(reply, matcher))


def _single_label(text: str, matcher: ClassMatcher) -> Parsed[SingleLabel]:
    def answer(parsed: Parsed[SingleLabel]) -> Optional[str]:
        return parsed.value.class_name if parsed.ok and parsed.value.class_id >= 0 else None

    try:
        return pick(text, lambda candidate: _single_label_in(candidate, matcher), enough=2, answer=answer)
    except DifferentAnswers as error:
        return failed(str(error))
    except ReplyParseError as error:
        return _text_answer(text, matcher) or failed(str(error))


def _single_label_in(candidate: Loaded, matcher: ClassMatcher) -> Tuple[int, Parsed[SingleLabel]]:
    items = label_items(candidate.value, matcher, single=True)
    if items is not None and boxes_among(items):
        return 0, failed(_BOXES)
    labels = read_labels(items, candidate) if items is not None else []
    if not labels:
        return 0, failed("no class name found in the JSON reply")
    pool = [label for label in labels if not label[2]] or labels
    pool = [label for label in pool if not ruled_out(label)]
    if not pool:
        return 0, failed("the reply rules out every class")
    unreadable = [label for label in pool if not_finite(label[1])]
    if unreadable:
        return 0, failed(_not_finite(unreadable))
    percent = percent_scale(label[1] for label in labels)
    scores = [to_confidence(label[1], percent=percent) for label in pool]
    top = max(scores)
    tied = {matcher.match(label[0]) for label, score in zip(pool, scores) if score == top}
    if len(tied) > 1:
        return 0, failed(f"the reply names {len(pool)} classes, none the most confident")
    name, _, cut = pool[scores.index(top)]
    class_name, class_id = matcher.match(name)
    if cut and class_id < 0:
        return 0, failed("reply was cut off before the class name was complete")
    return (2 if class_id >= 0 else 1), Parsed(SingleLabel(class_name, top, class_id))


def _multi_label(text: str, matcher: ClassMatcher) -> Parsed[MultiLabel]:
    def interpret(candidate: Loaded) -> Tuple[int, Parsed[MultiLabel]]:
        items = label_items(candidate.value, matcher)
        if items is None:
            return 0, failed("no list of predicted classes found in the JSON reply")
        if boxes_among(items):
            return 0, failed(_BOXES)
        labels = read_labels(items, candidate)
        complete = [label for label in labels if not label[2]]
        if labels and not complete:
            return 0, failed("reply was cut off before the first class was complete")
        if items and not labels:
            return 0, failed("no class name found among the predicted classes")
        unreadable = [label for label in complete if not_finite(label[1])]
        readable = [label for label in complete if not not_finite(label[1])]
        if unreadable and not readable:
            return 0, failed(_not_finite(unreadable))
        percent = percent_scale(label[1] for label in readable)
        confidences: Dict[str, float] = {}
        class_ids: Dict[str, int] = {}
        known = False
        for label in readable:
            class_name, class_id = matcher.match(label[0])
            known = known or class_id >= 0
            confidence = to_confidence(label[1], DEFAULT_CONFIDENCE, percent)
            if ruled_out(label) or confidence <= 0.0:
                continue
            confidences[class_name] = max(confidence, confidences.get(class_name, confidence))
            class_ids[class_name] = class_id
        score = 3 if known else 2 if complete else 1
        warning = _not_finite(unreadable) + "; the other classes are kept" if unreadable else ""
        return score, Parsed(MultiLabel(confidences, class_ids), warning=warning)

    def answer(parsed: Parsed[MultiLabel]) -> Optional[str]:
        return "[" + ", ".join(sorted(parsed.value.confidences)) + "]" if parsed.ok else None

    try:
        return pick(text, interpret, enough=3, answer=answer)
    except ReplyParseError as error:
        return failed(str(error))


_BOXES = "the reply is a list of boxes, not a classification answer"


def _not_finite(labels: Sequence[Tuple[str, object, bool]]) -> str:
    names = ", ".join(f"'{label[0]}' ({label[1]})" for label in labels)
    return f"the confidence of {names} is not a finite number"


def _text_answer(text: str, matcher: ClassMatcher) -> Optional[Parsed[SingleLabel]]:
    answers, raw_confidence = text_answers(text, matcher)
    if not answers:
        return None
    if not_finite(raw_confidence):
        return failed(_not_finite([(answers[0][0], raw_confidence, False)]))
    class_name, class_id = answers[0]
    conflict = different_answers(name for name, _ in answers)
    if conflict:
        return failed(conflict)
    return Parsed(SingleLabel(class_name, to_confidence(raw_confidence, DEFAULT_CONFIDENCE), class_id))
