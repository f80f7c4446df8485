"""What a step's caller may make the server reach: the operator's settings.

Whoever POSTs a workflow to a shared inference server is not trusted. A step
property that names a server, a path or a device is checked here, before anything
is contacted or opened; values the operator configured (environment defaults) are
trusted as they are. Each setting, when unset, allows anything, as a script on
one's own machine expects; `llama-vision serve` sets them closed unless the operator
did (`closed_server_defaults`).

- `OPENAI_COMPATIBLE_ALLOWED_BASE_URLS`: inference's own setting, with the meaning it
  has for `roboflow_core/openai_compatible@v1`: comma-separated base URLs, matched
  exactly (trailing slashes ignored); `*` allows any; empty allows none.
- `LLAMA_VISION_MODEL_ROOTS`: folders (separated by the OS path separator) that a
  step's `model_path` must lie in; empty allows none.
- `LLAMA_VISION_ALLOWED_DEVICES`: comma-separated devices a step may name
  (`cuda:0`, `cpu`, …); empty allows none, leaving the automatic choice.

None of it matters while the server runs any caller's Python: inference's
Custom Python blocks do unless `ALLOW_CUSTOM_PYTHON_EXECUTION_IN_WORKFLOWS` is
false, so `llama-vision serve` turns them off too, unless the operator set it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Mapping, Optional
from urllib.parse import urlsplit

from llama_vision_block.errors import ConfigurationError, RefusedByOperator
from llama_vision_block.providers.base import ProviderSettings
from llama_vision_block.providers.spec import ProviderSpec

ALLOWED_BASE_URLS_ENV = "OPENAI_COMPATIBLE_ALLOWED_BASE_URLS"
MODEL_ROOTS_ENV = "LLAMA_VISION_MODEL_ROOTS"
ALLOWED_DEVICES_ENV = "LLAMA_VISION_ALLOWED_DEVICES"
CUSTOM_PYTHON_ENV = "ALLOW_CUSTOM_PYTHON_EXECUTION_IN_WORKFLOWS"  # inference's


def _listed(name: str, separator: str = ",") -> Optional[List[str]]:
    """The setting's entries, or None when it is unset (anything goes)."""
    raw = os.environ.get(name)
    if raw is None:
        return None
    return [item.strip() for item in raw.split(separator) if item.strip()]


def allowed_base_urls() -> Optional[List[str]]:
    """The operator's base URLs without trailing slashes; None when any is allowed."""
    listed = _listed(ALLOWED_BASE_URLS_ENV)
    if listed is None:
        return None  # inference's default is "*"
    if "*" in listed:
        return None
    return [url.rstrip("/") for url in listed]


def check_base_url(url: str) -> str:
    """`url` (a step's `base_url`) if it is an HTTP(S) URL the operator allows."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc or parts.query or parts.fragment:
        raise ConfigurationError(
            "`base_url` must be an HTTP(S) URL without credentials, query string or "
            "fragment, such as http://localhost:8000/v1."
        )
    allowed = allowed_base_urls()
    if allowed is not None and url.rstrip("/") not in allowed:
        raise RefusedByOperator(
            "`base_url` is not one of the servers this server's operator allows; the "
            f"operator lists them in {ALLOWED_BASE_URLS_ENV} (`*` allows any)."
        )
    return url


def check_step(spec: ProviderSpec, settings: ProviderSettings) -> None:
    """Checks each value the step gave one of the provider's guarded properties
    (`StepSetting.guard`) against the operator's settings, before anything is built."""
    for setting in spec.settings:
        value = settings.option(setting.name)
        if setting.guard is not None and value is not None and str(value).strip():
            _GUARDS[setting.guard](str(value).strip())


def check_model_path(path: Path) -> Path:
    """`path` (a step's `model_path`, resolved) if it lies in an allowed folder.

    The message never says whether the path exists, so it cannot be used to probe
    the server's disk."""
    roots = _listed(MODEL_ROOTS_ENV, os.pathsep)
    if roots is None:
        return path
    for root in roots:
        if path.is_relative_to(Path(root).expanduser().resolve()):
            return path
    raise RefusedByOperator(
        "`model_path` is outside the folders this server's operator allows; the "
        f"operator lists them in {MODEL_ROOTS_ENV}. Leave `model_path` unset to use "
        "the server's own model."
    )


def check_device(device: str) -> str:
    """`device` (a step's `device`, as given) if the operator allows it."""
    allowed = _listed(ALLOWED_DEVICES_ENV)
    if allowed is not None and device.strip().lower() not in {item.lower() for item in allowed}:
        raise RefusedByOperator(
            "`device` is not one this server's operator allows; the operator lists "
            f"them in {ALLOWED_DEVICES_ENV}. Leave `device` unset for the automatic choice."
        )
    return device


def closed_server_defaults(environ: Mapping[str, str]) -> Dict[str, str]:
    """The settings `llama-vision serve` adds when the operator left them unset:
    callers reach only the servers the operator configured, name no model path,
    pick no device and run no Python of their own."""
    from llama_vision_block.providers.registry import PROVIDERS

    # The servers the operator set for the providers whose `base_url` a step may name.
    servers = [
        spec.address_env for spec in PROVIDERS.values()
        if spec.address_env and any(setting.guard == "base_url" for setting in spec.settings)
    ]
    configured = [environ[name] for name in dict.fromkeys(servers) if environ.get(name)]
    defaults = {
        ALLOWED_BASE_URLS_ENV: ",".join(configured),
        MODEL_ROOTS_ENV: "",
        ALLOWED_DEVICES_ENV: "",
        CUSTOM_PYTHON_ENV: "False",
    }
    return {name: value for name, value in defaults.items() if name not in environ}


# What each `StepSetting.guard` names, and the check a step's value of it passes.
_GUARDS = {
    "base_url": check_base_url,
    "model_path": lambda value: check_model_path(Path(value).expanduser().resolve()),
    "device": check_device,
}
