"""What a provider's answer may pass on: its own error message, and nothing else.

A server behind a caller's URL can be anything (an internal service, a proxy's
page), so the block never quotes a body; it quotes the message of the provider's
JSON error envelope, cut to a sensible length.
"""

from __future__ import annotations

from typing import Any


MAX_MESSAGE_CHARS = 500


def envelope_message(body: Any) -> str:
    """The message of a JSON error envelope, in the forms providers use:
    `{"error": {"message": …}}` (OpenAI, OpenRouter, Ollama), `{"message": …}` (vLLM),
    `{"detail": …}` (FastAPI: `transformers serve`), `{"error": "…"}`; else ""."""
    if not isinstance(body, dict):
        return ""
    error = body.get("error")
    for candidate in (
        error.get("message") if isinstance(error, dict) else error,
        body.get("message"),
        body.get("detail"),
    ):
        if isinstance(candidate, str) and candidate.strip():
            return clip(candidate)
    return ""


def clip(message: str) -> str:
    """A provider's message on one line, cut to `MAX_MESSAGE_CHARS`."""
    text = " ".join(message.split())
    return text if len(text) <= MAX_MESSAGE_CHARS else text[:MAX_MESSAGE_CHARS] + "…"


def redirect_message() -> str:
    return "answered with a redirect, which the block never follows; point the URL at the server itself"
