"""How many corpus replies each parser recovers, and how fast.

Run from the repository root: `.venv/bin/python benchmarks/parse_rate.py`.

Parsers compared, each ending in the same task-level interpretation:
- ours: `llama_vision_block.parsing`.
- naive: what inference's parsers used to do: json.loads the first ```json
  fence (or the whole text); if that loads, the value is handed, re-serialised
  as clean JSON, to our task-level parser.
- inference 1.8.3: `roboflow_workflows.core_steps.common.vlm_json.extract_json_payload`
  (the lenient extractor inference now ships), interpreted the same way.

A record is recovered when the final value equals its `expected` (for error
records: when the error message contains the expected text).
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from inference.core.workflows.core_steps.common.vlm_json import (  # noqa: E402
    extract_json_payload,
)

from support.corpus import RECORDS, matches, parse_record  # noqa: E402

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
    error, value = extract_json_payload(record["reply"])
    if error:
        return {"error": _NO_JSON}
    return parse_record(record, json.dumps(value))


def timed(parser: Callable[[Dict[str, Any]], Any], record: Dict[str, Any]) -> float:
    start = time.perf_counter()
    for _ in range(REPEATS):
        parser(record)
    return (time.perf_counter() - start) / REPEATS * 1e6


def percentile(values: List[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main(argv: Optional[List[str]] = None) -> None:
    records = RECORDS
    parsers = {"ours (llama_vision_block.parsing)": ours, "naive first-```json + json.loads": naive,
               "inference 1.8.3 extract_json_payload": inference_1_8_3}
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


if __name__ == "__main__":
    main()
