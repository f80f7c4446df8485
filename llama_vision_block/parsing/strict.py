"""Fast path: values that are already valid JSON, read by the C decoder."""

from __future__ import annotations

import json
import re
from typing import Optional

from llama_vision_block.parsing.lenient import MAX_DEPTH, Loaded

_DECODER = json.JSONDecoder()
_BRACKET = re.compile(r"[\[{]|[\]}]")


def read_strict(text: str, start: int) -> Optional[Loaded]:
    """The valid JSON value opening at `text[start]`, or `None` when it is not valid.

    A value that runs past a fence is still taken: ``` cannot occur in valid
    JSON outside a string, so that fence was part of a string.
    """
    try:
        value, end = _DECODER.raw_decode(text, start)
    except (ValueError, RecursionError):
        return None
    if _deeper_than_limit(text, start, end):
        return None  # keep the one depth limit; the lenient reader reports it
    return Loaded(value, start, end)


def _deeper_than_limit(text: str, start: int, end: int) -> bool:
    if text.count("[", start, end) + text.count("{", start, end) <= MAX_DEPTH:
        return False
    depth = 0
    for match in _BRACKET.finditer(text, start, end):  # brackets in strings only overcount
        depth += 1 if match.group() in "[{" else -1
        if depth > MAX_DEPTH:
            return True
    return False
