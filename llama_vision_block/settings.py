"""Operator settings that are numbers, read from the environment when used."""

from __future__ import annotations

import os

from llama_vision_block.errors import ConfigurationError


def int_setting(name: str, default: int, minimum: int = 1) -> int:
    """The whole number in `$name`, or `default` when it is unset or empty."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < minimum:
        raise ConfigurationError(f"${name} must be a whole number of at least {minimum}; got {raw!r}.")
    return int(raw)
