"""What a candidate's tokens cost: a price per model_version label, with its source.

Prices change: each says where it was read and when, and `--price` overrides or
adds one. A label without a price (your own server, Ollama, the GPU in process)
has no cost here: what its hardware costs is yours to say with `--price`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Mapping, Optional

from llama_vision_block.errors import LabelsError


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens."""

    input: float
    output: float
    source: str  # where the price was read, or "--price"
    read: str = ""  # when

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input + output_tokens * self.output) / 1_000_000


PRICES: Dict[str, Price] = {
    "11B - Cloudflare Workers AI": Price(
        0.049, 0.676, "https://developers.cloudflare.com/workers-ai/platform/pricing/", "2026-12-06"
    ),
    "Llama 4 Scout - OpenRouter": Price(0.08, 0.30, "https://openrouter.ai/meta-llama/llama-4-scout", "2026-12-06"),
}


def parse_price(text: str) -> tuple:
    """`LABEL=IN,OUT` (US dollars per million input and output tokens) as (LABEL, Price)."""
    label, _, amounts = text.rpartition("=")
    try:
        given_in, given_out = (float(amount) for amount in amounts.split(","))
    except ValueError:
        given_in = given_out = -1.0
    if not label or given_in < 0 or given_out < 0:
        raise LabelsError(f"--price {text!r}: write LABEL=IN,OUT, US dollars per million input and output tokens, "
                         "e.g. '11B - Ollama=0.05,0.10'")
    return label, Price(given_in, given_out, "--price")


def price_of(label: str, model_version: str, given: Mapping[str, Price]) -> Optional[Price]:
    """The candidate's price: given for its label or its model_version, else the table's."""
    return given.get(label) or given.get(model_version) or PRICES.get(model_version)
