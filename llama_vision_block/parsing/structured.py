"""Structured answering: an object with the keys the user asked for."""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from llama_vision_block.parsing.coercion import normalize_key
from llama_vision_block.parsing.corrections import read_corrected
from llama_vision_block.parsing.json_text import different_answers, pick
from llama_vision_block.parsing.lenient import Loaded
from llama_vision_block.parsing.result import Parsed, ReplyParseError, failed


_PLACEHOLDER = re.compile(r"\s*<[^<>]*>\s*")


def parse_structured(text: str, output_structure: Mapping[str, str]) -> Parsed[dict]:
    """The reply as a dict holding every key of `output_structure`.

    Keys match case-insensitively, ignoring spaces, dashes and underscores; a
    key the model left out maps to `None`; extra keys are kept. An object with
    none of the requested keys is an error, and so are two different objects
    (in a list, or one after the other) with no correction between them. A
    reply that corrects itself gives its corrected object.
    """
    if not isinstance(text, str):
        return failed(f"expected the reply as str, got {type(text).__name__}")
    # The requested keys and their descriptions: an echo of the request
    # ({"count": "number of people"}) is not an answer.
    template = {str(key): str(value).strip().casefold() for key, value in (output_structure or {}).items()}
    return read_corrected(text, lambda reply: _structured(reply, template))


def _structured(text: str, template: Mapping[str, str]) -> Parsed[dict]:
    wanted = list(template)

    def interpret(candidate: Loaded) -> Tuple[int, Parsed[dict]]:
        found = _best_object(candidate.value, wanted)
        if isinstance(found, str):
            return 0, failed(found)
        if found is None:
            return 0, failed(f"expected a JSON object, got {_describe(candidate.value)}")
        # A wrong shape still says more than no JSON, and less than an answer.
        if wanted and not _coverage(found, wanted):
            return 1, failed(
                f"the JSON answer has none of the requested keys ({', '.join(wanted)}); "
                f"its keys are {', '.join(map(str, found)) or 'none'}"
            )
        filled = _fill(found, wanted)
        if _is_template(filled, template):
            return 1, failed("the reply only repeats the answer's format, with <placeholders> for values")
        return 2, Parsed(filled)

    def answer(parsed: Parsed[dict]) -> Optional[str]:
        return _said(parsed.value, wanted) if parsed.ok else None

    try:
        return pick(text, interpret, enough=2, answer=answer)
    except ReplyParseError as error:
        return failed(str(error))


def _best_object(value: Any, wanted: List[str]) -> Union[dict, str, None]:
    """The object that answers, None when there is none, or why there are several."""
    if wanted and isinstance(value, dict) and len(value) == 1 and not _coverage(value, wanted):
        inner = next(iter(value.values()))  # {"answer": {...}} wraps the object
        inner_object = _best_object_of(inner, wanted)
        if isinstance(inner_object, str) or (inner_object is not None and _coverage(inner_object, wanted)):
            return inner_object
    return _best_object_of(value, wanted)


def _best_object_of(value: Any, wanted: List[str]) -> Union[dict, str, None]:
    if isinstance(value, dict):
        return value
    if not isinstance(value, list):
        return None
    objects = [item for item in value if isinstance(item, dict)]
    answers = [item for item in objects if _coverage(item, wanted)] if wanted else objects
    conflict = different_answers(_said(_fill(item, wanted), wanted) for item in answers)
    if conflict:
        return conflict  # a list of several objects where one was asked for
    return answers[0] if answers else (objects[0] if objects else None)


def _is_template(value: dict, template: Mapping[str, str]) -> bool:
    """Whether every requested value is a placeholder ("<count>") or the request's
    own description of it: an echoed format, not an answer."""
    given = [(key, value[key]) for key in template if value.get(key) is not None]
    return bool(given) and all(
        isinstance(item, str) and (_PLACEHOLDER.fullmatch(item) or item.strip().casefold() == template[key])
        for key, item in given
    )


def _said(value: dict, wanted: List[str]) -> str:
    """The answer's requested values, in a form that tells two apart and quotes one."""
    shown = {key: value.get(key) for key in wanted} if wanted else value
    return json.dumps(shown, ensure_ascii=False, default=str)


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
