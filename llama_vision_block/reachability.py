"""A dead endpoint costs one attempt per step, not one per image.

When no connection can be made to a provider's endpoint at all (refused, no
such host, no answer to connect), every image would fail the same way after its
own retries and time-outs. So before a step asks an endpoint this process has not
reached yet, one image checks that a connection can be made (a TCP connect: a
moment, for a live server) while the others wait; then they all go ahead at full
concurrency. When it cannot, that image asks with its retries, and if it still
cannot connect, the step's other images fail at once with its message. An
endpoint found unreachable is remembered for the whole process (`UNREACHABLE`):
the next step that uses it tries it once, without retries, before failing its
other images the same way; an answer clears the record. A live server's
transient faults (429, 5xx, a dropped connection) keep their retries.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Callable, Dict, Optional, Tuple, TypeVar

from llama_vision_block.errors import NotAttempted, ProviderError, UnreachableError
from llama_vision_block.providers.remote.transport import can_connect
from llama_vision_block.retries import RetryPolicy

T = TypeVar("T")
# Sends one image's request under a retry policy.
Ask = Callable[[RetryPolicy], T]


class Reachability:
    """What this process knows of its endpoints: those it reached, those it could not.

    At most `limit` of each are remembered, the oldest forgotten first, so callers
    naming endpoint after endpoint on a shared server cannot grow it without bound
    (a forgotten endpoint is simply checked again)."""

    def __init__(self, limit: int = 1024) -> None:
        self._lock = threading.Lock()
        self._limit = limit
        self._reached: Dict[str, None] = {}  # insertion-ordered sets
        self._unreachable: Dict[str, None] = {}

    def reached(self, endpoint: str) -> bool:
        with self._lock:
            return endpoint in self._reached

    def unreachable(self, endpoint: str) -> bool:
        with self._lock:
            return endpoint in self._unreachable

    def record(self, endpoint: str, reached: bool) -> None:
        with self._lock:
            known, other = (self._reached, self._unreachable) if reached else (self._unreachable, self._reached)
            other.pop(endpoint, None)
            known.pop(endpoint, None)
            known[endpoint] = None
            while len(known) > self._limit:
                del known[next(iter(known))]


UNREACHABLE = Reachability()


class StepGate:
    """One step's access to its endpoint (`None`: in process, nothing to reach)."""

    def __init__(
        self,
        endpoint: Optional[str],
        connect_timeout_s: float = 10.0,
        record: Reachability = UNREACHABLE,
        can_connect: Callable[[str, float], bool] = can_connect,
    ) -> None:
        self.endpoint = endpoint
        self._timeout_s = connect_timeout_s
        self._record = record
        self._can_connect = can_connect
        self._first = threading.Lock()
        self._open = endpoint is None or record.reached(endpoint)
        self._dead: Optional[Tuple[UnreachableError, str]] = None  # the error, and the image that met it

    def ask(self, image: str, ask: Ask[T], policy: RetryPolicy) -> T:
        """`ask(policy)` for the image called `image`, or, once an image of this
        step found the endpoint unreachable, that error without asking."""
        if not self._open:
            with self._first:  # one image finds out whether the endpoint can be reached
                if not self._open and self._dead is None:
                    known_dead = self._record.unreachable(self.endpoint)
                    if not known_dead and self._can_connect(self.endpoint, self._timeout_s):
                        self._mark_reached()
                    else:
                        # An endpoint this process could not reach gets one try, not a round of retries.
                        return self._asked(image, ask, replace(policy, max_retries=0) if known_dead else policy)
        if self._dead is not None:
            error, found_by = self._dead
            raise error.not_attempted(found_by)
        return self._asked(image, ask, policy)

    def _asked(self, image: str, ask: Ask[T], policy: RetryPolicy) -> T:
        try:
            result = ask(policy)
        except UnreachableError as error:
            self._record.record(error.endpoint, reached=False)
            if self._dead is None:
                self._dead = (error, image)
            raise
        except ProviderError:
            self._mark_reached()  # it answered, with an error of its own
            raise
        self._mark_reached()
        return result

    def _mark_reached(self) -> None:
        self._open = True
        if self.endpoint is not None:
            self._record.record(self.endpoint, reached=True)


__all__ = ["NotAttempted", "Reachability", "StepGate", "UNREACHABLE"]
