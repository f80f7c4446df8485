"""Running one call per image on a bounded number of threads."""

from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, List, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_concurrently(
    function: Callable[[T], R], items: Sequence[T], max_workers: int
) -> List[R]:
    """Applies `function` to every item, at most `max_workers` at a time.

    Results come back in the order of `items`. Each call runs in a copy of the
    caller's context, so context variables (profiling, request ids) carry over.
    """
    if max_workers < 1:
        raise ValueError(f"max_workers must be at least 1; got {max_workers}.")
    if len(items) <= 1 or max_workers == 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(max_workers, len(items))) as pool:
        futures = [
            pool.submit(contextvars.copy_context().run, function, item) for item in items
        ]
        return [future.result() for future in futures]
