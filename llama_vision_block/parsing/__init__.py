"""Defensive parsing of Llama 3.2 Vision replies into the block's outputs.

Every `parse_*` function takes any string and returns a `Parsed`: the value,
or a one-line reason it could not be read. None of them raises.
"""

from llama_vision_block.parsing.classification import (
    MultiLabel,
    SingleLabel,
    parse_multi_label,
    parse_single_label,
)
from llama_vision_block.parsing.confidence import DEFAULT_CONFIDENCE, to_confidence
from llama_vision_block.parsing.detection import PIXEL_THRESHOLD, parse_detections
from llama_vision_block.parsing.json_text import extract_json
from llama_vision_block.parsing.refusal import detect_refusal
from llama_vision_block.parsing.result import DifferentAnswers, Parsed, ReplyParseError
from llama_vision_block.parsing.structured import parse_structured

__all__ = [
    "DEFAULT_CONFIDENCE",
    "PIXEL_THRESHOLD",
    "MultiLabel",
    "Parsed",
    "ReplyParseError",
    "SingleLabel",
    "detect_refusal",
    "extract_json",
    "parse_detections",
    "parse_multi_label",
    "parse_single_label",
    "parse_structured",
    "to_confidence",
]
