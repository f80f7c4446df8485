"""Turn loosely typed model output into numbers, keys and classes."""

from __future__ import annotations

import math
import re
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

CLASS_KEYS = (
    "classname", "class", "label", "category", "name", "predictedclass", "predictedlabel", "object",
)
CONFIDENCE_KEYS = (
    "confidence", "score", "probability", "prob", "certainty", "conf", "likelihood",
    "confidencelevel", "confidencescore",
)
BOX_KEYS = (
    "box", "bbox", "boundingbox", "xyxy", "box2d", "bbox2d", "coordinates", "coords", "rect",
    "bndbox",
)

# A number as a model writes one in text: " 12px", "0.5", "90%".
# A remark in brackets after it ("0.9 (the beak is visible)") is not part of it.
NUMERIC = re.compile(
    r"\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*(%|px)?\s*(?:\([^()]*\)\s*)?",
    re.IGNORECASE,
)
_KEY_NOISE = re.compile(r"[\s_\-]+")
_CLASS_NOISE = re.compile(r"[\s_\-]+")
# Quotes, backticks and emphasis models wrap a name in, and punctuation they end it with.
_NAME_QUOTES = " \t\r\n\"'`*\u201c\u201d\u2018\u2019"
_NAME_ENDINGS = _NAME_QUOTES + ".,;:!?"
_PRESENCE = {"true": True, "yes": True, "false": False, "no": False}


def to_number(value: Any) -> Optional[float]:
    """A finite float from a number or a numeric string ("0.5", " 12px"), else `None`."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        match = NUMERIC.fullmatch(value)
        if match is None or (match.group(2) or "").lower() == "%":
            return None
        number = float(match.group(1))
    else:
        return None
    return number if math.isfinite(number) else None


def to_presence(value: Any) -> Optional[bool]:
    """Whether a class is said to be present: `true`/`false` or "yes"/"no" (any
    case), else `None`."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _PRESENCE.get(value.strip().casefold())
    return None


def normalize_key(key: Any) -> str:
    """A key compared case-insensitively, ignoring spaces, dashes and underscores."""
    return _KEY_NOISE.sub("", str(key).casefold())


def field_key(mapping: Mapping[str, Any], names: Sequence[str]) -> Optional[str]:
    """The key of `mapping` that is the first of `names` (normalised keys), or `None`."""
    index: Dict[str, str] = {}
    for key in mapping:
        index.setdefault(normalize_key(key), key)
    for name in names:
        if name in index:
            return index[name]
    return None


def normalize_class(name: str) -> str:
    """A class name compared case-insensitively, with `_`, `-` and runs of space as one space."""
    return " ".join(_CLASS_NOISE.sub(" ", name.casefold()).split())


def unwrap_name(name: str) -> str:
    """`name` without the quotes, backticks or emphasis around it and the
    punctuation after it (`"'Dog'"`, `Dog.`, `**dog**` all give `Dog`/`dog`)."""
    return name.lstrip(_NAME_QUOTES).rstrip(_NAME_ENDINGS)


class ClassMatcher:
    """Maps the model's class names onto the given classes."""

    def __init__(self, classes: Sequence[str]) -> None:
        self.classes = [str(name) for name in classes]
        # Same as inference's class index: on duplicate names the last id wins.
        self._exact = {name: index for index, name in enumerate(self.classes)}
        self._normal: Dict[str, int] = {}
        for index, name in enumerate(self.classes):
            self._normal.setdefault(normalize_class(name), index)

    def match(self, name: Any) -> Tuple[str, int]:
        """`(class name, class id)`: a given class when the name is one, up to
        case, spacing, a plural "s"/"es", or quotes and punctuation around it;
        otherwise the name as written and -1."""
        raw = name.strip() if isinstance(name, str) else _plain(name)
        if raw in self._exact:
            return raw, self._exact[raw]
        for candidate in dict.fromkeys((raw, unwrap_name(raw))):
            index = self._index(normalize_class(candidate))
            if index is not None:
                return self.classes[index], self._exact[self.classes[index]]
        return raw, -1

    def _index(self, normal: str) -> Optional[int]:
        index = self._normal.get(normal)
        return self._plural(normal) if index is None else index

    def _plural(self, normal: str) -> Optional[int]:
        forms = {normal + "s", normal + "es"}
        if normal.endswith("es"):
            forms.add(normal[:-2])
        if normal.endswith("s"):
            forms.add(normal[:-1])
        hits = {self._normal[form] for form in forms if form and form in self._normal}
        return hits.pop() if len(hits) == 1 else None


def _plain(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
