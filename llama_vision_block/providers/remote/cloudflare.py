"""Cloudflare Workers AI: the model's native REST endpoint (the seed's API).

`POST {base}/accounts/{account_id}/ai/run/@cf/meta/llama-3.2-11b-vision-instruct`
with a Bearer token; the messages form of the schema (string contents) and the
image as a list of byte values, one image per request. Replies come in an
envelope: `{"result": {"response": ...}, "success": true, "errors": []}`.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any, Dict, Optional

import httpx

from llama_vision_block.errors import ConfigurationError, ProviderError, StepProviderError, provider_error, redact
from llama_vision_block.prompts import MAX_MESSAGE_CHARS, to_chat_messages
from llama_vision_block.providers.base import (
    ProviderSettings,
    Reply,
    VisionRequest,
    require_api_key,
    usage_token_counts,
)
from llama_vision_block.providers.remote.clients import CLIENTS, client_key
from llama_vision_block.families import FAMILIES, LLAMA_32_VISION, LLAMA_4, ModelFamily
from llama_vision_block.providers.spec import Need, ProviderSpec, Served, StepSetting, kind_problem
from llama_vision_block.providers.remote.replies import clip, redirect_message
from llama_vision_block.providers.remote.transport import ReplyTooLarge, attempt, failed_attempt, http_client
from llama_vision_block.providers.remote.schema_support import send_constrained
from llama_vision_block.retries import parse_retry_after
from llama_vision_block.schemas import ResponseSchema

API_BASE_ENV = "CLOUDFLARE_API_BASE_URL"
DEFAULT_API_BASE = "https://api.cloudflare.com/client/v4"
ACCOUNT_ID_ENV = "CLOUDFLARE_ACCOUNT_ID"
NAME = "Cloudflare Workers AI"
KEY_ENV = "CLOUDFLARE_API_TOKEN"
# The model's input schema limits message contents (prompts.MAX_MESSAGE_CHARS);
# checked before anything is sent. Its temperature limit, 5, is wider than the
# block's 0-2, which `Generation` already enforces.
MAX_CONTENT_CHARS = MAX_MESSAGE_CHARS
# Meta's license must be accepted once per account before the model answers.
LICENSE_ERROR_CODE = 5016
# "Account limited": the free plan's daily allocation of neurons is spent. A 429, but a
# quota, not a rate: no wait within an image's time bound brings it back.
DAILY_ALLOCATION_CODE = 3036
LICENSE_AGREEMENT = {"prompt": "agree"}
# Workers AI's answer when its JSON mode could not produce a valid answer for a request.
JSON_MODE_UNMET = "json mode couldn't be met"


class LicenseNotAccepted(StepProviderError):
    """The account has not yet accepted the Llama 3.2 Community License."""


class CloudflareBackend:
    """Sends each request to the account's Workers AI model over one HTTP client."""

    def __init__(
        self,
        model: str,
        account_id: str,
        api_key: str,
        api_base: str,
        accept_license: bool,
        timeout_s: float,
        family: ModelFamily = FAMILIES[LLAMA_32_VISION],
        lora: Optional[str] = None,
    ) -> None:
        self.model = model
        self.family = family
        self.lora = lora
        self._url = f"{api_base.rstrip('/')}/accounts/{account_id}/ai/run/{model}"
        self.endpoint = self._url
        self._api_key = api_key
        self._timeout_s = timeout_s
        self._client_key = client_key(NAME, api_base)
        self._accept_license = accept_license
        self._agreement_lock = threading.Lock()
        self._agreed = False

    def complete(self, request: VisionRequest) -> Reply:
        """Runs the model on one image, in JSON mode where the request has a schema;
        accepts the license first when allowed to."""
        return send_constrained(
            lambda constraint: self._complete(request, constraint),
            request.response_schema,
            server=(self._client_key, self._url),
            provider=NAME,
            per_request=lambda error: JSON_MODE_UNMET in error.provider_message.lower(),
        )

    def _complete(self, request: VisionRequest, constraint: Optional[ResponseSchema]) -> Reply:
        body = request_body(request, constraint, self.family, self.lora)
        try:
            result = self._run(body)
        except LicenseNotAccepted:
            if not self._accept_license:
                raise
            self._agree_once()
            result = self._run(body)
        return reply_from_result(result, request.generation.max_tokens)

    def _agree_once(self) -> None:
        # Concurrent workers all hit the license error; only one agrees.
        with self._agreement_lock:
            if not self._agreed:
                self._run(LICENSE_AGREEMENT)
                self._agreed = True

    def _run(self, body: Dict[str, Any]) -> Any:
        headers = {"Authorization": f"Bearer {self._api_key}"}
        try:
            with CLIENTS.lease(self._client_key, http_client) as client:
                with attempt(self._timeout_s):
                    response = client.post(self._url, json=body, headers=headers, timeout=self._timeout_s)
        except (httpx.TransportError, ReplyTooLarge) as error:
            raise failed_attempt(NAME, error, self._timeout_s, self._url) from None
        return read_envelope(response, self._api_key)


