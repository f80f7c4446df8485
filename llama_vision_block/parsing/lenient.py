"""An iterative, forgiving reader for the JSON-like values models write.

It never recurses, so nesting depth costs heap rather than stack, and it
repairs what has one reading: trailing or missing commas, single and
typographic quotes, unquoted keys, Python literals, comments, mismatched
closers, and a value the end of the text cut short (open strings, arrays and
objects are closed; a key left without a value is dropped).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Hashable, List, Optional, Tuple

from llama_vision_block.parsing.tokens import (
    NUMBER,
    PUNCT,
    QUOTE,
    STEP,
    number_value,
    read_string,
    word_value,
)

MAX_DEPTH = 512
_EXPECT_KEY, _AFTER_KEY, _EXPECT_VALUE, _AFTER_VALUE = range(4)


class TooDeep(Exception):
    """The value at `position` would nest deeper than `MAX_DEPTH`."""

    def __init__(self, position: int) -> None:
        super().__init__(f"JSON nested deeper than {MAX_DEPTH} levels")
        self.position = position


@dataclass(frozen=True)
class Loaded:
    """One value read from the text, with what the end of its region cut short.

    Attributes:
        value: The dict or list read.
        start: Where the value begins in the text.
        end: Where reading stopped.
        cut_values: Containers that the end of the region closed, not a closer.
        cut_slot: `(id(container), key or index)` of a scalar the end cut short.
        plausible: Whether it reads as data rather than bracketed prose.
    """

    value: Any
    start: int
    end: int
    cut_values: Tuple[Any, ...] = ()
    cut_slot: Optional[Tuple[int, Hashable]] = None
    plausible: bool = True

    @property
    def cut(self) -> bool:
        """Whether the end of the region cut this value short."""
        return bool(self.cut_values)

    def is_cut(self, container: Any) -> bool:
        """Whether `container` (part of `value`) was still open at the end."""
        return any(container is other for other in self.cut_values)


class _Frame:
    __slots__ = ("is_object", "items", "key", "state", "loose")

    def __init__(self, is_object: bool) -> None:
        self.is_object = is_object
        self.items: Any = {} if is_object else []
        self.key: Any = None
        self.state = _EXPECT_KEY
        self.loose: List[Any] = []  # what an object got without a key

    def put(self, value: Any, key_text: Optional[str]) -> Optional[Hashable]:
        """Store a value (or, in key position, a key); return its slot."""
        if not self.is_object:
            self.items.append(value)
            return len(self.items) - 1
        if self.state in (_AFTER_KEY, _EXPECT_VALUE):
            self.items[self.key] = value
            self.state = _AFTER_VALUE
            return self.key
        if key_text is None:
            self.loose.append(value)
        else:
            self.key, self.state = key_text, _AFTER_KEY
        return None

    def comma(self) -> None:
        if self.state == _AFTER_KEY:
            self.loose.append(self.key)  # {"a", "b"} is a set of strings
        self.state = _EXPECT_KEY

    def colon(self) -> bool:
        if self.state != _AFTER_KEY:
            return False
        self.state = _EXPECT_VALUE
        return True

    def finish(self, at_end: bool) -> Any:
        if not self.is_object:
            return self.items
        if self.state == _AFTER_KEY and not at_end:
            self.loose.append(self.key)
        # An object of keyless values only ({"a", "b"}, {{...}, {...}}) was meant as a list.
        return list(self.loose) if not self.items and self.loose else self.items


def load(text: str, start: int, stop: int) -> Loaded:
    """Read the object or array opening at `text[start]`, not past `stop`.

    Raises:
        TooDeep: when the value nests deeper than `MAX_DEPTH`.
    """
    stack = [_Frame(text[start] == "{")]
    objects = int(stack[0].is_object)
    pos = start + 1
    result: Any = None
    cut_slot = None
    evidence = words = 0  # quoted strings, numbers, literals and key: value pairs vs bare words
    step = STEP.match
    while stack:
        match = step(text, pos, stop)
        kind = match.lastindex  # PUNCT, QUOTE, NUMBER, WORD or OTHER; None at the end
        if kind is None:
            break  # only space and comments are left
        pos = match.end()
        top = stack[-1]
        if kind == PUNCT:
            char = text[pos - 1]
            if char == ",":
                if top.is_object:
                    top.comma()
            elif char == ":":
                if top.is_object:
                    evidence += top.colon()
            elif char == "{" or char == "[":
                if len(stack) >= MAX_DEPTH:
                    raise TooDeep(pos - 1)
                stack.append(_Frame(char == "{"))
                objects += char == "{"
            else:
                want_object = char == "}"
                if (objects if want_object else len(stack) - objects) == 0:
                    continue  # a stray closer with nothing to close
                while True:  # close inner containers a mismatched closer skipped over
                    frame = stack.pop()
                    objects -= frame.is_object
                    value = frame.finish(at_end=False)
                    if not stack:
                        result = value
                        break
                    stack[-1].put(value, None)
                    if frame.is_object == want_object:
                        break
            continue
        if kind == QUOTE:
            value, pos, cut = read_string(text, pos - 1, stop)
            key_text = value
            evidence += 1
        elif kind == NUMBER:
            key_text = match.group(kind)
            value, cut = number_value(key_text), pos >= stop
            evidence += 1
        else:
            key_text = match.group(kind).strip()
            cut = pos >= stop
            value, is_data = word_value(key_text, cut)
            evidence += is_data
            words += not is_data
        if top.is_object:
            slot = top.put(value, key_text)
        else:
            top.items.append(value)
            slot = len(top.items) - 1
        if cut and slot is not None:
            cut_slot = (id(top.items), slot)
    cut_values = []
    while stack:  # the region ended inside the value: close what is open
        frame = stack.pop()
        value = frame.finish(at_end=True)
        cut_values.append(value)
        if stack:
            stack[-1].put(value, None)
        else:
            result = value
    plausible = evidence > 0 or words == 0
    return Loaded(result, start, pos, tuple(cut_values), cut_slot, plausible)
