"""Ollama: a default install needs no setting; its stand-in speaks Ollama's /v1 protocol."""

import pytest

from llama_vision_block.images import encode_image
from llama_vision_block.model_versions import MODEL_VARIANTS
from llama_vision_block.prompts import Prompt
from llama_vision_block.providers.registry import create_backend
from llama_vision_block.providers.remote import ollama
from llama_vision_block.providers.base import Generation, ProviderSettings, VisionRequest
from support.chat_server import ChatServer
from support.chat_server import ollama as ollama_responder
from support.images import make_image

GENERATION = Generation(max_tokens=8, temperature=0.0)


def _request():
    return VisionRequest(prompt=Prompt(text="what is it?"), image=encode_image(make_image(30, 20)), generation=GENERATION)


def test_a_default_install_needs_no_setting(monkeypatch):
    monkeypatch.delenv(ollama.BASE_URL_ENV, raising=False)
    backend = create_backend(MODEL_VARIANTS["11B - Ollama"], ProviderSettings(), GENERATION)
    assert backend.base_url == "http://localhost:11434/v1"
    assert backend.model == "llama3.2-vision" and backend.provider == "Ollama"


@pytest.fixture
def server(monkeypatch):
    running = ChatServer(responder=ollama_responder("llama3.2-vision:90b"), base_path="/v1").start()
    monkeypatch.setenv(ollama.BASE_URL_ENV, running.base_url)
    yield running
    running.stop()


def test_the_90b_label_reaches_the_90b_tag_with_its_usage(server):
    reply = create_backend(MODEL_VARIANTS["90B - Ollama"], ProviderSettings(), GENERATION).complete(_request())
    assert (reply.text, reply.input_tokens, reply.output_tokens) == ("30x20", 10, 3)
    assert server.requests[0].body["model"] == "llama3.2-vision:90b"
    assert "authorization" not in server.requests[0].headers


def test_step_settings_win_over_the_defaults(server):
    settings = ProviderSettings(
        api_key="proxy-key", options={"base_url": server.base_url, "served_model_name": "llama3.2-vision:90b"}
    )
    create_backend(MODEL_VARIANTS["11B - Ollama"], settings, GENERATION).complete(_request())
    assert server.requests[0].headers["authorization"] == "Bearer proxy-key"


def test_parameters_ollama_ignores_are_warned_about(server, caplog):
    generation = Generation(max_tokens=8, temperature=0.0, top_k=5)
    create_backend(MODEL_VARIANTS["11B - Ollama"], ProviderSettings(), generation)
    assert "`top_k` is ignored by Ollama's OpenAI-compatible endpoint." in caplog.text


def test_the_llama_4_scout_label_reaches_ollamas_scout_tag(monkeypatch):
    running = ChatServer(responder=ollama_responder("llama4:scout"), base_path="/v1").start()
    monkeypatch.setenv(ollama.BASE_URL_ENV, running.base_url)
    try:
        variant = MODEL_VARIANTS["Llama 4 Scout - Ollama"]
        reply = create_backend(variant, ProviderSettings(), GENERATION).complete(_request())
    finally:
        running.stop()
    assert variant.family == "llama-4" and reply.text == "30x20"
    assert running.requests[0].body["model"] == "llama4:scout"