def create_backend(
    model: str, settings: ProviderSettings, family: str = LLAMA_32_VISION
) -> CloudflareBackend:
    """A Workers AI backend; account id and API base may come from the environment."""
    account_id = settings.option("cloudflare_account_id") or os.environ.get(ACCOUNT_ID_ENV)
    if not account_id:
        raise ConfigurationError(
            "`cloudflare_account_id` is required for Cloudflare Workers AI: set it on "
            f"the step or in the environment variable {ACCOUNT_ID_ENV}."
        )
    problem = kind_problem(ACCOUNT_ID, account_id)  # the environment's value is checked here
    if problem:
        raise ConfigurationError(problem)
    accept_license = bool(settings.option("cloudflare_accept_llama_license"))  # checked a boolean
    return CloudflareBackend(
        model=model,
        account_id=account_id,
        api_key=require_api_key(NAME, settings),
        api_base=os.environ.get(API_BASE_ENV, DEFAULT_API_BASE),
        accept_license=accept_license,
        timeout_s=settings.request_timeout,
        family=FAMILIES[family],
        lora=_lora(settings.option("lora"), FAMILIES[family]),
    )


def _lora(lora: Any, family: ModelFamily) -> Optional[str]:
    if lora is None or not lora.strip():  # checked to be text
        return None
    if family.cloudflare_image != "bytes":
        raise ConfigurationError(
            f"`lora`: Workers AI applies LoRA adapters to Llama 3.2 11B Vision, not to "
            f"{family.name}. Choose '11B - Cloudflare Workers AI', or leave `lora` empty."
        )
    return lora.strip()


def request_body(
    request: VisionRequest,
    constraint: Optional[ResponseSchema] = None,
    family: ModelFamily = FAMILIES[LLAMA_32_VISION],
    lora: Optional[str] = None,
) -> Dict[str, Any]:
    """The JSON body for one image, after checking the schema's limits; in JSON mode
    (`response_format`, the schema itself under `json_schema`) for a `constraint`.

    The image goes where the family's model takes it: Llama 3.2 Vision as the
    `image` byte array, Llama 4 as a data URI in the message. A LoRA adapter is
    named in the prompt form of the request, the only form that takes `lora`."""
    generation = request.generation
    text = request.prompt.text
    if len(text) > MAX_CONTENT_CHARS:
        raise ConfigurationError(
            f"the prompt is {len(text)} characters; {NAME} takes at most "
            f"{MAX_CONTENT_CHARS}. Shorten `prompt` (or `classes` / `output_structure`)."
        )
    if lora is not None:
        form: Dict[str, Any] = {"prompt": text, "image": list(request.image.data), "lora": lora}
    elif family.cloudflare_image == "bytes":
        # One user message and no system message: Meta's template refuses a
        # system message beside an image.
        form = {"messages": [{"role": "user", "content": text}], "image": list(request.image.data)}
    else:
        form = {"messages": to_chat_messages(request.prompt, request.image.data_url())}
    return {
        **form,
        "max_tokens": generation.max_tokens,
        "temperature": generation.temperature,
        **generation.optional_parameters(),
        **({"response_format": {"type": "json_schema", "json_schema": dict(constraint.schema)}} if constraint else {}),
    }


