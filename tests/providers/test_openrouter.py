import pytest

from llama_vision_block.errors import ConfigurationError
from llama_vision_block.images import encode_image
from llama_vision_block.prompts import Prompt
from llama_vision_block.model_versions import ModelVariant
from llama_vision_block.providers import Generation, ProviderSettings, VisionRequest, create_backend
from llama_vision_block.providers import openrouter
from support.images import make_image


def test_defaults_to_openrouter_when_no_base_url_is_set(monkeypatch):
    monkeypatch.delenv(openrouter.BASE_URL_ENV, raising=False)
    backend = openrouter.create_backend("m", ProviderSettings(api_key="k"))
    assert str(backend._client.base_url) == "https://openrouter.ai/api/v1/"


@pytest.mark.parametrize("api_key", [None, ""])
def test_missing_key_names_the_provider(api_key):
    with pytest.raises(ConfigurationError, match="`api_key` is required for OpenRouter"):
        create_backend(ModelVariant("openrouter", "m"), ProviderSettings(api_key=api_key))


def test_unknown_provider():
    with pytest.raises(ConfigurationError, match="no backend is registered for provider 'nowhere'"):
        create_backend(ModelVariant("nowhere", "m"), ProviderSettings(api_key="k"))


def test_request_goes_to_the_base_url_from_the_environment(chat_server):
    backend = create_backend(
        ModelVariant("openrouter", "meta-llama/llama-3.2-11b-vision-instruct"),
        ProviderSettings(api_key="sk-or-1"),
    )
    request = VisionRequest(
        prompt=Prompt(system="be brief", text="what is it?"),
        image=encode_image(make_image(30, 20)),
        generation=Generation(max_tokens=12, temperature=0.0),
    )

    assert backend.complete(request) == "30x20"

    (received,) = chat_server.requests
    assert received.headers["authorization"] == "Bearer sk-or-1"
    assert received.body["messages"] == [
        {"role": "system", "content": "be brief"},
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
