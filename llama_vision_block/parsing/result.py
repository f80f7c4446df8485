"""The outcome of parsing one model reply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Optional, TypeVar

T = TypeVar("T")


class ReplyParseError(ValueError):
    """The reply holds no usable JSON; the message says why, in one line."""


class DifferentAnswers(ReplyParseError):
    """The reply gives more than one answer and says none of them is a correction."""


@dataclass(frozen=True)
class Parsed(Generic[T]):
    """A parsed value, or the one-line reason there is none.

    Attributes:
        value: The parsed value; `None` when parsing failed.
        error: `""` on success, otherwise a one-line human-readable reason.
        warning: `""`, or what is wrong with a value that is still given (an
            entry that could not be read beside those that could): the image
            keeps the value and is flagged.
    """

    value: Optional[T]
    error: str = ""
    warning: str = ""

    @property
    def ok(self) -> bool:
        """Whether the reply was parsed."""
        return not self.error and self.value is not None


def failed(error: str) -> Parsed:
    """A failed `Parsed` with `error` squeezed onto one line."""
    return Parsed(value=None, error=" ".join(error.split()) or "could not parse the reply")
