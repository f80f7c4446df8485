"""Cloudflare Workers AI's REST protocol for @cf/meta/llama-3.2-11b-vision-instruct
and @cf/meta/llama-4-scout-17b-16e-instruct.

`WorkersAI` plays one Cloudflare account: it checks the token and the account in
the path, keeps the account's license state (the model refuses with error 5016
until the prompt 'agree' was sent once), validates the body against the model's
messages schema and answers in Cloudflare's envelope. In JSON mode
(`response_format`) its `response` is the document itself, an object; with
`json_mode_unmet` it answers JSON mode with the error Workers AI gives when the
model could not meet the schema. Llama 3.2 Vision takes the image as the `image`
byte array, in the messages form or the prompt form (the only one with `lora`,
a finetune of the account's); Llama 4 Scout only as a data URI in a message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List

from support.chat_server import image_size_text
from support.schema_answers import smallest_answer
from support.loopback import RecordedRequest, Reply

MODEL = "@cf/meta/llama-3.2-11b-vision-instruct"
SCOUT = "@cf/meta/llama-4-scout-17b-16e-instruct"
LICENSE_REFUSAL = (
    "5016: Prior to using this model, you must submit the prompt 'agree'. By submitting "
    "'agree', you hereby agree to the llama-3.2-11b-vision-instruct Community License "
    "and Acceptable Use Policy."
)


def usage(body: Dict[str, Any], reply: str) -> Dict[str, int]:
    """Token counts as Workers AI reports them; made up here from the lengths, so a
    test can tell which request they belong to."""
    texts = [body["prompt"]] if "prompt" in body else [str(message["content"]) for message in body["messages"]]
    prompt = sum(map(len, texts)) // 4
    completion = len(reply.split())
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def envelope(result: Any = None, errors: List[Dict[str, Any]] = ()) -> Dict[str, Any]:
    return {"result": result, "success": not errors, "errors": list(errors), "messages": []}


@dataclass
class WorkersAI:
    account_id: str = "0123456789abcdef0123456789abcdef"
    token: str = "cf-token-0123"
    license_accepted: bool = False
    reply: Callable[[RecordedRequest], str] = image_size_text
    agreements: int = 0
    schema_errors: List[str] = field(default_factory=list)
    json_mode_unmet: bool = False
    finetunes: tuple = ("my-finetune",)

    def __call__(self, request: RecordedRequest) -> Reply:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return 401, envelope(errors=[{"code": 10000, "message": "Authentication error"}])
        model = request.path.rsplit("/ai/run/", 1)[-1]
        if request.path != f"/client/v4/accounts/{self.account_id}/ai/run/{model}" or model not in (MODEL, SCOUT):
            return 404, envelope(
                errors=[{"code": 7003, "message": f"Could not route to {request.path}, perhaps your object identifier is invalid?"}]
            )
        if request.body == {"prompt": "agree"}:
            self.license_accepted = True
            self.agreements += 1
            return 200, envelope({"response": "Thank you for agreeing to the license."})
        if not self.license_accepted and model == MODEL:
            return 403, envelope(errors=[{"code": 5016, "message": LICENSE_REFUSAL}])
        problem = self._scout_problem(request.body) if model == SCOUT else self._schema_problem(request.body)
        if not problem and "lora" in request.body and request.body["lora"] not in self.finetunes:
            problem = f"finetune '{request.body['lora']}' not found"
        if problem:
            self.schema_errors.append(problem)
            return 400, envelope(errors=[{"code": 5006, "message": f"Error: {problem}"}])
        response_format = request.body.get("response_format")
        if response_format is not None:
            if self.json_mode_unmet:
                return 400, envelope(errors=[{"code": 5024, "message": "JSON Mode couldn't be met"}])
            answer = self._json_mode_answer(request, response_format["json_schema"])
            return 200, envelope({"response": answer, "usage": usage(request.body, str(answer))})
        text = self.reply(request)
        return 200, envelope({"response": text, "tool_calls": [], "usage": usage(request.body, text)})

    def _json_mode_answer(self, request: RecordedRequest, schema: Dict[str, Any]) -> Any:
        """The JSON document in the model's reply, else the smallest valid answer."""
        text = self.reply(request)
        try:
            return json.loads(text[text.index("{"): text.rindex("}") + 1])
        except ValueError:
            return smallest_answer(schema)

    @staticmethod
    def _scout_problem(body: Dict[str, Any]) -> str:
        if "image" in body or "lora" in body or "prompt" in body:
            return "Scout takes messages only, its images as data URIs in their content"
        for message in body.get("messages") or []:
            parts = message["content"] if isinstance(message["content"], list) else []
            for part in parts:
                if part["type"] == "image_url" and not part["image_url"]["url"].startswith("data:"):
                    return "image_url must be a data URI"
        return "" if body.get("messages") else "required properties at '/' are 'messages'"

    @staticmethod
    def _schema_problem(body: Dict[str, Any]) -> str:
        if "prompt" in body:  # the prompt form
            if set(body) - {"prompt", "image", "lora", "raw", "max_tokens", "temperature", "top_p", "top_k",
                            "seed", "repetition_penalty", "frequency_penalty", "presence_penalty", "response_format"}:
                return "unknown properties in the prompt form"
            return "" if isinstance(body.get("image"), list) else "image must be an array of integers 0-255"
        if "lora" in body:
            return "lora is only accepted in the prompt form"
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return "required properties at '/' are 'messages'"
        for message in messages:
            if set(message) != {"role", "content"} or not isinstance(message["content"], str):
                return "messages items need a role and a string content"
            if len(message["content"]) > 131072:
                return "content is longer than 131072"
        image = body.get("image")
        if not isinstance(image, list) or not all(isinstance(v, int) and 0 <= v <= 255 for v in image):
            return "image must be an array of integers 0-255"
        if not 0 <= body.get("temperature", 0.6) <= 5:
            return "temperature must be <= 5"
        response_format = body.get("response_format")
        if response_format is not None and (
            response_format.get("type") not in ("json_object", "json_schema")
            or not isinstance(response_format.get("json_schema", {}), dict)
        ):
            return "response_format must have a type of json_object or json_schema"
        return ""
