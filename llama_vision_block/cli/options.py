"""Command-line options derived from the block's manifest, one per property.

The options are read from the manifest's JSON schema, as the package's snapshot of
it holds it (`describe.description()`: no engine import, so `--help` is fast), so a
property added to the manifest later becomes an option without touching the CLI:
`task_type` is `--task`, every other `some_name` is `--some-name`.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any, Dict, Iterable, List, Optional, Set

from llama_vision_block.cli.errors import UsageError, describe_validation_error

# Properties that are not options: the step's identity and its image input.
NOT_OPTIONS = frozenset({"type", "name", "images"})
RENAMED = {"task_type": "task"}
API_KEY_ENV = "LLAMA_VISION_API_KEY"
CLOUDFLARE_LABEL = "11B - Cloudflare Workers AI"
NO_PROVIDER_MESSAGE = (
    "no --model-version given and no provider is set up. Llama 3.2 Vision runs on: "
    "Cloudflare Workers AI (set CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN; accept "
    "Meta's licence once with --cloudflare-accept-llama-license); Ollama on your machine "
    "(`ollama pull llama3.2-vision`, then --model-version '11B - Ollama'); your own "
    "OpenAI-compatible server such as vLLM up to 0.10.2, SGLang or `transformers serve` "
    "(--base-url URL, or LLAMA_VISION_BASE_URL); this machine's GPU (--model-path DIR, "
    "or LLAMA_VISION_MODEL_PATH; needs pip install 'llama-vision-block[local]'). "
    "OpenRouter no longer hosts the model. See docs/providers.md"
)


def property_names() -> List[str]:
    """The block properties the CLI offers as options, in manifest order."""
    from llama_vision_block.cli.describe import description

    return [name for name in description()["schema"]["properties"] if name not in NOT_OPTIONS]


def option_name(prop: str) -> str:
    return "--" + RENAMED.get(prop, prop).replace("_", "-")


def _value_types(schema: Dict[str, Any]) -> Set[str]:
    """JSON types a property takes as a literal value (selectors left out)."""
    types: Set[str] = set()
    for variant in schema.get("anyOf", [schema]):
        if "kind" in variant or "reference" in variant:
            continue  # a `$inputs.x` / `$steps.x.y` selector
        kind = variant.get("type")
        if "enum" in variant:
            types.add("enum")
        elif isinstance(kind, str) and kind != "null":
            types.add(kind)
    return types


def _enum_values(schema: Dict[str, Any]) -> Optional[List[str]]:
    for variant in schema.get("anyOf", [schema]):
        if "enum" in variant:
            return list(variant["enum"])
    return None


def _json_object(text: str) -> Dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not valid JSON ({error.msg} at column {error.colno})")
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object, e.g. '{\"key\": \"description\"}'")
    return value


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


# Where `run` chooses differently from the manifest's one default value.
_RUN_DEFAULTS = {
    "model_version": "the live provider that the options or the environment set up, see below",
    "max_tokens": "the task's: 500, and 6144 for object-detection",
}


def _help_text(prop: str, schema: Dict[str, Any]) -> str:
    description = " ".join(str(schema.get("description", "")).split())
    first = description.split(". ")[0].rstrip(".")
    default = _RUN_DEFAULTS.get(prop, schema.get("default"))
    extra = f" (default: {default})" if default not in (None, False) else ""
    text = f"`{prop}`: {first}{extra}"
    return text.replace("%", "%%")


def add_block_options(parser: argparse.ArgumentParser) -> None:
    """One option per manifest property; unset options are left out of the step."""
    from llama_vision_block.cli.describe import description

    schema = description()["schema"]["properties"]
    group = parser.add_argument_group("block properties (see docs/block.md)")
    for prop in property_names():
        prop_schema = schema.get(prop, {})
        types = _value_types(prop_schema)
        names = [option_name(prop)]
        if prop in RENAMED:
            names.append("--" + prop.replace("_", "-"))
        # A future property named like one of the command's own options gets a prefix.
        names = [
            "--block-" + name[2:] if name in parser._option_string_actions else name
            for name in names
        ]
        kwargs: Dict[str, Any] = {"dest": prop, "default": None, "help": _help_text(prop, prop_schema)}
        if "enum" in types:
            kwargs.update(choices=_enum_values(prop_schema), metavar="VALUE")
            kwargs["help"] += "; one of: " + ", ".join(map(str, kwargs["choices"])).replace("%", "%%")
        elif types == {"boolean"}:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif "array" in types:
            kwargs.update(action="append", metavar="A,B", type=str)
            kwargs["help"] += "; a comma-separated list, or repeat the option"
        elif "object" in types:
            kwargs.update(type=_json_object, metavar="JSON")
        elif types == {"integer"}:
            kwargs.update(type=int, metavar="N")
        elif types <= {"integer", "number"} and types:
            kwargs.update(type=float, metavar="X")
        elif types == {"string"}:
            kwargs.update(type=str, metavar="TEXT")
        else:
            kwargs.update(type=_json_or_text, metavar="VALUE")
        if prop == "api_key":
            kwargs["help"] += f"; default ${API_KEY_ENV}, else $CLOUDFLARE_API_TOKEN (Cloudflare) or $OPENROUTER_API_KEY (OpenRouter)"
        group.add_argument(*names, **kwargs)


def _split_list(values: Iterable[str]) -> List[str]:
    items = [item.strip() for value in values for item in value.split(",")]
    return [item for item in items if item]


def step_properties(args: argparse.Namespace) -> Dict[str, Any]:
    """The block properties given on the command line (api_key excluded)."""
    properties: Dict[str, Any] = {}
    for prop in property_names():
        value = getattr(args, prop, None)
        if value is None or prop == "api_key":
            continue
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            value = _split_list(value)
        properties[prop] = value
    return properties


def default_model_version(args: argparse.Namespace) -> str:
    """The label of the live provider that the options or the environment set up.

    In order: --base-url (a compatible server), --model-path (this machine's GPU),
    Cloudflare credentials, $LLAMA_VISION_BASE_URL, $LLAMA_VISION_OLLAMA_BASE_URL,
    $LLAMA_VISION_MODEL_PATH; with none of them, a UsageError that lists the live
    providers and what each needs.
    """
    from llama_vision_block.providers.local import backend as local_backend
    from llama_vision_block.providers.remote import cloudflare, ollama, openai_compatible

    if getattr(args, "base_url", None):
        return "11B - OpenAI-compatible server"
    if getattr(args, "model_path", None):
        return "11B - Local GPU (transformers)"
    has_key = getattr(args, "api_key", None) or os.environ.get(API_KEY_ENV) or os.environ.get(cloudflare.KEY_ENV)
    has_account = getattr(args, "cloudflare_account_id", None) or os.environ.get(cloudflare.ACCOUNT_ID_ENV)
    if has_key and has_account:
        return CLOUDFLARE_LABEL
    for env, label in (
        (openai_compatible.BASE_URL_ENV, "11B - OpenAI-compatible server"),
        (ollama.BASE_URL_ENV, "11B - Ollama"),
        (local_backend.MODEL_PATH_ENV, "11B - Local GPU (transformers)"),
    ):
        if os.environ.get(env):
            return label
    raise UsageError(NO_PROVIDER_MESSAGE)


def key_env_for(model_version: Any) -> Optional[str]:
    """The environment variable that holds the key of the provider `model_version`
    runs on (after the operator's OpenRouter route), or None: that provider needs none,
    or the label is not known here (a selector)."""
    from llama_vision_block.model_versions import MODEL_VARIANTS, resolve_model_version
    from llama_vision_block.providers.registry import PROVIDERS

    if model_version not in MODEL_VARIANTS:
        return None
    return PROVIDERS[resolve_model_version(model_version).provider].key_env


def resolve_api_key(given: Optional[str], model_version: str) -> Optional[str]:
    """--api-key, else $LLAMA_VISION_API_KEY, else the variable of the provider that
    `model_version` runs on; never another provider's key."""
    if given:
        return given
    if os.environ.get(API_KEY_ENV):
        return os.environ[API_KEY_ENV]
    env = key_env_for(model_version)
    return os.environ.get(env) or None if env else None


def validate_step(step: Dict[str, Any], has_api_key: bool) -> None:
    """Checks the step as the engine will, with errors that name the field.

    The key itself never goes into validation, so no message can quote it.
    """
    from pydantic import ValidationError

    from llama_vision_block.manifest import BlockManifest

    candidate = dict(step)
    if has_api_key:
        candidate["api_key"] = "$inputs.api_key"
    try:
        BlockManifest.model_validate(candidate)
    except ValidationError as error:
        raise UsageError(describe_validation_error(error)) from None
