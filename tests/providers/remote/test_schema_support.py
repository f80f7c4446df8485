"""Asking servers for answers constrained to a JSON schema: what each provider
receives, and what happens when a server refuses the field."""

import json
import logging

import pytest

from llama_vision_block.errors import ProviderError, StepProviderError
from llama_vision_block.images import encode_image
from llama_vision_block.model_versions import MODEL_VARIANTS
from llama_vision_block.prompts import Prompt
from llama_vision_block.providers.registry import create_backend
from llama_vision_block.providers.base import Generation, ProviderSettings, VisionRequest
from llama_vision_block.providers.remote import cloudflare as workers_ai, openrouter
from llama_vision_block.schemas import ResponseSchema, classification, schema_violation
from llama_vision_block.task_inputs import TaskInputs
from support.chat_server import ChatServer, chat_completion, image_size_text
from support.images import make_image
from support.schema_answers import smallest_answer

GENERATION = Generation(max_tokens=200, temperature=0.0)
SCHEMA = classification(TaskInputs(classes=["cat", "dog"]), 200)


def _request(required=False, constrained=True):
    return VisionRequest(
        prompt=Prompt(text="Which?"),
        image=encode_image(make_image(8, 6)),
        generation=GENERATION,
        response_schema=ResponseSchema(SCHEMA, required=required) if constrained else None,
    )


def honouring(request):
    """A server that constrains answers (vLLM, SGLang, Ollama >= 0.5)."""
    response_format = request.body.get("response_format")
    if response_format is None:
        return 200, chat_completion(image_size_text(request))
    answer = smallest_answer(response_format["json_schema"]["schema"])
    return 200, chat_completion(json.dumps(answer))


def refusing(request):
    """A server that refuses the field, as llama.cpp or a strict proxy does."""
    if "response_format" in request.body:
        return 400, {"error": {"message": "response_format is not supported", "code": 400}}
    return 200, chat_completion(image_size_text(request))


@pytest.fixture
def server():
    server = ChatServer(responder=honouring).start()
    yield server
    server.stop()


def _backend(label, server, api_key=None):
    settings = ProviderSettings(api_key=api_key, options={"base_url": server.base_url})
    return create_backend(MODEL_VARIANTS[label], settings, GENERATION)


@pytest.mark.parametrize("label", ["11B - OpenAI-compatible server", "11B - Ollama"])
def test_servers_get_the_schema_as_openais_response_format(server, label):
    reply = _backend(label, server).complete(_request())
    assert schema_violation(reply.text, SCHEMA) is None
    (received,) = server.requests
    assert received.body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": SCHEMA, "strict": True},
    }


def test_an_unconstrained_request_sends_no_response_format(server):
    _backend("11B - OpenAI-compatible server", server).complete(_request(constrained=False))
    assert "response_format" not in server.requests[0].body


@pytest.mark.parametrize("required", [False, True])
def test_openrouter_asks_for_hosts_that_honour_the_schema_when_it_is_required(server, monkeypatch, required):
    monkeypatch.setenv(openrouter.BASE_URL_ENV, server.base_url)
    backend = openrouter.create_backend("m", ProviderSettings(api_key="sk-or-0123456789"))
    backend.complete(_request(required=required))
    body = server.requests[0].body
    assert body["response_format"]["json_schema"]["schema"] == SCHEMA
    assert body.get("provider") == ({"require_parameters": True} if required else None)


def test_a_refusing_server_is_asked_again_without_the_schema_and_remembered(server, caplog):
    server.responder = refusing
    backend = _backend("11B - OpenAI-compatible server", server)
    with caplog.at_level(logging.WARNING, logger="llama_vision_block"):
        replies = [backend.complete(_request()).text for _ in range(3)]
    assert replies == ["8x6"] * 3
    sent = ["response_format" in request.body for request in server.requests]
    assert sent == [True, False, False, False]  # asked once with it, then never
    refusals = [record for record in caplog.records if "refused the JSON schema" in record.getMessage()]
    assert len(refusals) == 1 and "HTTP 400" in refusals[0].getMessage()


def test_required_stops_the_step_where_a_server_refuses_the_schema(server):
    server.responder = refusing
    backend = _backend("11B - OpenAI-compatible server", server)
    with pytest.raises(StepProviderError, match="refused the JSON schema .*HTTP 400.*constrained_decoding"):
        backend.complete(_request(required=True))
    assert len(server.requests) == 1  # nothing went out unconstrained
    backend.complete(_request())  # "auto" falls back, and the server is remembered...
    with pytest.raises(StepProviderError, match="earlier in this process"):
        backend.complete(_request(required=True))  # ...so "required" fails at once
    assert len(server.requests) == 3


def test_a_bad_request_that_is_not_about_the_schema_is_not_blamed_on_it(server):
    server.responder = lambda request: (400, {"error": {"message": "image too small", "code": 400}})
    backend = _backend("11B - OpenAI-compatible server", server)
    with pytest.raises(ProviderError, match="image too small"):
        backend.complete(_request())
    assert len(server.requests) == 2
    with pytest.raises(ProviderError):
        backend.complete(_request())
    assert "response_format" in server.requests[2].body  # not remembered as refusing


def _cloudflare_backend(account):
    settings = ProviderSettings(api_key=account.token, options={"cloudflare_account_id": account.account_id})
    return workers_ai.create_backend("@cf/meta/llama-3.2-11b-vision-instruct", settings)


def test_cloudflare_gets_the_schema_in_json_mode_and_its_object_answer_is_read(cloudflare):
    reply = _cloudflare_backend(cloudflare).complete(_request())
    (received,) = cloudflare.server.requests
    assert received.body["response_format"] == {"type": "json_schema", "json_schema": SCHEMA}
    assert json.loads(reply.text) == {"class_name": "cat", "confidence": 0}
    assert cloudflare.schema_errors == []


def test_cloudflare_json_mode_unmet_is_asked_again_for_that_image_only(cloudflare):
    cloudflare.json_mode_unmet = True
    backend = _cloudflare_backend(cloudflare)
    assert backend.complete(_request()).text == "8x6"
    assert backend.complete(_request()).text == "8x6"
    sent = ["response_format" in request.body for request in cloudflare.server.requests]
    assert sent == [True, False, True, False]  # never remembered as refusing
    with pytest.raises(ProviderError, match="JSON Mode couldn't be met") as caught:
        backend.complete(_request(required=True))
    assert not isinstance(caught.value, StepProviderError)  # one image, not the step
