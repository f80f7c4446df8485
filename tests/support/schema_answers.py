"""The answer a server that honours a JSON schema gives: the smallest document
valid under it (first enum value, lowest number, empty text and lists)."""

from __future__ import annotations

from typing import Any, Mapping


def smallest_answer(schema: Mapping[str, Any]) -> Any:
    if "anyOf" in schema:
        return smallest_answer(schema["anyOf"][0])
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {key: smallest_answer(value) for key, value in schema["properties"].items()}
    if kind == "array":
        return [smallest_answer(schema["items"]) for _ in range(schema.get("minItems", 0))]
    if kind in ("number", "integer"):
        return schema.get("minimum", 0)
    return {"string": "", "boolean": False, "null": None}[kind]
