"""A backend for any server that speaks OpenAI's chat-completions protocol."""

from __future__ import annotations

from typing import Any, Dict, Optional

import openai

from llama_vision_block.errors import ProviderError
from llama_vision_block.prompts import to_chat_messages
from llama_vision_block.providers.base import VisionRequest

# A VLM reading a 4-tile image can take well over a minute on a busy free tier.
REQUEST_TIMEOUT_S = 120.0
MAX_RETRIES = 2
# Not in OpenAI's API: sent in the body, where OpenRouter, vLLM, SGLang and
# llama.cpp read them.
EXTRA_BODY_PARAMETERS = frozenset({"top_k", "repetition_penalty"})


class OpenAIChatBackend:
    """Sends each request through one `openai.OpenAI` client that owns the transport."""

    def __init__(
        self,
        provider: str,
        model: str,
        base_url: str,
        api_key: Optional[str],
        default_headers: Optional[Dict[str, str]] = None,
    ) -> None:
        self.provider = provider
        self.model = model
        self._client = openai.OpenAI(
            base_url=base_url,
            # "" sends no Authorization header. None would make the SDK fall back to
            # $OPENAI_API_KEY and send that key to whatever server this is.
            api_key=api_key or "",
            default_headers=default_headers,
            timeout=REQUEST_TIMEOUT_S,
            max_retries=MAX_RETRIES,
        )

    def complete(self, request: VisionRequest) -> str:
        """Sends one chat completion and returns the text of the first choice."""
        optional = request.generation.optional_parameters()
        extra_body = {k: v for k, v in optional.items() if k in EXTRA_BODY_PARAMETERS}
        try:
            response = self._client.chat.completions.create(
                model=self.model,
                messages=to_chat_messages(request.prompt, request.image.data_url()),
                max_tokens=request.generation.max_tokens,
                temperature=request.generation.temperature,
                extra_body=extra_body or None,
                **{k: v for k, v in optional.items() if k not in EXTRA_BODY_PARAMETERS},
            )
        except openai.APIStatusError as error:
            raise ProviderError(
                self.provider, _status_error_message(error), error.status_code
            ) from None
        except openai.APITimeoutError:
            raise ProviderError(
                self.provider, f"no answer within {REQUEST_TIMEOUT_S:.0f} s"
            ) from None
        except openai.APIConnectionError:
            raise ProviderError(
                self.provider, f"could not connect to {self._client.base_url}"
            ) from None
        return read_reply_text(response, self.provider)


def read_reply_text(response: Any, provider: str) -> str:
    """The text of the first choice, or a `ProviderError` that says why there is none.

    OpenRouter sometimes answers 200 with an `error` envelope instead of choices.
    """
    choices = getattr(response, "choices", None)
    if not choices:
        error = _error_envelope(response)
        message = error.get("message") or "no choices and no error message"
        code = error.get("code")
        raise ProviderError(
            provider,
            f"answered without a reply: {message}",
            code if isinstance(code, int) else None,
        )
    content = choices[0].message.content
    if content is None:
        raise ProviderError(provider, "answered with an empty reply (no content)")
    return content


def _error_envelope(response: Any) -> Dict[str, Any]:
    error = (getattr(response, "model_extra", None) or {}).get("error")
    if isinstance(error, dict):
        return error
    return {"message": str(error)} if error else {}


def _status_error_message(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict):
        nested = body.get("error", body)
        if isinstance(nested, dict) and nested.get("message"):
            return str(nested["message"])
    return error.message
