"""Single-label answers written as text rather than JSON.

Llama 3.2 Vision often answers a classification prompt in markdown
(`**Class:** Dog` / `**Confidence:** 0.9`, `- Class: Dog`) or puts the class
name alone on the first line before describing the image. Only names that
match one of the given classes are read, so prose is not taken for an answer.
"""

from __future__ import annotations

import re
from typing import Any, List, Optional, Tuple

from llama_vision_block.parsing.coercion import (
    CLASS_KEYS,
    CONFIDENCE_KEYS,
    ClassMatcher,
    normalize_key,
)

ANSWER_KEYS = frozenset(CLASS_KEYS + ("answer", "finalanswer", "classification", "prediction"))
_EMPHASIS = re.compile(r"[*`]+")
# "Class: Dog", after an optional list bullet ("-", "+", "•", "1."). No two
# runs of space may meet, so a long line of spaces costs linear time.
_FIELD = re.compile(
    r"^[ \t]*(?:(?:[-+\u2022]|\d+[.)])[ \t]*)?"
    r"(?P<key>[A-Za-z][\w \-]{0,40}?)[ \t]*:(?P<value>[^\n]*)",
    re.MULTILINE,
)


def text_answers(text: str, matcher: ClassMatcher) -> Tuple[List[Tuple[str, int]], Any]:
    """The given classes the text answers with, in order, and the raw confidence
    it states (`None` if none).

    Answers are the values of class fields ("Class:", "Label:", "Answer:" ...)
    and a first line that is nothing but a class name.
    """
    plain = _EMPHASIS.sub("", text)
    answers = []
    confidence = None
    for field in _FIELD.finditer(plain):
        key, value = normalize_key(field.group("key")), field.group("value").strip()
        if key in ANSWER_KEYS:
            answers.append(matcher.match(value))
        elif key in CONFIDENCE_KEYS and confidence is None:
            confidence = value
    first_line = _first_line(plain)
    if first_line is not None:
        answers.insert(0, matcher.match(first_line))
    return [answer for answer in answers if answer[1] >= 0], confidence


def _first_line(text: str) -> Optional[str]:
    for line in text.splitlines():
        if line.strip():
            return line
    return None
