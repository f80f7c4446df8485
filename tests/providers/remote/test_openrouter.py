import pytest

from llama_vision_block.errors import ConfigurationError, ModelNotServed, ProviderError
from llama_vision_block.images import encode_image
from llama_vision_block.model_versions import ModelVariant, live_labels
from llama_vision_block.prompts import Prompt
from llama_vision_block.providers.base import Generation, ProviderSettings, VisionRequest
from llama_vision_block.providers.registry import create_backend
from llama_vision_block.providers.remote import openrouter
from support.chat_server import chat_completion
from support.images import make_image

GENERATION = Generation(max_tokens=12, temperature=0.0)


def test_defaults_to_openrouter_when_no_base_url_is_set(monkeypatch):
    monkeypatch.delenv(openrouter.BASE_URL_ENV, raising=False)
    backend = openrouter.create_backend("m", ProviderSettings(api_key="k"))
    assert backend.base_url == "https://openrouter.ai/api/v1"


@pytest.mark.parametrize("api_key", [None, ""])
def test_missing_key_names_the_provider(api_key):
    with pytest.raises(ConfigurationError, match="`api_key` is required for OpenRouter"):
        create_backend(ModelVariant("openrouter", "m"), ProviderSettings(api_key=api_key), GENERATION)


def test_unknown_provider():
    with pytest.raises(ConfigurationError, match="no backend is registered for provider 'nowhere'"):
        create_backend(ModelVariant("nowhere", "m"), ProviderSettings(api_key="k"), GENERATION)


def test_request_goes_to_the_base_url_from_the_environment(chat_server):
    backend = create_backend(
        ModelVariant("openrouter", "meta-llama/llama-3.2-11b-vision-instruct"),
        ProviderSettings(api_key="sk-or-1"),
        GENERATION,
    )
    request = VisionRequest(
        prompt=Prompt(text="what is it?"),
        image=encode_image(make_image(30, 20)),
        generation=Generation(max_tokens=12, temperature=0.0),
    )

    assert backend.complete(request).text == "30x20"

    (received,) = chat_server.requests
    assert received.headers["authorization"] == "Bearer sk-or-1"
    assert received.body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": request.image.data_url()}},
                {"type": "text", "text": "what is it?"},
            ],
        },
    ]
    assert received.body["model"] == "meta-llama/llama-3.2-11b-vision-instruct"
    assert received.body["max_tokens"] == 12 and received.body["temperature"] == 0.0


def _request(**generation):
    return VisionRequest(
        prompt=Prompt(text="hi"),
        image=encode_image(make_image(8, 8)),
        generation=Generation(max_tokens=12, temperature=0.0, **generation),
    )


def test_sampling_parameters_reach_openrouter(chat_server):
    backend = openrouter.create_backend("m", ProviderSettings(api_key="k"))
    backend.complete(
        _request(top_p=0.9, top_k=40, seed=7, repetition_penalty=1.1, frequency_penalty=0.2, presence_penalty=0.3)
    )
    body = chat_server.requests[0].body
    assert {k: body[k] for k in ("top_p", "top_k", "seed", "repetition_penalty", "frequency_penalty", "presence_penalty")} == {
        "top_p": 0.9, "top_k": 40, "seed": 7, "repetition_penalty": 1.1, "frequency_penalty": 0.2, "presence_penalty": 0.3,
    }


def test_unset_sampling_parameters_are_not_sent(chat_server):
    openrouter.create_backend("m", ProviderSettings(api_key="k")).complete(_request())
    assert not {"top_p", "top_k", "seed", "repetition_penalty"} & set(chat_server.requests[0].body)


@pytest.mark.parametrize(
    "status,message",
    [
        (400, "meta-llama/llama-3.2-11b-vision-instruct is not a valid model ID"),
        (404, "No endpoints found for meta-llama/llama-3.2-11b-vision-instruct."),
    ],
)
def test_a_model_openrouter_does_not_serve_stops_the_step_and_names_the_route(chat_server, status, message):
    chat_server.responder = lambda request: (status, {"error": {"message": message, "code": status}})
    backend = openrouter.create_backend("meta-llama/llama-3.2-11b-vision-instruct", ProviderSettings(api_key="k"))
    with pytest.raises(ModelNotServed) as caught:
        backend.complete(_request())
    text = str(caught.value)
    assert text.startswith(
        f"OpenRouter (HTTP {status}): OpenRouter no longer hosts Llama 3.2 Vision "
        f"(meta-llama/llama-3.2-11b-vision-instruct: {message}). "
        "Set the environment variable LLAMA_VISION_OPENROUTER_ROUTE to one of the live model_version labels"
    )
    assert caught.value.fails_every_request and not caught.value.retryable
    # The block, above the registry, names the labels that run today.
    named = str(caught.value.with_labels(live_labels()))
    assert named.startswith(text) and "'11B - Cloudflare Workers AI'" in named and "'11B - Ollama'" in named
    assert "(Free) - OpenRouter'" not in named and "(Regular) - OpenRouter'" not in named  # none withdrawn
    assert "'Llama 4 Scout - OpenRouter'" in named  # a seed step's OpenRouter key works there


def test_other_bad_requests_stay_per_image_errors(chat_server):
    chat_server.responder = lambda request: (400, {"error": {"message": "max_tokens is too large", "code": 400}})
    backend = openrouter.create_backend("m", ProviderSettings(api_key="k"))
    with pytest.raises(ProviderError) as caught:
        backend.complete(_request())
    assert not isinstance(caught.value, ModelNotServed)
    assert not caught.value.fails_every_request
