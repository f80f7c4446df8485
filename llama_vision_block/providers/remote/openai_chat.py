"""A backend for any server that speaks OpenAI's chat-completions protocol."""

from __future__ import annotations

import json
from typing import Any, Dict, Optional

import httpx
import openai

from llama_vision_block.errors import ProviderError, provider_error, redact
from llama_vision_block.prompts import to_chat_messages
from llama_vision_block.providers.base import Reply, VisionRequest, usage_token_counts
from llama_vision_block.providers.remote.clients import CLIENTS, client_key
from llama_vision_block.providers.remote.replies import envelope_message, redirect_message
from llama_vision_block.providers.remote.schema_support import REFUSAL_STATUSES, send_constrained
from llama_vision_block.providers.remote.transport import (
    ReplyTooLarge,
    attempt,
    budgeted_transport,
    failed_attempt,
)
from llama_vision_block.retries import parse_retry_after
from llama_vision_block.schemas import ResponseSchema


class OpenAIChatBackend:
    """Sends each request through a shared `openai.OpenAI` client that owns the
    transport; the key travels in each request's own Authorization header."""

    def __init__(
        self,
        provider: str,
        model: str,
        base_url: str,
        api_key: Optional[str],
        timeout_s: float,
        default_headers: Optional[Dict[str, str]] = None,
    ) -> None:
        self.provider = provider
        self.model = model
        self.base_url = base_url
        self.endpoint = base_url
        self._api_key = api_key
        self._timeout_s = timeout_s
        self._default_headers = default_headers
        self._client_key = client_key(provider, base_url, default_headers)

    def _create_client(self) -> openai.OpenAI:
        return openai.OpenAI(
            base_url=self.base_url,
            # "" sends no Authorization header of the client's own. None would make
            # the SDK fall back to $OPENAI_API_KEY and send that key to this server.
            api_key="",
            default_headers=self._default_headers,
            max_retries=0,  # retries.py owns retrying; the SDK must not stack its own
            http_client=openai.DefaultHttpxClient(transport=budgeted_transport(), follow_redirects=False),
        )

    def complete(self, request: VisionRequest) -> Reply:
        """Sends one chat completion and returns the first choice's text; with the
        task's JSON schema as `response_format` where the request has one."""
        return send_constrained(
            lambda constraint: self._send(request, constraint),
            request.response_schema,
            server=(self._client_key, self.model),
            provider=self.provider,
            refuses=self.refuses_schema,
        )

    def refuses_schema(self, error: ProviderError) -> bool:
        """Whether an error may be the server refusing `response_format`."""
        return error.status_code in REFUSAL_STATUSES

    def constrained_fields(self, constraint: ResponseSchema) -> Dict[str, Any]:
        """The request fields that ask for an answer matching `constraint`: OpenAI's
        `response_format`, which vLLM, SGLang, Ollama and OpenRouter take."""
        schema = {"name": "answer", "schema": dict(constraint.schema), "strict": True}
        return {"response_format": {"type": "json_schema", "json_schema": schema}}

    def _send(self, request: VisionRequest, constraint: Optional[ResponseSchema]) -> Reply:
        body = {
            "model": self.model,
            "messages": to_chat_messages(request.prompt, request.image.data_url()),
            "max_tokens": request.generation.max_tokens,
            "temperature": request.generation.temperature,
            # top_k and repetition_penalty are not OpenAI parameters; OpenRouter,
            # vLLM, SGLang and llama.cpp read what they know of these from the body.
            **request.generation.optional_parameters(),
            **(self.constrained_fields(constraint) if constraint is not None else {}),
        }
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        try:
            with CLIENTS.lease(self._client_key, self._create_client) as client:
                with attempt(self._timeout_s):
                    # The SDK's low-level post (its documented way to call any
                    # endpoint) keeps its transport and typed errors, and skips the
                    # typed-parameter transformation of `chat.completions.create`,
                    # which walks the whole base64 image: half the client CPU.
                    response = client.post(
                        "/chat/completions",
                        body=body,
                        cast_to=httpx.Response,
                        options={"timeout": self._timeout_s, "headers": headers},
                    )
        except openai.APIStatusError as error:
            raise self._status_error(error) from None
        except openai.APIConnectionError as error:  # and APITimeoutError: the cause says which
            raise failed_attempt(self.provider, error.__cause__, self._timeout_s, self.base_url) from None
        except ReplyTooLarge as error:  # raised while reading an error's body
            raise failed_attempt(self.provider, error, self._timeout_s, self.base_url) from None
        return self._read_reply(response)

    def _read_reply(self, response: httpx.Response) -> Reply:
        """The first choice as a `Reply`, or a `ProviderError` that says why there is none.

        OpenRouter sometimes answers 200 with an `error` envelope instead of choices.
        """
        try:
            payload = json.loads(response.content)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):  # a proxy's page, whatever its content type
            raise self._error("answered with a body that is not a JSON object")
        choices = payload.get("choices")
        if not choices or not isinstance(choices, list):
            code = payload.get("error", {}).get("code") if isinstance(payload.get("error"), dict) else None
            raise self._error(
                f"answered without a reply: {envelope_message(payload) or 'no choices and no error message'}",
                code if isinstance(code, int) else None,
            )
        choice = choices[0] if isinstance(choices[0], dict) else {}
        content = (choice.get("message") or {}).get("content")
        if not isinstance(content, str) or not content.strip():
            raise self._error("answered with an empty reply (no content)")
        input_tokens, output_tokens = usage_token_counts(payload.get("usage"))
        return Reply(
            text=content,
            cut_off=choice.get("finish_reason") == "length",
            input_tokens=input_tokens,
            output_tokens=output_tokens,
        )

    def _status_error(self, error: openai.APIStatusError) -> ProviderError:
        status = error.status_code
        if 300 <= status < 400:
            return self._error(redirect_message(), status, retryable=False)
        message = envelope_message(error.body) or "no error message"
        retry_after = parse_retry_after(error.response.headers.get("retry-after"))
        return self._error(message, status, retry_after=retry_after)

    def _error(self, message: str, status_code: Optional[int] = None, **kwargs: Any) -> ProviderError:
        # Provider text may echo what it was sent; the key never goes further.
        return provider_error(self.provider, redact(message, self._api_key), status_code, **kwargs)
