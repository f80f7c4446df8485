"""One admission gate per provider endpoint, shared by every step in the process.

Hosted providers limit how many requests an account may have in flight or send per
minute, and answer the rest with 429 (or 503) and `Retry-After`. Steps that each
retried on their own schedule kept colliding with each other's requests and lost
images once their retries ran out. Every request to a remote endpoint (provider,
base URL, key) now passes its gate:

- the gate's window (requests in flight) starts at the first step's
  `max_concurrent_requests` and grows by one per answer, never above what the
  steps using it asked for together, nor the operator's stated limit;
- when the provider says it is over its limit, the window halves, and the gate
  remembers how many other requests it had in flight then (what the provider
  took): it grows back to that level within a round trip, holds there
  (`HOLD_S`, doubled each time a probe above it is refused, up to `MAX_HOLD_S`),
  then probes above it by about one per window of answers. A provider that
  refuses at a fixed level is so asked past it rarely, not on every round trip
  (each refusal can pause the endpoint for a whole `Retry-After`), and the next
  burst of steps starts at that level, until `FORGET_S` pass without a refusal;
- a `Retry-After` pauses the whole endpoint, every step's requests, until then; a
  refusal without one pauses it for a short backoff that doubles while refusals
  follow each other, so nothing hammers a provider that gives no hint;
- requests are admitted in arrival order, whichever step sent them;
- a request turned away with 429 (the provider is up and says "later"), or with
  503 while other requests to it were in flight, waits its turn again without
  spending the image's retries, until the image's time bound; then it fails with
  a message that names the provider's limit. A 503 to a request alone is a fault
  like any other and spends a retry (a provider that is down must not be asked
  again and again until the time bound).

The in-process backend has no endpoint and no gate: its batcher is its gate.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from functools import lru_cache
from contextlib import contextmanager
from typing import Callable, Deque, Dict, Iterator, Optional, Tuple, TypeVar

from llama_vision_block.errors import ConfigurationError, LimitWaitExpired, ProviderError
from llama_vision_block.providers.registry import PROVIDERS
from llama_vision_block.providers.spec import ProviderSpec

T = TypeVar("T")
LIMITS_ENV = "LLAMA_VISION_PROVIDER_LIMITS"
OVERLOAD_STATUSES = frozenset({429, 503})
HOLD_S = 20.0  # how long the window stays at the level the provider last took
# The longest hold: a level learned while another server held the provider must
# not outlive that server by much.
MAX_HOLD_S = 8 * HOLD_S
FORGET_S = 600.0  # how long that level is remembered without another refusal
BACKOFF_S = (0.25, 8.0)  # the pause after a refusal that named no Retry-After: first, most


@dataclass(frozen=True)
class Limits:
    """What the operator knows of a provider's limit; the gate never exceeds it."""

    concurrent: Optional[int] = None
    per_minute: Optional[int] = None


def is_overload(error: ProviderError) -> bool:
    """Whether the provider turned the request away for its limit (not a fault)."""
    return error.retryable and error.status_code in OVERLOAD_STATUSES


@dataclass(frozen=True)
class Ticket:
    """One admitted request: when, and how many requests the gate had admitted by then."""

    started: float
    number: int  # its place among all admissions
    others: int  # other requests in flight when it was admitted


