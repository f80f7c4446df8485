"""The model's own reply, before any parsing: its turn, and its JSON unquoted.

Llama sometimes runs on past its end-of-turn token (a server that does not stop
on it passes the rest through), inventing a user turn and answering that too:
what follows `<|eot_id|>` is not this image's answer. And it sometimes writes
its whole JSON answer as one JSON string ("{\"class_name\": ...}").
"""

from __future__ import annotations

import json
import re

# Llama 3's end of turn and end of message, Llama 4's end of turn, and end of text.
_END_OF_TURN = re.compile(r"<\|(?:eot_id|eom_id|eot|end_of_text)\|>")


def own_reply(text: str) -> str:
    """`text` up to the end of the model's turn, unquoted if it is one JSON string."""
    for piece in _END_OF_TURN.split(text):
        if piece.strip():
            return _unquoted(piece)
    return text


def _unquoted(text: str) -> str:
    stripped = text.strip()
    if len(stripped) < 2 or stripped[0] != '"' or stripped[-1] != '"':
        return text
    try:
        inner = json.loads(stripped)
    except (ValueError, RecursionError):
        return text
    return inner if isinstance(inner, str) and ("{" in inner or "[" in inner) else text
