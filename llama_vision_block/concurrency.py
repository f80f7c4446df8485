"""Running one call per image on a bounded number of threads."""

from __future__ import annotations

import contextlib
import contextvars
import os
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import Callable, Iterator, List, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_concurrently(
    function: Callable[[T], R], items: Sequence[T], max_workers: int
) -> List[R]:
    """Applies `function` to every item, at most `max_workers` at a time.

    Results come back in the order of `items`. The first exception stops the
    work: no call starts after it, and it is raised. Each call runs in a copy
    of the caller's context, so context variables (profiling, request ids)
    carry over.
    """
    if max_workers < 1:
        raise ValueError(f"max_workers must be at least 1; got {max_workers}.")
    if len(items) <= 1 or max_workers == 1:
        return [function(item) for item in items]
    failures: List[BaseException] = []

    def call(item: T) -> R:
        # Checked by the workers themselves: a worker freed by a failure would
        # otherwise start the next call before this thread wakes to cancel them.
        if failures:
            raise _Stopped()
        try:
            return function(item)
        except BaseException as error:
            failures.append(error)
            raise

    pool = ThreadPoolExecutor(max_workers=min(max_workers, len(items)))
    futures = [pool.submit(contextvars.copy_context().run, call, item) for item in items]
    wait(futures, return_when=FIRST_EXCEPTION)
    if failures:  # recorded before any future holds an exception
        # Return at once: calls in flight finish in the background, unread.
        pool.shutdown(wait=False, cancel_futures=True)
        raise failures[0]
    pool.shutdown(wait=True)
    return [future.result() for future in futures]


class _Stopped(Exception):
    """A call skipped because an earlier one failed; never leaves this module."""


@contextlib.contextmanager
def prefetched(function: Callable[[T], R], items: Sequence[T]) -> Iterator[List["Future[R]"]]:
    """Starts `function` on every item, in order, on one thread per CPU core.

    Yields the futures at once, so consumers can start on the first item while
    later ones are still being computed. Work not yet started when the block
    exits is cancelled.
    """
    pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 2)
    try:
        yield [pool.submit(contextvars.copy_context().run, function, item) for item in items]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
