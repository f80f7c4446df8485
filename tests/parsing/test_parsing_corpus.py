"""Every reply in tests/data/replies parses to its recorded expectation."""

from __future__ import annotations

from typing import Any, Dict

import pytest

from support.corpus import RECORDS, matches, parse_record


def test_corpus_is_large_and_well_formed() -> None:
    assert len(RECORDS) >= 150
    ids = [record["id"] for record in RECORDS]
    assert len(ids) == len(set(ids))
    for record in RECORDS:
        assert record["task"] in {"structured", "single_label", "multi_label", "detection", "json"}


def test_held_out_replies_are_part_of_the_corpus() -> None:
    held_out = [record for record in RECORDS if record["category"] == "held_out"]
    assert len(held_out) >= 60
    assert {record["task"] for record in held_out} == {"structured", "single_label", "multi_label", "detection"}
    assert sum("error_contains" in record["expected"] for record in held_out if isinstance(record["expected"], dict)) >= 10


@pytest.mark.parametrize("record", RECORDS, ids=[record["id"] for record in RECORDS])
def test_reply_parses_as_expected(record: Dict[str, Any]) -> None:
    actual = parse_record(record)
    assert matches(record, actual), f"reply: {record['reply']!r}\nexpected: {record['expected']}\nactual: {actual}"
