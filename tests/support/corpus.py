"""The corpus of model replies in tests/data/replies, and how a parse is compared to it.

Shared by the corpus test and benchmarks/parse_rate.py, so both count a reply as
recovered by the same rule.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Dict, List, Optional

from llama_vision_block.parsing import (
    ReplyParseError,
    extract_json,
    parse_detections,
    parse_multi_label,
    parse_single_label,
    parse_structured,
)

CORPUS = Path(__file__).resolve().parents[1] / "data" / "replies"


def load_corpus() -> List[Dict[str, Any]]:
    records = []
    for path in sorted(CORPUS.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                records.append(json.loads(line))
    return records


RECORDS = load_corpus()


def parse_record(record: Dict[str, Any], reply: Optional[str] = None) -> Any:
    """What the parser gives for a record's reply (or `reply`), in the corpus's `expected` form."""
    task = record["task"]
    reply = record["reply"] if reply is None else reply
    if task == "json":
        try:
            return extract_json(reply)
        except ReplyParseError as error:
            return {"error": str(error)}
    if task == "structured":
        parsed = parse_structured(reply, record["output_structure"])
    elif task == "single_label":
        parsed = parse_single_label(reply, record["classes"])
    elif task == "multi_label":
        parsed = parse_multi_label(reply, record["classes"])
    else:
        parsed = parse_detections(reply, record["classes"], tuple(record["image_size"]))
    if not parsed.ok or parsed.warning:  # a flagged answer counts as its error
        return {"error": parsed.error or parsed.warning}
    value = parsed.value
    if task == "single_label":
        return {"class_name": value.class_name, "confidence": round(value.confidence, 2), "class_id": value.class_id}
    if task == "multi_label":
        return {
            "confidences": {name: round(score, 2) for name, score in value.confidences.items()},
            "class_ids": dict(value.class_ids),
        }
    if task == "detection":
        return [
            {
                "class_name": str(value.data["class_name"][i]),
                "class_id": int(value.class_id[i]),
                "xyxy": [round(float(v), 2) for v in value.xyxy[i]],
                "confidence": round(float(value.confidence[i]), 2),
            }
            for i in range(len(value))
        ]
    return value


def matches(record: Dict[str, Any], actual: Any) -> bool:
    """Whether `actual` (from `parse_record`) is the record's expectation."""
    expected = record["expected"]
    if isinstance(expected, dict) and "error_contains" in expected:
        return isinstance(actual, dict) and expected["error_contains"] in actual.get("error", "")
    if record["task"] == "single_label" and isinstance(actual, dict) and "confidence" in actual:
        return (
            actual["class_name"] == expected["class_name"]
            and actual["class_id"] == expected["class_id"]
            and math.isclose(actual["confidence"], expected["confidence"], abs_tol=0.005)
        )
    return actual == expected


def outcome(record: Dict[str, Any], actual: Any) -> str:
    """"right", "flagged" (an error where an answer was expected, or the wrong
    error: the user is told), or "silent wrong" (a value that is not the expected
    one, or a value where an error was expected)."""
    if matches(record, actual):
        return "right"
    if isinstance(actual, dict) and set(actual) == {"error"}:
        return "flagged"
    return "silent wrong"
