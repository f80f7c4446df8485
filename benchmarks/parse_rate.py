"""How many corpus replies each parser recovers, and how fast.

Run from the repository root: `.venv/bin/python benchmarks/parse_rate.py`.

Parsers compared, each ending in the same task-level interpretation:
- ours: `llama_vision_block.parsing`.
- naive: what inference's parsers used to do: json.loads the first ```json
  fence (or the whole text); if that loads, the value is handed, re-serialised
  as clean JSON, to our task-level parser.
- inference 1.8.3: `roboflow_workflows.core_steps.common.vlm_decoding.extract_json`
  (the lenient extractor inference's VLM blocks call, around
  `vlm_json.extract_json_payload`), interpreted the same way.

- the engine's decoder: inference's own end-to-end decoding for its VLM blocks
  (`roboflow_workflows.core_steps.common.vlm_decoding`: `decode_classification`
  for single- and multi-label replies). It has no decoder for structured answers,
  and no box format reads this block's prompt contract (`"box"` as fractions of
  the image), so it is scored on the classification records only.

A record is recovered when the final value equals its `expected` (for error
records: when the error message contains the expected text). The second table
splits every record, per corpus, into right, flagged (an error: the user is
told) and silent wrong (a value that is not the expected one).
"""

from __future__ import annotations

import json
import logging
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from roboflow_workflows.core_steps.common.vlm_decoding.json_extraction import (  # noqa: E402
    extract_json as engine_extract_json,
)

from support.corpus import RECORDS, matches, outcome, parse_record  # noqa: E402

REPEATS = 20
_JSON_FENCE = re.compile(r"```json([\s\S]*?)```", re.IGNORECASE)
_NO_JSON = "no JSON object found in the reply"


def ours(record: Dict[str, Any]) -> Any:
    return parse_record(record)


def naive(record: Dict[str, Any]) -> Any:
    match = _JSON_FENCE.search(record["reply"])
    try:
        value = json.loads(match.group(1) if match else record["reply"])
    except (ValueError, RecursionError):
        return {"error": _NO_JSON}
    return parse_record(record, json.dumps(value))


def inference_1_8_3(record: Dict[str, Any]) -> Any:
    error, value = engine_extract_json(record["reply"])
    if error:
        return {"error": _NO_JSON}
    return parse_record(record, json.dumps(value))


def engine_decoder(record: Dict[str, Any]) -> Any:
    """inference's own decoding of a classification reply, in the corpus's form."""
    import numpy as np
    from inference.core.workflows.execution_engine.entities.base import ImageParentMetadata, WorkflowImageData
    from roboflow_workflows.core_steps.common.vlm_decoding import decode_classification

    image = WorkflowImageData(parent_metadata=ImageParentMetadata(parent_id="image"), numpy_image=_IMAGE)
    error, prediction = decode_classification(record["reply"], image, record["classes"], "id")
    if error or prediction is None:
        return {"error": "the engine's decoder could not read the reply"}
    # The decoder tells single- from multi-label by the reply's keys, without error:
    # a reply of the other kind is a value the step did not ask for.
    if record["task"] == "single_label":
        if "top" not in prediction:
            return {"multi_label": prediction["predicted_classes"]}
        top = prediction["top"]
        ids = {entry["class"]: entry["class_id"] for entry in prediction["predictions"]}
        return {"class_name": top, "confidence": round(prediction["confidence"], 2), "class_id": ids.get(top, -1)}
    if "predicted_classes" not in prediction:
        return {"single_label": prediction["top"]}
    chosen = prediction["predicted_classes"]
    return {
        "confidences": {name: round(prediction["predictions"][name]["confidence"], 2) for name in chosen},
        "class_ids": {name: prediction["predictions"][name]["class_id"] for name in chosen},
    }


def _image() -> Any:
    import numpy as np

    return np.zeros((480, 640, 3), dtype=np.uint8)


_IMAGE = _image()


def outcomes_by_corpus(records: List[Dict[str, Any]]) -> None:
    """Per corpus: right / flagged / silent wrong, ours and (classification) the engine's."""
    print("\n| corpus | replies | ours right | ours flagged | ours silent wrong |"
          " classification replies | engine right | engine flagged | engine silent wrong |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for category in dict.fromkeys(record["category"] for record in records):
        members = [record for record in records if record["category"] == category]
        ours_counts = _count(outcome(record, ours(record)) for record in members)
        classified = [record for record in members if record["task"] in ("single_label", "multi_label")]
        engine_counts = _count(_engine_outcome(record) for record in classified)
        cells = [ours_counts[name] for name in _OUTCOMES] + [len(classified)] + [engine_counts[name] for name in _OUTCOMES]
        print(f"| {category} | {len(members)} | " + " | ".join(map(str, cells)) + " |")


_OUTCOMES = ("right", "flagged", "silent wrong")


def _engine_outcome(record: Dict[str, Any]) -> str:
    # Its messages are its own: any error is right where the record expects one.
    actual = engine_decoder(record)
    expects_error = isinstance(record["expected"], dict) and "error_contains" in record["expected"]
    if expects_error and isinstance(actual, dict) and set(actual) == {"error"}:
        return "right"
    return outcome(record, actual)


def _count(outcomes: Any) -> Dict[str, int]:
    counts = dict.fromkeys(_OUTCOMES, 0)
    for name in outcomes:
        counts[name] += 1
    return counts


def timed(parser: Callable[[Dict[str, Any]], Any], record: Dict[str, Any]) -> float:
    start = time.perf_counter()
    for _ in range(REPEATS):
        parser(record)
    return (time.perf_counter() - start) / REPEATS * 1e6


def percentile(values: List[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main(argv: Optional[List[str]] = None) -> None:
    logging.disable(logging.WARNING)  # the engine's decoder logs every reply it cannot read
    records = RECORDS
    parsers = {"ours (llama_vision_block.parsing)": ours, "naive first-```json + json.loads": naive,
               "inference 1.8.3 extract_json": inference_1_8_3}
    hits: Dict[str, Dict[str, int]] = {name: {} for name in parsers}
    print(f"corpus: {len(records)} replies in {len({r['category'] for r in records})} categories\n")
    print("| parser | recovered / total | rate | mean µs per reply | p99 µs per reply |")
    print("| --- | --- | --- | --- | --- |")
    for name, parser in parsers.items():
        times = [timed(parser, record) for record in records]
        good = 0
        for record in records:
            ok = matches(record, parser(record))
            good += ok
            hits[name][record["category"]] = hits[name].get(record["category"], 0) + ok
        print(f"| {name} | {good} / {len(records)} | {good / len(records):.1%} | "
              f"{statistics.mean(times):.0f} | {percentile(times, 0.99):.0f} |")
    categories: Dict[str, int] = {}
    for record in records:
        categories[record["category"]] = categories.get(record["category"], 0) + 1
    print("\n| category | replies | ours | naive | inference 1.8.3 |")
    print("| --- | --- | --- | --- | --- |")
    for category, count in categories.items():
        cells = " | ".join(str(hits[name].get(category, 0)) for name in parsers)
        print(f"| {category} | {count} | {cells} |")
    outcomes_by_corpus(records)


if __name__ == "__main__":
    main()
