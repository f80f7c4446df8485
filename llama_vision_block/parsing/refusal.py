"""Recognise a model declining to answer."""

from __future__ import annotations

import re
from typing import Optional

_REFUSAL = re.compile(
    r"""\b(?:
        i\s*(?:'m|am)\s+(?:sorry|afraid|unable|not\s+(?:able|comfortable|allowed|permitted|going\s+to))
      | i\s+apologi[sz]e
      | i\s+(?:can(?:not|'t|t|\s+not)|won't|will\s+not|must\s+decline|have\s+to\s+decline)
      | i\s+(?:do\s+not|don't)\s+feel\s+comfortable
      | (?:unfortunately|regrettably),?\s+i\b
      | as\s+an\s+ai\b
      | not\s+something\s+i\s+(?:can|could|am\s+able\s+to)\s+(?:help|assist)
      | (?:it\s+is|it's)\s+not\s+(?:possible|appropriate)\s+for\s+me
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|\n")
_MAX_SENTENCE = 300


def detect_refusal(text: str) -> Optional[str]:
    """The sentence in which the model declines, or `None` if it does not.

    Only the phrasing is checked; callers decide whether a reply that also
    holds JSON counts as a refusal (the parsers here say no).
    """
    if not isinstance(text, str):
        return None
    plain = text.replace("\u2019", "'").replace("\u2018", "'")
    match = _REFUSAL.search(plain)
    if match is None:
        return None
    floor = max(match.start() - _MAX_SENTENCE, 0)
    start = max(plain.rfind(mark, floor, match.start()) for mark in ".!?\n") + 1
    start = max(start, floor)
    end_match = _SENTENCE_END.search(plain, match.end())
    end = end_match.end() if end_match else len(plain)
    sentence = " ".join(plain[start:end].split())
    if len(sentence) > _MAX_SENTENCE:
        sentence = sentence[: _MAX_SENTENCE - 3].rstrip() + "..."
    return sentence
