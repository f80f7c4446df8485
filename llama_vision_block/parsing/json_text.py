"""Find the JSON values in a model reply: fenced blocks first, then the prose.

Candidates come out in preference order: each fenced block (in order), then
the text outside fences. Values that follow each other with only commas or
whitespace between them (JSON Lines, `{...}, {...}`) also come out merged into
one list, ahead of the values themselves.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any, Callable, Iterable, Iterator, List, Optional, Tuple, TypeVar

from llama_vision_block.parsing.lenient import MAX_DEPTH, Loaded, TooDeep, load
from llama_vision_block.parsing.refusal import detect_refusal
from llama_vision_block.parsing.result import DifferentAnswers, ReplyParseError
from llama_vision_block.parsing.strict import read_strict

# A fence opens on its own line (any language tag), or anywhere as ```json.
_FENCE_OPEN = re.compile(
    r"^[ \t]*```[\w+.-]*[ \t]*(?:\r?\n|$)|```[ \t]*json5?\b[ \t]*\r?\n?",
    re.MULTILINE | re.IGNORECASE,
)
_FENCE = "```"
_VALUE_START = re.compile(r"[{\[]")
# What may stand between values of one list: commas, space, and the numbers or
# bullets of a markdown list ("1. {...}\n2. {...}").
_SEPARATOR = re.compile(r"(?:[\s,]+|(?:\d{1,3}[.)]|[-*\u2022])(?=\s))*")
_CLOSING_FENCE_NEXT = re.compile(r"\s*```")
# Bounds that keep the work linear in the reply, whatever the model wrote.
_MAX_FENCES = 32
_MAX_UNBOUNDED_RETRIES = 4
_MAX_VALUES = 1000  # top-level values read per reply; a model writes a handful

R = TypeVar("R")


def iter_candidates(text: str) -> Iterator[Loaded]:
    """Yield every plausible JSON object or array in `text`, preferred first."""
    fenced, outside = _regions(text)
    budget = _Budget()
    for start, stop, closed in fenced:
        yield from map(_tool_arguments, _scan(text, start, stop, budget, retry=closed))
    for start, stop in outside:
        yield from map(_tool_arguments, _scan(text, start, stop, budget, retry=False))


def _tool_arguments(loaded: Loaded) -> Loaded:
    """The answer inside a tool call, which Llama writes when it takes the task for
    one: {"name": ..., "parameters": {...}}, "arguments" as JSON text, or that call
    under {"type": "function", "function": ...}."""
    value = loaded.value
    if isinstance(value, dict) and isinstance(value.get("function"), dict) and set(value) <= {"type", "function", "id"}:
        value = value["function"]
    if not (isinstance(value, dict) and "name" in value and len(value) == 2):
        return loaded
    arguments = value.get("parameters", value.get("arguments"))
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except (ValueError, RecursionError):
            return loaded
    if not isinstance(arguments, (dict, list)):
        return loaded
    return dataclasses.replace(loaded, value=arguments)


def pick(
    text: str,
    interpret: Callable[[Loaded], Tuple[int, R]],
    enough: int,
    answer: Optional[Callable[[R], Optional[str]]] = None,
) -> R:
    """The interpretation of the best-scoring candidate (the first among equals).

    Stops early at the first candidate scoring `enough`, unless `answer` is
    given: then every candidate is read, and `answer(result)` says which answer
    a candidate gives (a short text, or None when it gives none). Two that do not
    overlap the chosen one and differ are different answers: an error, never
    "the first one wins".

    Raises:
        ReplyParseError: when the text holds no JSON object or array at all.
        DifferentAnswers: when it gives different answers.
    """
    best: Optional[Tuple[int, R, Loaded]] = None
    answers: List[Tuple[Loaded, str]] = []
    for candidate in iter_candidates(text):
        score, result = interpret(candidate)
        if best is None or score > best[0]:
            best = (score, result, candidate)
        if answer is None:
            if score >= enough:
                break
            continue
        said = answer(result)
        if said is not None:
            answers.append((candidate, said))
    if best is None:
        raise ReplyParseError(no_json_reason(text))
    if answers:
        chosen = answers[0][0]
        # One merged with the chosen answer, or read inside it, is the same answer.
        said = [words for candidate, words in answers if candidate is chosen or not _overlaps(candidate, chosen)]
        conflict = different_answers(said)
        if conflict:
            raise DifferentAnswers(conflict)
    return best[1]


def different_answers(answers: Iterable[str]) -> Optional[str]:
    """The error for a reply that gives more than one distinct answer, or None.
    Answers are told apart in full; the message quotes each cut to a line."""
    distinct = list(dict.fromkeys(answers))
    if len(distinct) < 2:
        return None
    return f"the reply gives {len(distinct)} different answers ({'; '.join(map(_quote, distinct))}) and no correction"


def _quote(value: str, limit: int = 80) -> str:
    """`value` on one line, cut to `limit` characters."""
    line = " ".join(value.split())
    return line if len(line) <= limit else line[: limit - 1] + "\u2026"


def _overlaps(candidate: Loaded, other: Loaded) -> bool:
    return candidate.start < other.end and other.start < candidate.end


def extract_json(text: str) -> Any:
    """The first JSON object or array in a model reply, repaired where needed.

    Raises:
        ReplyParseError: when there is none, with a one-line reason (a refusal
            is reported as "the model refused: <sentence>").
    """
    if not isinstance(text, str):
        raise ReplyParseError(f"expected the reply as str, got {type(text).__name__}")
    return pick(text, lambda candidate: (1, candidate.value), enough=1)


def no_json_reason(text: str) -> str:
    """Why a reply without usable JSON failed: a refusal, or no JSON at all."""
    refusal = detect_refusal(text)
    if refusal:
        return f"the model refused: {refusal}"
    if _VALUE_START.search(text) and _too_deep(text):
        return "the JSON in the reply is nested too deeply to read"
    return "no JSON object found in the reply"


def _too_deep(text: str) -> bool:
    depth = 0
    for match in re.finditer(r"[{\[]|[}\]]", text):
        depth = depth + 1 if match.group() in "{[" else max(depth - 1, 0)
        if depth > MAX_DEPTH:
            return True
    return False


def _regions(text: str) -> Tuple[List[Tuple[int, int, bool]], List[Tuple[int, int]]]:
    fenced: List[Tuple[int, int, bool]] = []
    outside: List[Tuple[int, int]] = []
    pos = 0
    while len(fenced) < _MAX_FENCES:
        opening = _FENCE_OPEN.search(text, pos)
        if opening is None:
            break
        outside.append((pos, opening.start()))
        closing = text.find(_FENCE, opening.end())
        if closing < 0:
            fenced.append((opening.end(), len(text), False))
            return fenced, outside
        fenced.append((opening.end(), closing, True))
        pos = closing + len(_FENCE)
    outside.append((pos, len(text)))
    return fenced, outside


class _Budget:
    """What one reply may cost, so the work stays linear in its length."""

    def __init__(self) -> None:
        self.values = _MAX_VALUES
        self.retries = _MAX_UNBOUNDED_RETRIES


def _scan(text: str, start: int, stop: int, budget: _Budget, retry: bool) -> Iterator[Loaded]:
    run: List[Loaded] = []
    pos = start
    while budget.values > 0:
        match = _VALUE_START.search(text, pos, stop)
        if match is None:
            break
        budget.values -= 1
        loaded = read_strict(text, match.start())
        if loaded is None:
            try:
                loaded = load(text, match.start(), stop)
            except TooDeep:
                break  # nothing nested that deep is data; skip the rest of this region
        if loaded.cut and retry and budget.retries > 0 and not run:
            # A ``` inside a string may have ended the block early: read on
            # past it and keep that reading if the value closes right before a fence.
            budget.retries -= 1
            longer = _load_or_none(text, match.start(), len(text))
            if longer and not longer.cut and _CLOSING_FENCE_NEXT.match(text, longer.end):
                loaded = longer
        pos = loaded.end
        if not loaded.plausible:
            continue
        if run and _SEPARATOR.match(text, run[-1].end, loaded.start).end() != loaded.start:
            yield from _flush(run)
            run = []
        run.append(loaded)
    yield from _flush(run)


def _load_or_none(text: str, start: int, stop: int) -> Optional[Loaded]:
    try:
        return load(text, start, stop)
    except TooDeep:
        return None


def _flush(run: List[Loaded]) -> Iterator[Loaded]:
    if len(run) > 1:
        yield _merge(run)
    yield from run


def _merge(run: List[Loaded]) -> Loaded:
    merged: list = []
    for loaded in run[:-1]:
        _extend(merged, loaded.value)
    last = run[-1]
    offset = len(merged)
    _extend(merged, last.value)
    cut_slot = last.cut_slot
    if cut_slot and isinstance(last.value, list) and cut_slot[0] == id(last.value):
        cut_slot = (id(merged), offset + cut_slot[1])
    # Only the last value of a run can reach the end of its region.
    return Loaded(merged, run[0].start, last.end, last.cut_values, cut_slot, True)


def _extend(merged: list, value: Any) -> None:
    if isinstance(value, list):
        merged.extend(value)
    else:
        merged.append(value)
