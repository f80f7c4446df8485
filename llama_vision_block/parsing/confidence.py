"""Confidences as the model writes them (0.9, "90%", 90, 1.02), read onto 0-1.

The scale is read from the whole answer, not one number at a time: a reply
whose confidences are all above 1 (and at most 100, one at least 2) wrote
percentages, so its 1.5 is 1.5 %; in a reply on the 0-1 scale a lone value
slightly above 1 is a model overshooting 1, capped, never read as 1.5 %.
NaN and infinity say nothing: the entry that carries one is an error.
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterable, Optional, Tuple

from llama_vision_block.parsing.coercion import NUMERIC

DEFAULT_CONFIDENCE = 1.0
# Below this, a number above 1 is an overshoot of 1 unless the answer is in percent.
PERCENT_FLOOR = 2.0
PERCENT_CEILING = 100.0

_NOT_FINITE = re.compile(r"\s*[-+]?(?:nan|inf|infinity)\s*", re.IGNORECASE)


def not_finite(value: Any) -> bool:
    """Whether `value` is NaN or an infinity, as a number or spelled out."""
    if isinstance(value, float):
        return not math.isfinite(value)
    return isinstance(value, str) and _NOT_FINITE.fullmatch(value) is not None


def percent_scale(values: Iterable[Any]) -> bool:
    """Whether an answer whose confidences are `values` wrote them in percent:
    every readable one above 1 and at most 100, and one at least 2."""
    numbers = [number for number, _ in map(_read, values) if number is not None and math.isfinite(number)]
    return (
        bool(numbers)
        and all(1.0 < number <= PERCENT_CEILING for number in numbers)
        and max(numbers) >= PERCENT_FLOOR
    )


def to_confidence(value: Any, default: float = DEFAULT_CONFIDENCE, percent: bool = False) -> float:
    """A confidence in [0, 1] from 0.9, "0.9", "90%" or 90; `default` if unreadable.

    "%" always means percent, and so does every number when `percent` (the
    answer's scale, `percent_scale`). Otherwise a number from 2 to 100 is a
    percentage and one between 1 and 2 is capped at 1. The result is clamped.
    Callers check `not_finite` first: NaN here is unreadable.
    """
    number, marked = _read(value)
    if number is None or math.isnan(number):
        return default
    if marked or percent or PERCENT_FLOOR <= number <= PERCENT_CEILING:
        number /= 100.0
    return min(max(number, 0.0), 1.0)


def _read(value: Any) -> Tuple[Optional[float], bool]:
    """`(number, written with %)`, or `(None, False)` when `value` is not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None, False
    if not isinstance(value, str):
        return float(value), False
    match = NUMERIC.fullmatch(value)
    if match is None or (match.group(2) or "").lower() == "px":
        return None, False
    return float(match.group(1)), match.group(2) == "%"
