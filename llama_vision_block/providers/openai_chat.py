"""A backend for any server that speaks OpenAI's chat-completions protocol."""

from __future__ import annotations

from typing import Any, Dict, Optional

import openai

from llama_vision_block.errors import ProviderError, redact
from llama_vision_block.prompts import to_chat_messages
from llama_vision_block.providers.base import Reply, VisionRequest, usage_token_counts
from llama_vision_block.providers.clients import CLIENTS, POOL_LIMITS, client_key
from llama_vision_block.retries import parse_retry_after


class OpenAIChatBackend:
    """Sends each request through one `openai.OpenAI` client that owns the transport."""

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
        self._api_key = api_key
        self._timeout_s = timeout_s
        self._client = CLIENTS.get(
            client_key(provider, base_url, api_key, default_headers),
            lambda: openai.OpenAI(
                base_url=base_url,
                # "" sends no Authorization header. None would make the SDK fall back
                # to $OPENAI_API_KEY and send that key to whatever server this is.
                api_key=api_key or "",
                default_headers=default_headers,
                max_retries=0,  # retries.py owns retrying; the SDK must not stack its own
                http_client=openai.DefaultHttpxClient(limits=POOL_LIMITS),
            ),
        )

    def complete(self, request: VisionRequest) -> Reply:
        """Sends one chat completion and returns the first choice's text."""
        body = {
            "model": self.model,
            "messages": to_chat_messages(request.prompt, request.image.data_url()),
            "max_tokens": request.generation.max_tokens,
            "temperature": request.generation.temperature,
            # top_k and repetition_penalty are not OpenAI parameters; OpenRouter,
            # vLLM, SGLang and llama.cpp read what they know of these from the body.
            **request.generation.optional_parameters(),
        }
        try:
            # The SDK's low-level post (its documented way to call any endpoint)
            # keeps its transport, time limits and typed errors, and skips the
            # typed-parameter transformation of `chat.completions.create`, which
            # walks the whole base64 image: half the client CPU per request.
            response = self._client.post(
                "/chat/completions",
                body=body,
                cast_to=object,
                options={"timeout": self._timeout_s},
            )
        except openai.APIStatusError as error:
            raise self._error(
                _status_error_message(error),
                error.status_code,
                retry_after=parse_retry_after(error.response.headers.get("retry-after")),
            ) from None
        except openai.APITimeoutError:
            raise self._error(
                f"no answer within {self._timeout_s} s (request_timeout)", retryable=True
            ) from None
        except openai.APIConnectionError:
            raise self._error(
                f"could not connect to {self._client.base_url}", retryable=True
            ) from None
        except openai.APIResponseValidationError as error:
            raise self._error(f"answered with a malformed body: {error.message}") from None
        return self._read_reply(response)

    def _read_reply(self, response: Any) -> Reply:
        """The first choice as a `Reply`, or a `ProviderError` that says why there is none.

        OpenRouter sometimes answers 200 with an `error` envelope instead of choices.
        """
        if not isinstance(response, dict):  # a proxy's page, not JSON
            raise self._error(f"answered with a body that is not JSON: {str(response)[:200]!r}")
        choices = response.get("choices")
        if not choices or not isinstance(choices, list):
            error = _error_envelope(response)
            code = error.get("code")
            code = code if isinstance(code, int) else None
            raise self._error(
                "answered without a reply: "
                f"{error.get('message') or 'no choices and no error message'}",
                code,
            )
        choice = choices[0] if isinstance(choices[0], dict) else {}
        content = (choice.get("message") or {}).get("content")
        if not isinstance(content, str) or not content.strip():
            raise self._error("answered with an empty reply (no content)")
        input_tokens, output_tokens = usage_token_counts(response.get("usage"))
        return Reply(
            text=content,
            cut_off=choice.get("finish_reason") == "length",
            input_tokens=input_tokens,
            output_tokens=output_tokens,
        )

    def _error(self, message: str, status_code: Optional[int] = None, **kwargs: Any) -> ProviderError:
        # Provider text may echo what it was sent; the key never goes further.
        return ProviderError(self.provider, redact(message, self._api_key), status_code, **kwargs)


def _error_envelope(response: Dict[str, Any]) -> Dict[str, Any]:
    error = response.get("error")
    if isinstance(error, dict):
        return error
    return {"message": str(error)} if error else {}


def _status_error_message(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict):
        nested = body.get("error", body)
        if isinstance(nested, dict) and nested.get("message"):
            return str(nested["message"])
        if isinstance(body.get("detail"), str):  # FastAPI's envelope (`transformers serve`)
            return body["detail"]
    text = error.response.text.strip()
    return text[:200] if text else error.message
