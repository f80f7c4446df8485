"""What of a provider's answer may be quoted: its own JSON error message only."""

import pytest

from llama_vision_block.providers.remote.replies import MAX_MESSAGE_CHARS, envelope_message


@pytest.mark.parametrize(
    "body,message",
    [
        ({"error": {"message": "rate limited", "code": 429}}, "rate limited"),  # OpenAI, OpenRouter, Ollama
        ({"object": "error", "message": "The model `x` does not exist.", "code": 404}, "The model `x` does not exist."),  # vLLM
        ({"detail": "Server is pinned to 'a'; requested 'b'."}, "Server is pinned to 'a'; requested 'b'."),  # FastAPI
        ({"error": "overloaded"}, "overloaded"),
        ({"error": {"message": "two\n  lines"}}, "two lines"),
        ({"error": {"code": 500}}, ""),
        ("<html>an internal page</html>", ""),
        (None, ""),
        ([{"message": "a list"}], ""),
    ],
)
def test_envelope_message(body, message):
    assert envelope_message(body) == message


def test_long_messages_are_cut():
    assert envelope_message({"message": "x" * 10_000}) == "x" * MAX_MESSAGE_CHARS + "…"
