"""Structured answering: an object with the keys the user asked for."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Tuple

from llama_vision_block.parsing.coercion import normalize_key
from llama_vision_block.parsing.corrections import read_corrected
from llama_vision_block.parsing.json_text import pick
from llama_vision_block.parsing.lenient import Loaded
from llama_vision_block.parsing.result import Parsed, ReplyParseError, failed


def parse_structured(text: str, output_structure: Mapping[str, str]) -> Parsed[dict]:
    """The reply as a dict holding every key of `output_structure`.

    Keys match case-insensitively, ignoring spaces, dashes and underscores; a
    key the model left out maps to `None`; extra keys are kept. A list of
    objects gives the first object covering the most expected keys. A reply
    that corrects itself gives its corrected object.
    """
    if not isinstance(text, str):
        return failed(f"expected the reply as str, got {type(text).__name__}")
    wanted = [str(key) for key in (output_structure or {})]
    return read_corrected(text, lambda reply: _structured(reply, wanted))


def _structured(text: str, wanted: List[str]) -> Parsed[dict]:
    def interpret(candidate: Loaded) -> Tuple[int, Parsed[dict]]:
        found = _best_object(candidate.value, wanted)
        if found is None:
            return 0, failed(f"expected a JSON object, got {_describe(candidate.value)}")
        score = 2 if not wanted or _coverage(found, wanted) else 1
        return score, Parsed(_fill(found, wanted))

    try:
        return pick(text, interpret, enough=2)
    except ReplyParseError as error:
        return failed(str(error))


def _best_object(value: Any, wanted: List[str]) -> Optional[dict]:
    if wanted and isinstance(value, dict) and len(value) == 1 and not _coverage(value, wanted):
        inner = next(iter(value.values()))  # {"answer": {...}} wraps the object
        inner_object = _best_object_of(inner, wanted)
        if inner_object is not None and _coverage(inner_object, wanted):
            return inner_object
    return _best_object_of(value, wanted)


def _best_object_of(value: Any, wanted: List[str]) -> Optional[dict]:
    if isinstance(value, dict):
        return value
    if not isinstance(value, list):
        return None
    best, best_coverage = None, -1
    for item in value:
        if isinstance(item, dict):
            coverage = _coverage(item, wanted)
            if coverage > best_coverage:
                best, best_coverage = item, coverage
    return best


def _coverage(found: dict, wanted: List[str]) -> int:
    keys = {normalize_key(key) for key in found}
    return sum(normalize_key(key) in keys for key in wanted)


def _fill(found: dict, wanted: List[str]) -> Dict[str, Any]:
    by_normal: Dict[str, str] = {}
    for key in found:
        by_normal.setdefault(normalize_key(key), key)
    result: Dict[str, Any] = {}
    used = set()
    for key in wanted:
        source = key if key in found else by_normal.get(normalize_key(key))
        if source is not None and source not in used:
            used.add(source)
            result[key] = found[source]
        else:
            result[key] = None
    for key, value in found.items():
        if key not in used and key not in result:
            result[key] = value
    return result


def _describe(value: Any) -> str:
    if isinstance(value, list):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''} with no object"
    return f"a {type(value).__name__}"
