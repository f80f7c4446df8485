"""The sampling parameters of the seed API and the ranges it allows.

One home for the ranges: the manifest checks literal values when the workflow
compiles, and `check_sampling_value` checks values that arrive through
selectors when the step runs.
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple, Union

from llama_vision_block.errors import ConfigurationError

Number = Union[int, float]

# The most tokens a step may ask for: bounds what one caller can make a shared
# server (or the local GPU) generate, far above any answer the tasks ask for (a
# dense page of OCR is a few thousand tokens).
MAX_TOKENS_LIMIT = 8192

# name -> (minimum, maximum), inclusive; from the Workers AI schema of the model,
# except temperature, which keeps the seed block's 0.0-2.0.
SAMPLING_RANGES: Dict[str, Tuple[Number, Number]] = {
    "temperature": (0.0, 2.0),
    "top_p": (0.0, 2.0),
    "top_k": (1, 50),
    "seed": (1, 9_999_999_999),
    "repetition_penalty": (0.0, 2.0),
    "frequency_penalty": (0.0, 2.0),
    "presence_penalty": (0.0, 2.0),
}
INTEGER_PARAMETERS = frozenset({"top_k", "seed"})


def check_sampling_value(name: str, value: Optional[Number]) -> Optional[Number]:
    """Returns `value` when it is inside the range of `name` (or None); raises otherwise."""
    if value is None:
        return None
    low, high = SAMPLING_RANGES[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(f"`{name}` must be a number; got {value!r}.")
    if name in INTEGER_PARAMETERS and value != int(value):
        raise ConfigurationError(f"`{name}` must be a whole number; got {value!r}.")
    if not low <= value <= high:
        raise ConfigurationError(f"`{name}` must be in the range {low}-{high}; got {value}.")
    return int(value) if name in INTEGER_PARAMETERS else value
