"""What the manifest says about the providers, written from their specs.

The editor's long description, the `api_key`, `model_version` and
`constrained_decoding` texts name providers; they read every name, blurb and
variable from the registry, so a provider added there is described everywhere.
"""

from __future__ import annotations

from typing import List

from llama_vision_block.families import FAMILIES, LLAMA_4
from llama_vision_block.model_versions import DEFAULT_MODEL_VERSION, MODEL_VARIANTS
from llama_vision_block.providers.registry import PROVIDERS
from llama_vision_block.providers.spec import ProviderSpec


def _joined(items: List[str], last: str = "and") -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {last} {items[-1]}"


def _routed() -> List[ProviderSpec]:
    return [spec for spec in PROVIDERS.values() if spec.route_env]


def where_it_runs() -> str:
    """The long description's paragraphs on providers: one line each, the Llama 4
    labels, and the route of labels whose provider no longer serves them."""
    default = MODEL_VARIANTS[DEFAULT_MODEL_VERSION].provider
    lines = ["Choose where the model runs with `model_version`:", ""]
    lines += [
        f"* **{spec.name}**{' (the default)' if spec.id == default else ''}: {spec.blurb}."
        for spec in PROVIDERS.values()
    ]
    family = FAMILIES[LLAMA_4].name
    fourth = [  # a label says "<model> - <provider>"
        f"{spec.name} ({_joined([label.split(' - ')[0].replace(family, '').strip() for label in llama4])})"
        for spec in PROVIDERS.values()
        if (llama4 := [label for label, served in spec.labels.items() if served.live and served.family == LLAMA_4])
    ]
    lines += [
        "",
        f"`11B` is faster and cheaper, `90B` gives better answers. Meta's {family} reads "
        f"images too, on {'; '.join(fourth)}. Each image is sent at the size its model reads.",
    ]
    for spec in _routed():
        lines += ["", f"{spec.name} no longer serves some of its labels' models: {route_text(spec)}"]
    return "\n".join(lines)


def route_text(spec: ProviderSpec) -> str:
    """How a server's operator sends `spec`'s labels to a live provider."""
    return f"the operator sets `{spec.route_env}` to a live `model_version`, and every {spec.name} label runs there."


def keyed_providers() -> str:
    """The providers that refuse a step without an API key."""
    return _joined([spec.name for spec in PROVIDERS.values() if spec.needs_key])


def routed_labels() -> str:
    """A sentence on the labels an operator's route may send elsewhere."""
    return " ".join(f"{spec.name}'s labels run where ${spec.route_env} sends them." for spec in _routed())


def constraining_providers() -> str:
    """Where the answer can be held to the task's JSON schema."""
    return _joined([spec.constrains for spec in PROVIDERS.values() if spec.constrains])
