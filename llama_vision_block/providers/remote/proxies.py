"""Which proxy a request goes through: the environment's, as a plain httpx client reads it.

`HTTP_PROXY`, `HTTPS_PROXY` and `ALL_PROXY` (either case) name the proxy for a
target's scheme, or for any; `NO_PROXY` lists the hosts (and domains, `*` for all)
reached directly. The operator's allow-list of `base_url`s (`access.py`) judges the
target a step names, never the proxy on the way to it.
"""

from __future__ import annotations

import os
from typing import Dict, Mapping, Optional
from urllib.parse import urlsplit

# The proxies the transport can speak through: plain HTTP ones (HTTPS targets are
# tunnelled with CONNECT) and TLS to the proxy itself.
SUPPORTED_SCHEMES = ("http", "https")


def proxy_for(url: str, environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The proxy URL a request to `url` goes through, or None for a direct connection."""
    proxies = _environment_proxies(os.environ if environ is None else environ)
    target = urlsplit(url)
    proxy = proxies.get(target.scheme) or proxies.get("all")
    if not proxy or _bypassed(target.hostname or "", target.port, proxies.get("no", "")):
        return None
    if "://" not in proxy:  # "proxy:3128", as curl takes it
        proxy = f"http://{proxy}"
    return proxy


def _environment_proxies(environ: Mapping[str, str]) -> Dict[str, str]:
    """{"http" | "https" | "all" | "no": value}; the lowercase variable wins, as in urllib."""
    found = {}
    for key in ("http", "https", "all", "no"):
        value = environ.get(f"{key}_proxy") or environ.get(f"{key.upper()}_PROXY")
        if value and value.strip():
            found[key] = value.strip()
    return found


def _bypassed(host: str, port: Optional[int], no_proxy: str) -> bool:
    """Whether NO_PROXY sends `host` direct: `*`, the host itself (with or without
    its port), or a domain it lies in (`.example.com`, `example.com`)."""
    entries = [entry.strip().lower() for entry in no_proxy.split(",") if entry.strip()]
    host = host.lower()
    for entry in entries:
        if entry == "*":
            return True
        name, _, entry_port = entry.partition(":")
        if entry_port and port is not None and entry_port != str(port):
            continue
        name = name.lstrip(".")
        if host == name or host.endswith("." + name):
            return True
    return False


def unsupported(proxy: str) -> Optional[str]:
    """Why the transport cannot use `proxy`, or None."""
    scheme = urlsplit(proxy).scheme
    if scheme in SUPPORTED_SCHEMES:
        return None
    return (
        f"the proxy {scheme}:// of the environment is not supported; use an http:// or "
        "https:// proxy in HTTP_PROXY / HTTPS_PROXY / ALL_PROXY, or list the host in NO_PROXY."
    )


__all__ = ["proxy_for", "unsupported"]
