import os

# inference reads the plugin list from the environment when it loads blocks.
os.environ["WORKFLOWS_PLUGINS"] = "llama_vision_block"
# Tests run offline: transformers must never look for a model on the Hub.
os.environ["HF_HUB_OFFLINE"] = "1"

from typing import Iterator  # noqa: E402

import pytest  # noqa: E402

from support.chat_server import ChatServer  # noqa: E402
from support.loopback import LoopbackServer  # noqa: E402
from support.workers_ai import WorkersAI  # noqa: E402


@pytest.fixture
def chat_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ChatServer]:
    """A loopback chat-completions server that OpenRouter traffic is pointed at."""
    server = ChatServer().start()
    monkeypatch.setenv("OPENROUTER_BASE_URL", server.base_url)
    yield server
    server.stop()



@pytest.fixture
def cloudflare(monkeypatch: pytest.MonkeyPatch) -> Iterator[WorkersAI]:
    """A loopback Workers AI account (licence accepted) that Cloudflare traffic is
    pointed at; its account id and token are in the environment, as a user sets them."""
    account = WorkersAI(license_accepted=True)
    server = LoopbackServer(responder=account).start()
    account.server = server
    monkeypatch.setenv("CLOUDFLARE_API_BASE_URL", f"{server.origin}/client/v4")
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", account.account_id)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", account.token)
    yield account
    server.stop()
