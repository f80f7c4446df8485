"""The registry of provider specs: `PROVIDERS`, and what is read from all of them.

Each provider module exports one `ProviderSpec` (`spec.py`) as `SPEC`; `PROVIDERS`
lists them, and everything that depends on a provider reads it from here.
Adding a provider is one module and one line below. The providers import nothing
from here or above: the registry sits on top of them.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Mapping, Optional, Protocol

from llama_vision_block.errors import ConfigurationError
from llama_vision_block.providers.remote import cloudflare, ollama, openai_compatible, openrouter
from llama_vision_block.providers.local import backend as local_backend
from llama_vision_block.providers.base import Backend, Generation, ProviderSettings
from llama_vision_block.providers.spec import ProviderSpec, StepSetting



class Variant(Protocol):
    """What a `model_version` label resolves to (`model_versions.ModelVariant`)."""

    provider: str  # a key of PROVIDERS
    model: str  # the provider's model id
    family: str  # its key in families.FAMILIES

logger = logging.getLogger(__name__)

# In the order the editor lists their model versions.
PROVIDERS: Dict[str, ProviderSpec] = {
    spec.id: spec
    for spec in (
        openrouter.SPEC,
        cloudflare.SPEC,
        ollama.SPEC,
        openai_compatible.SPEC,
        local_backend.SPEC,
    )
}


def _step_settings(specs: List[ProviderSpec]) -> Dict[str, StepSetting]:
    settings: Dict[str, StepSetting] = {}
    for spec in specs:
        for setting in spec.settings:
            # Providers that share a property (Ollama and compatible servers share
            # `base_url`) share its declaration; `setting_notes` say how each reads it.
            if settings.setdefault(setting.name, setting) != setting:
                raise ValueError(f"providers declare the step property '{setting.name}' differently.")
    return settings


# Every provider's own step properties, by name: the manifest makes each a field.
STEP_SETTINGS: Dict[str, StepSetting] = _step_settings(list(PROVIDERS.values()))


def providers_reading(name: str) -> List[ProviderSpec]:
    """The providers whose spec lists the step property `name`."""
    return [spec for spec in PROVIDERS.values() if any(s.name == name for s in spec.settings)]


def ignored_setting_problem(spec: ProviderSpec, properties: Mapping[str, Any]) -> Optional[str]:
    """Why the step cannot run on `spec`'s provider: it set a property that must not
    be ignored (`StepSetting.elsewhere`) and this provider does not read; or None."""
    own = {setting.name for setting in spec.settings}
    for name, setting in STEP_SETTINGS.items():
        value = properties.get(name)
        if setting.elsewhere and name not in own and value not in (None, "", setting.default):
            readers = " and ".join(reader.name for reader in providers_reading(name))
            return f"`{name}` is read by {readers} only, and this step runs on {spec.name}. {setting.elsewhere}"
    return None


def create_backend(variant: Variant, settings: ProviderSettings, generation: Generation) -> Backend:
    """Builds the backend that runs `variant`, warning about parameters it may ignore."""
    spec = PROVIDERS.get(variant.provider)
    if spec is None:
        raise ConfigurationError(
            f"no backend is registered for provider '{variant.provider}'."
        )
    for name in generation.optional_parameters():
        if name in spec.parameter_notes:
            logger.warning(spec.parameter_notes[name])
    return spec.create_backend(variant.model, settings, variant.family)


__all__ = ["PROVIDERS", "STEP_SETTINGS", "Variant", "create_backend", "ignored_setting_problem", "providers_reading"]
