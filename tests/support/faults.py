"""Transient faults a flaky provider produces, injected in front of any responder."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Dict, Hashable

from support.loopback import DROP_CONNECTION, RecordedRequest, Reply, Responder

PROXY_PAGE = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"

# name -> what the server does instead of answering
FAULTS: Dict[str, Callable[[], Reply]] = {
    "rate_limited": lambda: (429, {"error": {"message": "Rate limit exceeded", "code": 429}}, {"Retry-After": "0"}),
    "server_error": lambda: (500, {"error": {"message": "Internal Server Error", "code": 500}}),
    "overloaded": lambda: (503, {"error": {"message": "Service Unavailable", "code": 503}}, {"Retry-After": "0"}),
    "proxy_page": lambda: (502, PROXY_PAGE),
    "request_timeout": lambda: (408, {"error": {"message": "Request Timeout", "code": 408}}),
    "dropped": lambda: DROP_CONNECTION,
}


@dataclass
class FaultInjector:
    """Fails the first `failures(key)` attempts of each request key, then answers.

    The key identifies the image (for example its size), so a test decides up
    front how often each image fails: no randomness, no flaky test.
    """

    responder: Responder
    key: Callable[[RecordedRequest], Hashable]
    failures: Callable[[Hashable], int]
    fault_names: tuple = tuple(FAULTS)
    delay_s: float = 0.0
    attempts: Counter = field(default_factory=Counter)
    answered: Counter = field(default_factory=Counter)
    faults_sent: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: RecordedRequest) -> Reply:
        key = self.key(request)
        with self._lock:
            attempt = self.attempts[key]
            self.attempts[key] += 1
            failing = attempt < self.failures(key)
            if failing:
                self.faults_sent += 1
            else:
                self.answered[key] += 1
        if self.delay_s:
            time.sleep(self.delay_s)
        if failing:
            name = self.fault_names[(hash(key) + attempt) % len(self.fault_names)]
            return FAULTS[name]()
        return self.responder(request)


@dataclass
class ConcurrencyLimited:
    """A provider that serves `limit` requests at a time, each taking `delay_s`, and
    turns the rest away with 429 and `Retry-After`, as hosted providers limit an account."""

    responder: Responder
    limit: int
    delay_s: float = 0.05
    retry_after: str = "0"
    served: int = 0
    rejected: int = 0
    peak: int = 0  # the most requests it was serving at once
    _serving: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: RecordedRequest) -> Reply:
        with self._lock:
            if self._serving >= self.limit:
                self.rejected += 1
                return 429, {"error": {"message": "Too many requests in flight", "code": 429}}, {"Retry-After": self.retry_after}
            self._serving += 1
            self.peak = max(self.peak, self._serving)
        try:
            time.sleep(self.delay_s)
            return self.responder(request)
        finally:
            with self._lock:
                self._serving -= 1
                self.served += 1