class EndpointGate:
    """Admission to one endpoint: an adaptive window, a pause, a first-come queue."""

    def __init__(self, provider: str, limits: Limits = Limits(), clock: Callable[[], float] = time.monotonic) -> None:
        self.provider = provider  # as messages name it
        self._limits = limits
        self._clock = clock
        self._changed = threading.Condition()
        self._asked: Dict[int, int] = {}  # step id -> its max_concurrent_requests
        self._window = 0.0
        self._in_flight = 0
        self._paused_until = -math.inf
        self._queue: Deque[object] = deque()
        self._starts: Deque[float] = deque()  # admission times in the last minute
        self._last_cut = -math.inf
        self._safe = math.inf  # the requests the provider took when it last refused one more
        self._hold = HOLD_S  # how long to stay at that level before probing above it
        self._refused_rounds = 0  # round trips in a row that ended in a refusal
        self._admitted = 0

    # --- what the tests and the benchmark read ---
    @property
    def window(self) -> float:
        return self._window

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def waiting(self) -> int:
        """Requests queued for their turn."""
        with self._changed:
            return len(self._queue)

    @property
    def idle(self) -> bool:
        """No step uses it and no request is in flight: it may be forgotten."""
        with self._changed:
            return not self._asked and self._in_flight == 0

    @contextmanager
    def step(self, asked: int) -> Iterator[None]:
        """A step using the endpoint with up to `asked` requests at once."""
        token = object()  # alive until the step ends, so its id is its own
        key = id(token)
        with self._changed:
            self._asked[key] = asked
            if self._window == 0.0:  # what the gate learned of the provider outlives a burst
                if self._clock() - self._last_cut > FORGET_S:
                    self._safe = math.inf
                self._window = float(min(asked, self._ceiling(), self._safe))
        try:
            yield
        finally:
            with self._changed:
                del self._asked[key]
                self._window = min(self._window, float(self._ceiling())) if self._asked else 0.0
                self._changed.notify_all()

    def _ceiling(self) -> int:
        total = sum(self._asked.values()) or 1
        return min(total, self._limits.concurrent) if self._limits.concurrent else total

    def acquire(self, deadline: float) -> Ticket:
        """Waits for this request's turn. Raises TimeoutError when `deadline` (the
        clock's time) passes first, or at once when the endpoint is paused past it."""
        me = object()
        with self._changed:
            self._queue.append(me)
            try:
                while True:
                    now = self._clock()
                    wait = self._wait(me, now)
                    if wait == 0.0:
                        self._queue.popleft()
                        self._admitted += 1
                        ticket = Ticket(now, self._admitted, self._in_flight)
                        self._in_flight += 1
                        self._starts.append(now)
                        self._changed.notify_all()  # the next in line may go too
                        return ticket
                    if now >= deadline or self._paused_until >= deadline:
                        raise TimeoutError
                    self._changed.wait(min(wait, deadline - now))
            except BaseException:
                if me in self._queue:
                    self._queue.remove(me)
                    self._changed.notify_all()
                raise

    def _wait(self, me: object, now: float) -> float:
        """0 when `me` may go now, else how long before it might (inf: until told)."""
        if self._queue[0] is not me:
            return math.inf
        if now < self._paused_until:
            return self._paused_until - now
        if self._in_flight >= max(1, int(self._window or 1)):
            return math.inf
        while self._starts and self._starts[0] <= now - 60.0:
            self._starts.popleft()
        if self._limits.per_minute and len(self._starts) >= self._limits.per_minute:
            return self._starts[0] + 60.0 - now
        return 0.0

    def release(
        self, ticket: Ticket, overloaded: bool = False, retry_after: Optional[float] = None, answered: bool = True
    ) -> bool:
        """One admitted request ended: answered, failed, or turned away for the limit;
        only an answer grows the window. Returns whether other requests were in
        flight at any time during its own."""
        with self._changed:
            now = self._clock()
            self._in_flight -= 1
            shared = bool(ticket.others or self._in_flight or self._admitted > ticket.number)
            if overloaded:
                self._refused(ticket, now, retry_after)
            elif answered and self._window:
                self._refused_rounds = 0
                self._window = min(float(self._ceiling()), self._window + self._growth(now))
            self._changed.notify_all()
            return shared

    def _refused(self, ticket: Ticket, now: float, retry_after: Optional[float]) -> None:
        # The others still in flight when the refusal came back: what the provider took
        # (counted now, as requests may reach it in another order than they were admitted).
        refused_at = self._in_flight
        if ticket.started > self._last_cut:  # one cut per round trip, not one per refusal
            # Refused again at or above the level it took before: its limit has not moved,
            # so the next probe waits twice as long.
            probe_refused = refused_at >= self._safe < math.inf
            self._hold = min(MAX_HOLD_S, self._hold * 2) if probe_refused else HOLD_S
            self._window = max(1.0, self._window / 2)
            self._last_cut = now
            self._safe = max(1, refused_at)
            self._refused_rounds += 1
            if retry_after is None:
                low, high = BACKOFF_S
                retry_after = min(high, low * 2 ** (self._refused_rounds - 1))
        else:
            self._safe = max(1, min(self._safe, refused_at))
        self._window = min(self._window, float(self._safe))  # never more than it took
        if retry_after is not None:
            self._paused_until = max(self._paused_until, now + retry_after)

    def _growth(self, now: float) -> float:
        """How much one answer grows the window."""
        if self._window < self._safe:  # back to the level it took (or, never refused, up to the ceiling)
            return min(1.0, self._safe - self._window)
        if now - self._last_cut < self._hold:
            return 0.0  # it refused more than this lately: hold
        return 1.0 / self._window  # probe: about one more per window of answers

    def call(self, send: Callable[[], T], deadline: float) -> T:
        """`send()` once admitted; a 429, or a 503 amid other requests, waits its turn
        again (no retry spent) until `deadline`, when LimitWaitExpired says why."""
        last: Optional[ProviderError] = None
        while True:
            try:
                ticket = self.acquire(deadline)
            except TimeoutError:
                raise _expired(self.provider, last) from None
            try:
                result = send()
            except ProviderError as error:
                overloaded = is_overload(error)
                shared = self.release(ticket, overloaded, error.retry_after if overloaded else None, answered=False)
                if not (overloaded and (shared or error.status_code == 429)):
                    raise
                last = error
                continue
            except BaseException:
                self.release(ticket, answered=False)
                raise
            self.release(ticket)
            return result


