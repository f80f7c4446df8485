"""What a provider is, in one typed record: its `ProviderSpec`.

Each provider module exports one `SPEC`; `providers/__init__.py` lists them in
`PROVIDERS`. The `model_version` labels, the manifest's per-provider properties
(and the editor's `relevant_for`), the CLI's key lookup, the operator's route and
the block all read the registry, so adding a provider is one module and one line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Tuple

if TYPE_CHECKING:  # the annotations only; importing them here would be circular
    from llama_vision_block.providers.base import Backend, ProviderSettings


@dataclass(frozen=True)
class StepSetting:
    """A step property that only some providers read. The manifest makes it a field
    (plain data here, so declaring one imports nothing from inference)."""

    name: str
    description: str
    kind: str = "string"  # "string", "boolean" or "integer"
    default: Any = None
    examples: Tuple[Any, ...] = ()
    selector: bool = True  # whether a workflow input may supply it
    minimum: Optional[int] = None
    maximum: Optional[int] = None


@dataclass(frozen=True)
class ProviderSpec:
    """One provider: how to name it, what it needs, and how to build its backend."""

    id: str  # as `ModelVariant.provider` says it: "cloudflare"
    name: str  # as messages and docs say it: "Cloudflare Workers AI"
    labels: Mapping[str, str]  # `model_version` label -> this provider's model id
    create_backend: Callable[[str, "ProviderSettings"], "Backend"]
    needs_key: bool = False
    key_env: Optional[str] = None  # where the CLI and the examples find the key
    address_env: Optional[str] = None  # where the operator says the provider is
    # Step properties only this provider reads: the editor shows them for its labels.
    settings: Tuple[StepSetting, ...] = ()
    # A line added to a shared setting's description: how this provider reads it.
    setting_notes: Mapping[str, str] = field(default_factory=dict)
    # Sampling parameters it may not honour -> the warning logged when a step sets one.
    parameter_notes: Mapping[str, str] = field(default_factory=dict)
    # What its backend takes: the image as JPEG bytes ("jpeg") or as pixels ("pixels").
    image_form: str = "jpeg"
    # False for a provider that no longer serves the model (OpenRouter).
    live: bool = True
