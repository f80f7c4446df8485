"""OpenAI chat-completions answers, as OpenRouter, vLLM and Ollama give them.

By default the server answers with the size of the image it was sent,
`"<w>x<h>"`, so a test can tell which reply belongs to which image.
"""

from __future__ import annotations

import time
from typing import Any, Dict, Optional

from support.loopback import LoopbackServer, RecordedRequest, Reply


def chat_completion(content: Optional[str], model: str = "test-model", **extra: Any) -> Dict[str, Any]:
    """A chat-completions response body with one choice."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13},
        **extra,
    }


def image_size_text(request: RecordedRequest) -> str:
    height, width = request.image().shape[:2]
    return f"{width}x{height}"


def reply_with_image_size(request: RecordedRequest) -> Reply:
    return 200, chat_completion(image_size_text(request), model=request.body["model"])


def vllm(served_model_name: str):
    """A responder that answers like `vllm serve <served_model_name>`."""

    def respond(request: RecordedRequest) -> Reply:
        if request.body["model"] != served_model_name:
            return 404, {
                "object": "error",
                "message": f"The model `{request.body['model']}` does not exist.",
                "type": "NotFoundError",
                "param": None,
                "code": 404,
            }
        body = chat_completion(image_size_text(request), model=served_model_name, prompt_logprobs=None)
        body["choices"][0].update(logprobs=None, stop_reason=None)
        return 200, body

    return respond


def ollama(model: str = "llama3.2-vision"):
    """A responder that answers like Ollama's OpenAI-compatible endpoint."""

    def respond(request: RecordedRequest) -> Reply:
        if request.body["model"] != model:
            return 404, {
                "error": {
                    "message": f'model "{request.body["model"]}" not found, try pulling it first',
                    "type": "api_error",
                    "param": None,
                    "code": None,
                }
            }
        return 200, chat_completion(image_size_text(request), model=model, system_fingerprint="fp_ollama")

    return respond


class ChatServer(LoopbackServer):
    """A chat-completions server; `base_url` is what a client is pointed at."""

    def __init__(self, responder=reply_with_image_size, base_path: str = "/api/v1", port: int = 0) -> None:
        super().__init__(responder=responder, port=port)
        self.base_path = base_path

    @property
    def base_url(self) -> str:
        return f"{self.origin}{self.base_path}"
