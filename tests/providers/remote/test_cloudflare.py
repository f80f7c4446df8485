"""The Workers AI backend against a loopback server that plays a Cloudflare account."""

import threading

import pytest

from llama_vision_block.errors import ConfigurationError, ProviderError
from llama_vision_block.images import encode_image
from llama_vision_block.prompts import Prompt
from llama_vision_block.providers.remote import cloudflare
from llama_vision_block.providers.base import Generation, ProviderSettings, VisionRequest
from support.images import make_image
from support.loopback import LoopbackServer
from support.workers_ai import MODEL, WorkersAI


@pytest.fixture
def account(monkeypatch):
    workers_ai = WorkersAI(license_accepted=True)
    server = LoopbackServer(responder=workers_ai).start()
    monkeypatch.setenv(cloudflare.API_BASE_ENV, f"{server.origin}/client/v4")
    monkeypatch.delenv(cloudflare.ACCOUNT_ID_ENV, raising=False)
    workers_ai.server = server
    yield workers_ai
    server.stop()


def _backend(account, **settings):
    options = {"cloudflare_account_id": account.account_id, **settings}
    return cloudflare.create_backend(MODEL, ProviderSettings(api_key=account.token, options=options))


def _request(width=40, height=30, text="read it", **generation):
    return VisionRequest(
        prompt=Prompt(text=text),
        image=encode_image(make_image(width, height)),
        generation=Generation(max_tokens=64, temperature=0.2, **generation),
    )


def test_request_on_the_wire(account):
    request = _request(top_p=0.9, top_k=20, seed=42, repetition_penalty=1.2, frequency_penalty=0.1, presence_penalty=0.4)

    assert _backend(account).complete(request).text == "40x30"

    (received,) = account.server.requests
    assert received.path == f"/client/v4/accounts/{account.account_id}/ai/run/@cf/meta/llama-3.2-11b-vision-instruct"
    assert received.headers["authorization"] == f"Bearer {account.token}"
    assert received.body == {
        "messages": [{"role": "user", "content": "read it"}],
        "image": list(request.image.data),
        "max_tokens": 64,
        "temperature": 0.2,
        "top_p": 0.9,
        "top_k": 20,
        "seed": 42,
        "repetition_penalty": 1.2,
        "frequency_penalty": 0.1,
        "presence_penalty": 0.4,
    }
    assert received.image_bytes() == request.image.data
    assert account.schema_errors == []


def test_account_id_from_the_environment(account, monkeypatch):
    monkeypatch.setenv(cloudflare.ACCOUNT_ID_ENV, account.account_id)
    backend = cloudflare.create_backend(MODEL, ProviderSettings(api_key=account.token))
    assert backend.complete(_request()).text == "40x30"


def test_missing_account_id_names_the_property_and_the_variable():
    with pytest.raises(ConfigurationError, match="`cloudflare_account_id` is required .* CLOUDFLARE_ACCOUNT_ID"):
        cloudflare.create_backend(MODEL, ProviderSettings(api_key="k"))


def test_missing_key_names_cloudflare():
    with pytest.raises(ConfigurationError, match="`api_key` is required for Cloudflare Workers AI"):
        cloudflare.create_backend(MODEL, ProviderSettings(options={"cloudflare_account_id": "0" * 32}))


def test_license_refusal_says_what_to_do(account):
    account.license_accepted = False
    with pytest.raises(ProviderError) as caught:
        _backend(account).complete(_request())
    assert "has not accepted Meta's Llama 3.2 Community License" in str(caught.value)
    assert "`cloudflare_accept_llama_license`" in str(caught.value)
    assert caught.value.fails_every_request
    assert account.agreements == 0


def test_opt_in_agrees_once_then_retries_even_with_concurrent_requests(account):
    account.license_accepted = False
    backend = _backend(account, cloudflare_accept_llama_license=True)
    results = {}

    def ask(index):
        results[index] = backend.complete(_request(width=20 + index)).text

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == {i: f"{20 + i}x30" for i in range(4)}
    assert account.agreements == 1
    agreements = [r for r in account.server.requests if r.body == {"prompt": "agree"}]
    assert len(agreements) == 1


