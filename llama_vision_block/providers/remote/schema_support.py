"""Asking a server for an answer constrained to a JSON schema, and what to do
when it refuses the field.

A server that refuses it (a 400 or 422 answer: llama.cpp, older vLLM builds, a
proxy that checks fields) is asked again without it, once; if that answer comes
back, the server is remembered as refusing for the rest of the process, per
(provider, address, model), and that is logged once. Under "required" nothing is
sent without the schema: the step stops instead, since every image would fail
the same way.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Callable, Hashable, Optional

from llama_vision_block.errors import ProviderError, StepProviderError
from llama_vision_block.providers.base import Reply
from llama_vision_block.schemas import ResponseSchema

logger = logging.getLogger(__name__)

# Statuses with which a server says it does not take a field of the request.
REFUSAL_STATUSES = frozenset({400, 422})
# Bounds what callers who name many servers can make the process remember.
MAX_REMEMBERED = 1024


class SchemaRefusals:
    """The servers that refused a JSON schema, oldest forgotten first past the bound."""

    def __init__(self, max_entries: int = MAX_REMEMBERED) -> None:
        self._max = max_entries
        self._lock = threading.Lock()
        self._refused: "OrderedDict[Hashable, None]" = OrderedDict()

    def __contains__(self, server: Hashable) -> bool:
        with self._lock:
            return server in self._refused

    def add(self, server: Hashable) -> bool:
        """Remembers `server`; True the first time (when it is worth a log line)."""
        with self._lock:
            if server in self._refused:
                return False
            self._refused[server] = None
            while len(self._refused) > self._max:
                self._refused.popitem(last=False)
            return True


REFUSALS = SchemaRefusals()


def send_constrained(
    send: Callable[[Optional[ResponseSchema]], Reply],
    constraint: Optional[ResponseSchema],
    server: Hashable,
    provider: str,
    refuses: Callable[[ProviderError], bool] = lambda error: error.status_code in REFUSAL_STATUSES,
    per_request: Callable[[ProviderError], bool] = lambda error: False,
) -> Reply:
    """`send(constraint)`, falling back to `send(None)` where the server refuses the
    schema and the step allows it. `refuses` tells an error that may be the
    server refusing the field; `per_request` one that refuses this request only
    (Workers AI's "JSON Mode couldn't be met"), which is not remembered."""
    if constraint is None:
        return send(None)
    if server in REFUSALS:
        if constraint.required:
            raise StepProviderError(provider, _refused("earlier in this process"))
        return send(None)
    try:
        return send(constraint)
    except ProviderError as error:
        this_request_only = per_request(error)
        if not this_request_only and not refuses(error):
            raise
        if constraint.required:
            if this_request_only:
                raise
            how = f"with HTTP {error.status_code}: {error.provider_message}"
            raise StepProviderError(provider, _refused(how)) from None
        status = error.status_code
    reply = send(None)  # if this fails too, the schema was not the cause
    if not this_request_only and REFUSALS.add(server):
        logger.warning(
            "%s refused the JSON schema (response_format) with HTTP %s; this model's "
            "answers there are asked for without it, and read leniently, from now on.",
            provider, status,
        )
    return reply


def _refused(how: str) -> str:
    return (
        f"it refused the JSON schema (response_format) {how}, so answers cannot be "
        "constrained to the task's schema. Set `constrained_decoding` to 'auto' (ask "
        "without it and read answers leniently) or 'off'."
    )