def _expired(provider: str, last: Optional[ProviderError]) -> LimitWaitExpired:
    said = f" (its last answer: {last.provider_message})" if last is not None else ""
    return LimitWaitExpired(
        provider,
        "not sent within this image's time bound: the provider's rate or concurrency limit"
        f" kept it waiting{said}. Lower max_concurrent_requests, run fewer workflows at once,"
        f" or raise the limit with the provider (an operator can state it in ${LIMITS_ENV}).",
        last.status_code if last is not None else None,
    )


class Gates:
    """The process's gates by endpoint, at most `limit` kept (idle ones forgotten first)."""

    def __init__(self, limit: int = 256) -> None:
        self._lock = threading.Lock()
        self._limit = limit
        self._gates: "OrderedDict[Tuple[str, str, str], EndpointGate]" = OrderedDict()

    def for_endpoint(self, spec: ProviderSpec, endpoint: str, api_key: Optional[str]) -> EndpointGate:
        """The gate of `spec`'s provider at `endpoint` for the account `api_key` names."""
        # The key tells accounts apart; only a digest of it is kept.
        account = hashlib.sha256((api_key or "").encode()).hexdigest()[:16]
        key = (spec.id, endpoint, account)
        with self._lock:
            gate = self._gates.get(key)
            if gate is None:
                gate = self._gates[key] = EndpointGate(spec.name, operator_limits().get(spec.id, Limits()))
            self._gates.move_to_end(key)
            surplus = len(self._gates) - self._limit
            # The gate just asked for is idle until its step starts: never the one forgotten.
            for old in [k for k, g in self._gates.items() if k != key and g.idle][: max(0, surplus)]:
                del self._gates[old]
            return gate


@lru_cache(maxsize=1)
def operator_limits() -> Dict[str, Limits]:
    """`$LLAMA_VISION_PROVIDER_LIMITS`, read once: a JSON object of provider id ->
    {"concurrent": N, "per_minute": N}."""
    raw = os.environ.get(LIMITS_ENV, "").strip()
    if not raw:
        return {}
    example = '{"cloudflare": {"concurrent": 4, "per_minute": 300}}'
    try:
        stated = json.loads(raw)
    except json.JSONDecodeError:
        raise ConfigurationError(f"${LIMITS_ENV} must be a JSON object such as {example}.") from None
    if not isinstance(stated, dict):
        raise ConfigurationError(f"${LIMITS_ENV} must be a JSON object such as {example}.")
    limits = {}
    for provider, values in stated.items():
        if provider not in PROVIDERS:
            raise ConfigurationError(f"${LIMITS_ENV} names no provider '{provider}'; use one of: {', '.join(PROVIDERS)}.")
        if not isinstance(values, dict) or set(values) - {"concurrent", "per_minute"} or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in values.values()
        ):
            raise ConfigurationError(
                f"${LIMITS_ENV}: the limit of '{provider}' must hold whole numbers of at least 1 "
                f"under \"concurrent\" and/or \"per_minute\", as in {example}."
            )
        limits[provider] = Limits(**values)
    return limits


GATES = Gates()
