"""What a provider is, in one typed record: its `ProviderSpec`.

Each provider module exports one `SPEC`; `providers/registry.py` lists them in
`PROVIDERS`. The `model_version` labels, the manifest's per-provider properties
(and the editor's `relevant_for`), the CLI's key lookup, the operator's route and
the block all read the registry, so adding a provider is one module and one line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Tuple

from llama_vision_block.errors import ConfigurationError
from llama_vision_block.families import LLAMA_32_VISION
from llama_vision_block.providers.base import Backend, ProviderSettings


@dataclass(frozen=True)
class Served:
    """A model a provider serves under one `model_version` label."""

    model: str  # the provider's model id
    family: str = LLAMA_32_VISION  # its key in families.FAMILIES
    live: bool = True  # False once the provider stopped serving it


@dataclass(frozen=True)
class StepSetting:
    """A step property that only some providers read. The manifest makes it a field
    (plain data here, so declaring one imports nothing from inference)."""

    name: str
    description: str
    kind: str = "string"  # "string", "boolean" or "integer"
    default: Any = None
    choices: Tuple[str, ...] = ()  # for a string: the values it may take (the editor's list)
    # For a string: the form its value must have (a full match), and how a message says it.
    pattern: Optional[str] = None
    pattern_says: str = ""
    examples: Tuple[Any, ...] = ()
    selector: bool = True  # whether a workflow input may supply it
    minimum: Optional[int] = None
    maximum: Optional[int] = None
    # Set for a property a step must not give a provider that ignores it (the
    # adapter it names would silently not apply): what to do there instead.
    elsewhere: Optional[str] = None
    # What the operator's settings restrict in a step's value, on a shared server:
    # "base_url", "model_path" or "device" (`access.py` checks them before the
    # backend is built); None for a property any caller may set.
    guard: Optional[str] = None


@dataclass(frozen=True)
class Need:
    """Something `llama-vision run` looks for to call a provider set up when no
    `--model-version` is given: the step property `option` given on the command
    line, or else the environment variable `env`."""

    env: str
    option: Optional[str] = None  # None: only the environment says it ("api_key": any key option)


@dataclass(frozen=True)
class ProviderSpec:
    """One provider: how to name it, what it needs, and how to build its backend."""

    id: str  # as `ModelVariant.provider` says it: "cloudflare"
    name: str  # as messages and docs say it: "Cloudflare Workers AI"
    labels: Mapping[str, Served]  # `model_version` label -> the model it runs
    # (model id, settings, family key) -> the backend; the family says how its
    # requests differ (families.py), where they do for this provider.
    create_backend: Callable[[str, ProviderSettings, str], Backend]
    needs_key: bool = False
    key_env: Optional[str] = None  # where the CLI and the examples find the key
    address_env: Optional[str] = None  # where the operator says the provider is
    # Set for a provider whose labels the operator may send elsewhere: the variable
    # that names the label they run as instead (`model_versions.resolve_model_version`).
    route_env: Optional[str] = None
    # Step properties only this provider reads: the editor shows them for its labels.
    settings: Tuple[StepSetting, ...] = ()
    # A line added to a shared setting's description: how this provider reads it.
    setting_notes: Mapping[str, str] = field(default_factory=dict)
    # Sampling parameters it may not honour -> the warning logged when a step sets one.
    parameter_notes: Mapping[str, str] = field(default_factory=dict)
    # What its backend takes: the image as JPEG bytes ("jpeg") or as pixels ("pixels").
    image_form: str = "jpeg"
    # How the product speaks of it: the manifest's texts and the CLI's messages read these.
    blurb: str = ""  # said after its name: where it runs and what a user must have
    constrains: str = ""  # how it holds an answer to a JSON schema, as the docs say it; "" if it cannot
    # The label `llama-vision run` picks when no `--model-version` is given and every
    # one of `needs` is met; None for a provider it never picks by itself.
    default_label: Optional[str] = None
    needs: Tuple[Need, ...] = ()


def provider_settings(spec: ProviderSpec, properties: Mapping[str, Any], api_key: Optional[str]) -> ProviderSettings:
    """The settings a step gives its provider: only the properties its spec lists,
    each checked against its declared kind and bounds (a selector's value arrives
    unchecked by the manifest), so a provider reads values of the kind it declared."""
    options = {}
    for setting in spec.settings:
        value = properties.get(setting.name, setting.default)
        problem = None if value is None else kind_problem(setting, value)
        if problem:
            raise ConfigurationError(problem)
        options[setting.name] = value
    return ProviderSettings(
        api_key=api_key,
        request_timeout=properties.get("request_timeout", ProviderSettings.request_timeout),
        options=options,
    )


def kind_problem(setting: StepSetting, value: Any) -> Optional[str]:
    """Why `value` is not of `setting`'s kind, within its bounds, one of its choices
    or of its form, or None."""
    if setting.kind == "boolean":
        return None if isinstance(value, bool) else f"`{setting.name}` must be true or false; got {value!r}."
    if setting.kind == "integer":
        whole = isinstance(value, int) and not isinstance(value, bool)
        low = setting.minimum if setting.minimum is not None else float("-inf")
        high = setting.maximum if setting.maximum is not None else float("inf")
        if whole and low <= value <= high:
            return None
        bounds = f" from {setting.minimum}" if setting.minimum is not None else ""
        bounds += f" to {setting.maximum}" if setting.maximum is not None else ""
        return f"`{setting.name}` must be a whole number{bounds}; got {value!r}."
    if not isinstance(value, str):
        return f"`{setting.name}` must be text; got {value!r}."
    if setting.choices and value not in setting.choices:
        return f"`{setting.name}` must be one of {', '.join(map(repr, setting.choices))}; got {value!r}."
    if setting.pattern and not re.fullmatch(setting.pattern, value):
        return f"`{setting.name}` must be {setting.pattern_says or 'of the form ' + setting.pattern}; got {value!r}."
    return None
