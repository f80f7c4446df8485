"""Single-label answers written as text rather than JSON.

Llama 3.2 Vision often answers a classification prompt in markdown
(`**Class:** Dog` / `**Confidence:** 0.9`, `- Class: Dog`, a table with a
Class column), puts the class name alone on the first line before describing
the image, ends with a maths-style `$\boxed{Dog}$`, or names the class in bold
in a sentence. Only names that match one of the given classes are read, so
prose is not taken for an answer.
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
_BOLD = re.compile(r"\*\*([^*\n]{1,80})\*\*")
_BOXED = re.compile(r"\\boxed\{(?:\\text\{)?([^{}]{1,80})\}")
_RULE = re.compile(r"\|?[\s:|-]*-[\s:|-]*\|?")
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

    Answers are the values of class fields ("Class:", "Label:", "Answer:" ...),
    the rows of a table with a class column, `\boxed{...}`, and a first line
    that is nothing but a class name; failing those, the given classes written
    in bold.
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
    rows, row_confidence = _table_answers(plain)
    answers.extend(matcher.match(name) for name in rows)
    confidence = confidence if confidence is not None else row_confidence
    answers.extend(matcher.match(boxed) for boxed in _BOXED.findall(text))
    first_line = _first_line(plain)
    if first_line is not None:
        answers.insert(0, matcher.match(first_line))
    known = [answer for answer in answers if answer[1] >= 0]
    if not known:  # "The class that best describes this image is **Bicycle**."
        known = [answer for answer in map(matcher.match, _BOLD.findall(text)) if answer[1] >= 0]
    return known, confidence


def _table_answers(text: str) -> Tuple[List[str], Any]:
    """The class column of a markdown table, and its first row's confidence."""
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if line.strip().startswith("|") and not _RULE.fullmatch(line.strip())
    ]
    if len(rows) < 2:
        return [], None
    header = [normalize_key(cell) for cell in rows[0]]
    name_at = next((index for index, cell in enumerate(header) if cell in ANSWER_KEYS), None)
    if name_at is None:
        return [], None
    score_at = next((index for index, cell in enumerate(header) if cell in CONFIDENCE_KEYS), None)
    body = [row for row in rows[1:] if len(row) == len(header)]
    names = [row[name_at] for row in body]
    return names, body[0][score_at] if body and score_at is not None else None


def _first_line(text: str) -> Optional[str]:
    for line in text.splitlines():
        if line.strip():
            return line
    return None
