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


def _providers() -> List[Dict[str, Any]]:
    """What the registry says about each provider, as the snapshot holds it."""
    from llama_vision_block.cli.describe import description

    return description()["providers"]


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


def add_block_options(parser: argparse.ArgumentParser, repeatable: Iterable[str] = ()) -> None:
    """One option per manifest property; unset options are left out of the step. A
    property in `repeatable` may be given several times (a list of values)."""
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
        if prop in repeatable:
            kwargs["action"] = "append"
            kwargs["help"] += "; repeat the option for several"
        if prop == "api_key":
            keys = " or ".join(f"${p['key_env']} ({p['name']})" for p in _providers() if p["key_env"])
            kwargs["help"] += f"; default ${API_KEY_ENV}, else {keys}"
        group.add_argument(*names, **kwargs)


def split_list(values: Iterable[str]) -> List[str]:
    """Repeated and comma-separated option values as one list of non-empty items."""
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
            value = split_list(value)
        properties[prop] = value
    return properties


def default_model_version(args: argparse.Namespace) -> str:
    """The default label of the provider that the options or the environment set up.

    A provider is set up when each of its spec's `needs` is met, by its option or
    its environment variable. One set up by an option of its own (--base-url,
    --model-path) comes first; then the registry's order. With none, a UsageError
    that lists the providers and what each needs.
    """
    ready = [p for p in _providers() if p["default_label"] and all(_met(need, args) for need in p["needs"])]
    chosen = [p for p in ready if any(_given(need, args) for need in p["needs"])] + ready
    if chosen:
        return chosen[0]["default_label"]
    raise UsageError(no_provider_message())


def _given(need: Dict[str, Any], args: argparse.Namespace) -> bool:
    """Whether an option of the provider's own says it (a key may be any provider's)."""
    return need["option"] not in (None, "api_key") and bool(getattr(args, need["option"], None))


def _met(need: Dict[str, Any], args: argparse.Namespace) -> bool:
    if need["option"] == "api_key" and (getattr(args, "api_key", None) or os.environ.get(API_KEY_ENV)):
        return True
    return _given(need, args) or bool(os.environ.get(need["env"]))


def _need_text(need: Dict[str, Any]) -> str:
    return f"{option_name(need['option'])} or ${need['env']}" if need["option"] else f"${need['env']}"


def no_provider_message() -> str:
    """What `run` says when no provider is set up: each one, and what it needs."""
    ways = []
    for p in sorted(_providers(), key=lambda p: p["default_label"] is None):  # those it can pick first
        if p["default_label"]:
            needs = " and ".join(_need_text(need) for need in p["needs"])
            ways.append(f"{p['name']} ({p['blurb']}): set {needs}, or give --model-version '{p['default_label']}'")
        else:
            ways.append(f"{p['name']} ({p['blurb']}): give --model-version one of its labels")
    return (
        "no --model-version given and no provider is set up. Set one up: "
        + "; ".join(ways)
        + ". See docs/providers.md"
    )


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
