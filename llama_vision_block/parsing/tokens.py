"""Scalar tokens of lenient JSON: strings, numbers, literals and bare words.

`STEP` finds the next token; `read_string` reads a string, in time linear in
what it consumes; the `*_value` functions turn token text into values.
"""

from __future__ import annotations

import re
from typing import Any, Optional, Tuple

# One step of the reader: skip space and //, /* */ or # comments (an unterminated
# /* runs to the end), then match one token, whose kind `lastindex` gives:
# punctuation, a quote opening a string, a number, or a bare word (which runs up
# to structure, a line break, a double quote or a comment). Numbers must end at
# a delimiter, so "85%" and "3 apples" stay words while "[1 2]" is two numbers.
STEP = re.compile(
    r"""(?:\s+|//[^\n]*|/\*.*?(?:\*/|\Z)|\#[^\n]*)*
    (?:
        (?P<punct>[{}\[\],:])
      | (?P<quote>["'\u201c\u201d\u2018\u2019])
      | (?P<number>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)
        (?=[ \t]*(?:[,:{}\[\]\r\n"\u201c\u201d/\#]|\Z)|[ \t]+[-+.\d])
      | (?P<word>(?:[^,:{}\[\]\r\n"\u201c\u201d/\#]+|/(?![/*]))+)
      | (?P<other>.)
    )?""",
    re.VERBOSE | re.DOTALL,
)
PUNCT, QUOTE, NUMBER = (STEP.groupindex[name] for name in ("punct", "quote", "number"))
# The common case, read in one match: a double-quoted string with no escapes
# whose first closing quote is followed by structure (see `_closes`).
_PLAIN_STRING = re.compile(r'"([^"\\]*)"(?=[ \t\r\f\v]*(?:[,:}\]\n]|//|/\*|\#|\Z))')
_FOLLOW_SPACE = re.compile(r"[ \t\r\f\v]*(\n)?\s*")

# Opening quote -> the characters that may close it. Quotes double as
# apostrophes and models leave inner quotes unescaped, so a closer only counts
# when structure (, : } ]), a line break or the end of the text follows it.
QUOTES = {
    '"': '"',
    "'": "'\u2019",
    "\u201c": "\u201d\u201c\"",
    "\u201d": "\u201d\u201c\"",
    "\u2018": "\u2019\u2018'",
    "\u2019": "\u2019\u2018'",
}
_STRING_STOPS = {
    opener: re.compile("[\\\\" + re.escape(closers) + "]")
    for opener, closers in QUOTES.items()
}
_HEX = frozenset("0123456789abcdefABCDEF")
_HEX_ESCAPES = {"u": 4, "x": 2, "U": 8}  # JSON's \u; Python's \x and \U
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_LITERALS = {
    "true": True,
    "false": False,
    "null": None,
    "none": None,
    "undefined": None,
    "nan": float("nan"),
    "infinity": float("inf"),
    "+infinity": float("inf"),
    "-infinity": float("-inf"),
}
# Literals that a reply cut off mid-word ("tr", "fal") was spelling.
_CUT_LITERALS = {"true": True, "false": False, "null": None, "none": None}


def read_string(text: str, pos: int, stop: int) -> Tuple[str, int, bool]:
    """Read the quoted string opening at `pos`: `(value, end, cut_by_stop)`."""
    plain = _PLAIN_STRING.match(text, pos, stop)
    if plain is not None:
        return plain.group(1), plain.end(1) + 1, False
    opener = text[pos]
    finder = _STRING_STOPS[opener]
    parts = []
    start = pos + 1
    while True:
        match = finder.search(text, start, stop)
        if match is None:
            parts.append(text[start:stop])
            return "".join(parts), stop, True
        at = match.start()
        parts.append(text[start:at])
        char = text[at]
        if char == "\\":
            if at + 1 >= stop:
                return "".join(parts), stop, True
            piece, start = _read_escape(text, at + 1, stop)
            parts.append(piece)
            continue
        if _closes(text, at + 1, stop):
            return "".join(parts), at + 1, False
        parts.append(char)
        start = at + 1


def _closes(text: str, pos: int, stop: int) -> bool:
    follow = _FOLLOW_SPACE.match(text, pos, stop)
    after = follow.end()
    if after >= stop or follow.group(1) is not None:
        return True
    return text[after] in ",:}]" or text.startswith(("//", "/*", "#"), after)


def _read_escape(text: str, pos: int, stop: int) -> Tuple[str, int]:
    char = text[pos]
    width = _HEX_ESCAPES.get(char)
    if width is None:
        # Unknown escapes of punctuation (markdown's \_ and \*, or \') mean the character.
        return _ESCAPES.get(char, "\\" + char if char.isalnum() else char), pos + 1
    code = _hex(text, pos + 1, stop, width)
    if code is None or code > 0x10FFFF:
        return "\\" + char, pos + 1
    end = pos + 1 + width
    if char == "u" and 0xD800 <= code < 0xDC00 and text.startswith("\\u", end):
        low = _hex(text, end + 2, stop, 4)
        if low is not None and 0xDC00 <= low < 0xE000:
            return chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)), end + 6
    return chr(code), end


def _hex(text: str, pos: int, stop: int, width: int) -> Optional[int]:
    digits = text[pos : min(pos + width, stop)]
    if len(digits) != width or not all(c in _HEX for c in digits):
        return None
    return int(digits, 16)


def word_value(raw: str, cut: bool) -> Tuple[Any, bool]:
    """A bare word as `(value, is_data)`: a literal, or the word itself (not data).

    A word the end of the text cut short ("tr", "fals") completes to its literal.
    """
    lowered = raw.lower()
    if lowered in _LITERALS:
        return _LITERALS[lowered], True
    if cut and lowered:
        for name, value in _CUT_LITERALS.items():
            if name.startswith(lowered):
                return value, True
    return raw, False


def number_value(raw: str) -> Any:
    """The int or float a number token spells."""
    if "." in raw or "e" in raw or "E" in raw:
        return float(raw)
    try:
        return int(raw)
    except ValueError:  # more digits than int() will convert
        return float(raw)
