"""Replies that correct themselves: the answer after the last correction counts.

Llama 3.2 Vision sometimes answers, then writes "Wait, corrected answer: ..."
or "Actually, the correct answer is ..." and answers again. The first answer
is then wrong, so a task reads what follows the last such marker, and fails
rather than fall back on the first answer when nothing readable follows.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import Callable, List, Optional, Tuple, TypeVar

from llama_vision_block.parsing.json_text import iter_candidates
from llama_vision_block.parsing.result import Parsed, failed
from llama_vision_block.parsing.turns import own_reply

T = TypeVar("T")

# "Wait", "Actually" and "Oops" open a correction only at the start of a sentence
# or line ("people wait at the stop" is not one); the other phrases are one
# wherever they occur, "the correct answer" only when an answer follows ("is",
# ":"), so "I hope this is the correct answer." is not one.
_MARKER = re.compile(
    r"""\b(?:
        (?P<opener>wait|actually|oops)\b[\s,.!:\u2014\u2013-]*
      | correction\s*:
      | corrected\b
      | on\s+second\s+thought\b[\s,:]*
      | upon\s+(?:closer|further)\s+(?:inspection|examination|look|review)\b[\s,:]*
      | let\s+me\s+(?:correct|revise|fix)\b
      | i\s+made\s+(?:a|an)\s+(?:mistake|error)\b
      | (?:correct|right|revised|updated|final)\s+(?:answer|classification|response|output)
        (?:\s+(?:is|would\s+be|should\s+be)\b|[\s*]*:)
    )""",
    re.IGNORECASE | re.VERBOSE,
)
# Every marker holds one of these; most replies hold none, and `in` is far
# cheaper than the search.
_KEYWORDS = (
    "wait", "actually", "oops", "correct", "second", "upon", "let me", "made a", "right",
    "revised", "updated", "final",
)
_SENTENCE_END = ".!?,;:\n"
_LINE_PREFIX = " \t>*_#\u2022-"  # indentation, quoting, emphasis and list bullets
_LOOK_BACK = 16


def read_corrected(text: str, read: Callable[[str], Parsed[T]]) -> Parsed[T]:
    """`read` of the model's own reply (`turns.own_reply`), or of what follows its
    last correction: every task reads a reply through here.

    A reply whose answer is followed by a correction that cannot be read is an
    error, not its first answer.
    """
    text = own_reply(text)
    marker = _last_marker(text)
    if marker is None:
        return read(text)
    corrected = read(text[marker.end() :])
    if corrected.ok:
        return corrected
    whole = read(text)
    if not whole.ok:
        return whole
    said = " ".join(marker.group().split()).strip(" ,.:")
    return failed(
        f'the reply corrects itself ("{said}") but no corrected answer could be read after it: '
        f"{corrected.error}"
    )


def _last_marker(text: str) -> Optional[re.Match]:
    lowered = text.lower()
    if not any(keyword in lowered for keyword in _KEYWORDS):
        return None
    markers = [marker for marker in _MARKER.finditer(text) if _stands_alone(text, marker)]
    if not markers:
        return None
    # A marker inside a JSON value ({"note": "wait, ..."}) is data, not a correction.
    starts, ends = _json_spans(text)
    for marker in reversed(markers):
        index = bisect_right(starts, marker.start()) - 1
        if index < 0 or marker.start() >= ends[index]:
            return marker
    return None


def _json_spans(text: str) -> Tuple[List[int], List[int]]:
    """Where the text holds JSON values, as sorted, disjoint (starts, ends)."""
    starts: List[int] = []
    ends: List[int] = []
    for start, end in sorted((value.start, value.end) for value in iter_candidates(text)):
        if ends and start <= ends[-1]:
            ends[-1] = max(ends[-1], end)
        else:
            starts.append(start)
            ends.append(end)
    return starts, ends


def _stands_alone(text: str, marker: re.Match) -> bool:
    """Whether the marker is a phrase, or an opener starting a sentence or line."""
    if marker.group("opener") is None:
        return True
    before = text[max(marker.start() - _LOOK_BACK, 0) : marker.start()].rstrip(_LINE_PREFIX)
    return not before or before[-1] in _SENTENCE_END
