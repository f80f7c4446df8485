"""Prices per model_version label: the table, and --price over it."""

import pytest

from llama_vision_block.errors import LabelsError
from llama_vision_block.evaluation.prices import PRICES, Price, parse_price, price_of
from llama_vision_block.model_versions import MODEL_VARIANTS


def test_every_price_in_the_table_is_for_a_label_and_says_where_and_when_it_was_read():
    for label, price in PRICES.items():
        assert label in MODEL_VARIANTS
        assert price.source.startswith("https://") and price.read


def test_a_given_price_wins_for_the_label_then_the_model_version_then_the_table():
    table = PRICES["11B - Cloudflare Workers AI"]
    mine = Price(1.0, 2.0, "--price")
    assert price_of("cf", "11B - Cloudflare Workers AI", {}) is table
    assert price_of("cf", "11B - Cloudflare Workers AI", {"11B - Cloudflare Workers AI": mine}) is mine
    assert price_of("cf", "11B - Ollama", {"cf": mine}) is mine
    assert price_of("mine", "11B - Ollama", {}) is None  # your own hardware: no price unless you give one
    assert mine.cost(1_000_000, 500_000) == pytest.approx(2.0)


def test_price_option():
    assert parse_price("11B - Ollama=0.05,0.1") == ("11B - Ollama", Price(0.05, 0.1, "--price"))
    assert parse_price("a=b=1,2")[0] == "a=b"  # the last = splits
    for bad in ("11B", "x=1", "x=1,-2", "=1,2", "x=one,two"):
        with pytest.raises(LabelsError, match="LABEL=IN,OUT"):
            parse_price(bad)