def read_envelope(response: httpx.Response, api_key: str = "") -> Any:
    """The `result` of Workers AI's envelope, or a `ProviderError` for the error it carries.

    Provider text may echo what it was sent: `api_key` is redacted from it.
    """
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if 300 <= response.status_code < 400:
        raise provider_error(NAME, redirect_message(), response.status_code, retryable=False)
    try:
        envelope = response.json()
    except ValueError:
        envelope = None
    if not isinstance(envelope, dict):
        raise provider_error(
            NAME,
            "answered with a body that is not a JSON object",
            response.status_code,
            retry_after=retry_after,
        )
    errors = envelope.get("errors") or []
    if any(_is_license_error(error) for error in errors):
        raise LicenseNotAccepted(
            NAME,
            "this account has not accepted Meta's Llama 3.2 Community License, which "
            "the model requires once per account. Set `cloudflare_accept_llama_license` "
            "to true to accept it (this sends the prompt 'agree' once), or send "
            "{\"prompt\": \"agree\"} to the model yourself.",
            response.status_code,
        )
    if any(isinstance(error, dict) and error.get("code") == DAILY_ALLOCATION_CODE for error in errors):
        raise provider_error(
            NAME,
            "this account has used up its daily free allocation of Workers AI neurons "
            f"(code {DAILY_ALLOCATION_CODE}); it is renewed at 00:00 UTC. Move the account to "
            "the Workers Paid plan, or run the rest then (`llama-vision run` resumes where it stopped).",
            response.status_code,
            fails_every_request=True,
            retryable=False,
        )
    if response.status_code != 200 or not envelope.get("success", False):
        messages = clip("; ".join(_error_text(error) for error in errors)) or "no error message"
        raise provider_error(
            NAME,
            redact(messages, api_key),
            response.status_code,
            retry_after=retry_after,
        )
    return envelope.get("result")


def reply_from_result(result: Any, max_tokens: int) -> Reply:
    """The reply in a successful `result`; cut off when it used every allowed token."""
    text = result.get("response") if isinstance(result, dict) else result
    if isinstance(text, (dict, list)):  # JSON mode answers with the document itself
        text = json.dumps(text, ensure_ascii=False)
    if not isinstance(text, str):
        raise ProviderError(NAME, "answered without a reply (no `result.response`)")
    if not text.strip():
        raise ProviderError(NAME, "answered with an empty reply (no content)")
    input_tokens, output_tokens = usage_token_counts(
        result.get("usage") if isinstance(result, dict) else None
    )
    return Reply(
        text=text,
        cut_off=output_tokens is not None and output_tokens >= max_tokens,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
    )


def _is_license_error(error: Any) -> bool:
    return isinstance(error, dict) and (
        error.get("code") == LICENSE_ERROR_CODE
        or "submit the prompt 'agree'" in str(error.get("message", ""))
    )


def _error_text(error: Any) -> str:
    if not isinstance(error, dict):
        return str(error)
    message = str(error.get("message", ""))
    return f"{message} (code {error['code']})" if "code" in error else message


# It goes into the URL's path: any other form could rewrite the path.
ACCOUNT_ID = StepSetting(
    name="cloudflare_account_id",
    description=f"Your Cloudflare account id. Defaults to ${ACCOUNT_ID_ENV}.",
    examples=("$inputs.cloudflare_account_id",),
    pattern=r"[0-9a-fA-F]{32}",
    pattern_says="a Cloudflare account id: 32 hexadecimal characters (the dashboard's Account ID)",
)

SPEC = ProviderSpec(
    id="cloudflare",
    name=NAME,
    labels={
        "11B - Cloudflare Workers AI": Served("@cf/meta/llama-3.2-11b-vision-instruct"),
        "Llama 4 Scout - Cloudflare Workers AI": Served("@cf/meta/llama-4-scout-17b-16e-instruct", LLAMA_4),
    },
    create_backend=create_backend,
    needs_key=True,
    key_env=KEY_ENV,
    address_env=API_BASE_ENV,
    blurb="your account id and API token; accept Meta's licence once with "
    "`cloudflare_accept_llama_license`",
    constrains="Cloudflare Workers AI",
    default_label="11B - Cloudflare Workers AI",
    needs=(Need(KEY_ENV, option="api_key"), Need(ACCOUNT_ID_ENV, option="cloudflare_account_id")),
    settings=(
        ACCOUNT_ID,
        StepSetting(
            name="lora",
            description="The name or id of a LoRA adapter (a Workers AI finetune of Llama "
            "3.2 11B Vision, uploaded with `wrangler ai finetune create`) to answer with. "
            "Sent in the prompt form of the request, the one that takes it. Other "
            "providers apply no adapter here: on an OpenAI-compatible server an adapter "
            "is a served model name (`served_model_name`).",
            examples=("my-finetune", "$inputs.lora"),
            elsewhere="On an OpenAI-compatible server (vLLM `--lora-modules name=path`) "
            "choose the adapter with `served_model_name`; the other providers apply none.",
        ),
        StepSetting(
            name="cloudflare_accept_llama_license",
            kind="boolean",
            default=False,
            description="Workers AI refuses this model until the account has accepted "
            "Meta's Llama 3.2 Community License once. When true and the model refuses for "
            "that reason, the block sends the agreement ('agree') once and retries. Only "
            "set it if you accept the license and Meta's Acceptable Use Policy.",
        ),
    ),
)
