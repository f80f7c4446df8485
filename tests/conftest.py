import os

# inference reads the plugin list from the environment when it loads blocks.
os.environ["WORKFLOWS_PLUGINS"] = "llama_vision_block"

from typing import Iterator  # noqa: E402

import pytest  # noqa: E402

from support.chat_server import ChatServer  # noqa: E402


@pytest.fixture
def chat_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ChatServer]:
    """A loopback chat-completions server that OpenRouter traffic is pointed at."""
    server = ChatServer().start()
    monkeypatch.setenv("OPENROUTER_BASE_URL", server.base_url)
    yield server
    server.stop()

