"""The CLI's errors and the one-line messages it prints for any error."""

from __future__ import annotations

from typing import Any, Iterable, Optional

from llama_vision_block.errors import redact

USAGE_EXIT = 2
RUNTIME_EXIT = 1


class CliError(Exception):
    """An error the CLI reports as `error: <message>` with its exit code."""

    exit_code = RUNTIME_EXIT


class UsageError(CliError):
    """The command line asks for something that cannot work (exit code 2)."""

    exit_code = USAGE_EXIT


def _own_message(error: BaseException) -> str:
    from pydantic import ValidationError

    if isinstance(error, ValidationError):
        return describe_validation_error(error)
    message = getattr(error, "public_message", None) or str(error)
    message = " ".join(str(message).split())
    message = message.replace(" Details available in inner error object.", "")
    return message or error.__class__.__name__


def error_message(error: BaseException, secrets: Iterable[Optional[str]] = ()) -> str:
    """The error's message, then the inner error's (the engine wraps the block's
    ConfigurationError / ProviderError), with every secret replaced."""
    parts = [_own_message(error)]
    inner = getattr(error, "inner_error", None) or error.__cause__
    seen = {id(error)}
    while inner is not None and id(inner) not in seen:
        seen.add(id(inner))
        text = _own_message(inner)
        if text and not any(text in part for part in parts):
            parts.append(text)
        inner = getattr(inner, "inner_error", None) or inner.__cause__
    message = ": ".join(parts)
    for secret in secrets:
        message = redact(message, secret)
    return message


def describe_validation_error(error: Any) -> str:
    """A pydantic ValidationError as `field: message; ...`, without input values."""
    parts = []
    for item in error.errors():
        loc = ".".join(str(part) for part in item.get("loc", ()) if not isinstance(part, int))
        message = str(item.get("msg", "")).removeprefix("Value error, ")
        parts.append(f"{loc}: {message}" if loc and loc not in message else message)
    return "; ".join(dict.fromkeys(parts))


def read_json(path: str, what: str) -> Any:
    """The JSON file the command line names as `what` (e.g. "workflow"); a
    UsageError that names it when it cannot be read or is not JSON."""
    import json

    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except OSError as error:
        raise UsageError(f"cannot read {what} {path!r}: {error.strerror or error}") from None
    except json.JSONDecodeError as error:
        raise UsageError(f"{what} {path!r} is not valid JSON: {error.msg} at line {error.lineno}") from None