@pytest.mark.parametrize(
    "change,message",
    [
        ({"token": "other"}, "Cloudflare Workers AI (HTTP 401): Authentication error (code 10000)"),
        ({"account_id": "other"}, "Cloudflare Workers AI (HTTP 404): Could not route to"),
    ],
)
def test_cloudflare_errors_carry_their_message(account, change, message):
    backend = _backend(account)
    for name, value in change.items():
        setattr(account, name, value)
    with pytest.raises(ProviderError) as caught:
        backend.complete(_request())
    assert str(caught.value).startswith(message)
    assert caught.value.fails_every_request


def test_limits_are_checked_before_sending(account):
    with pytest.raises(ConfigurationError, match="the prompt is 131073 characters; Cloudflare Workers AI takes at most 131072"):
        _backend(account).complete(_request(text="x" * 131_073))
    assert account.server.requests == []


@pytest.mark.parametrize(
    "status,body,message",
    [
        (200, "<html>Bad gateway</html>", "answered with a body that is not a JSON object"),
        (200, {"result": {}, "success": True, "errors": []}, "answered without a reply"),
        (429, {"result": None, "success": False, "errors": [{"code": 3040, "message": "Capacity temporarily exceeded, please try again."}]},
         "(HTTP 429): Capacity temporarily exceeded, please try again. (code 3040)"),
    ],
)
def test_envelope_shapes(account, status, body, message):
    account.server.responder = lambda request: (status, body)
    with pytest.raises(ProviderError) as caught:
        _backend(account).complete(_request())
    assert message in str(caught.value)
    assert not caught.value.fails_every_request


def test_a_spent_daily_allocation_stops_the_step_at_once_saying_when_it_is_renewed(account):
    spent = {"code": 3036, "message": "You have used up your daily free allocation of 10,000 neurons."}
    account.server.responder = lambda request: (429, {"result": None, "success": False, "errors": [spent]})
    with pytest.raises(ProviderError) as caught:
        _backend(account).complete(_request())
    assert "(HTTP 429): this account has used up its daily free allocation" in str(caught.value)
    assert "00:00 UTC" in str(caught.value)
    assert caught.value.fails_every_request and not caught.value.retryable  # no wait would help


SCOUT = "@cf/meta/llama-4-scout-17b-16e-instruct"


def test_llama_4_scout_gets_its_image_as_a_data_uri_in_the_message(account):
    settings = ProviderSettings(api_key=account.token, options={"cloudflare_account_id": account.account_id})
    request = _request()

    reply = cloudflare.create_backend(SCOUT, settings, "llama-4").complete(request)

    assert reply.text == "40x30"
    (received,) = account.server.requests
    assert received.path.endswith(f"/ai/run/{SCOUT}")
    assert "image" not in received.body
    assert received.body["messages"] == [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": request.image.data_url()}},
        {"type": "text", "text": "read it"},
    ]}]
    assert account.schema_errors == []


def test_a_lora_adapter_goes_in_the_prompt_form_with_the_image_bytes(account):
    request = _request()
    assert _backend(account, lora="my-finetune").complete(request).text == "40x30"
    (received,) = account.server.requests
    assert received.body["prompt"] == "read it" and received.body["lora"] == "my-finetune"
    assert received.body["image"] == list(request.image.data) and "messages" not in received.body
    assert account.schema_errors == []


def test_an_unknown_adapter_is_cloudflares_own_error(account):
    with pytest.raises(ProviderError, match="finetune 'nope' not found"):
        _backend(account, lora="nope").complete(_request())


def test_workers_ai_applies_no_adapter_to_llama_4(account):
    settings = ProviderSettings(
        api_key=account.token, options={"cloudflare_account_id": account.account_id, "lora": "my-finetune"}
    )
    with pytest.raises(ConfigurationError, match="`lora`: Workers AI applies LoRA adapters to Llama 3.2 11B Vision, not to Llama 4"):
        cloudflare.create_backend(SCOUT, settings, "llama-4")
