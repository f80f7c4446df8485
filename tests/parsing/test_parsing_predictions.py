"""build_*_prediction give exactly what `roboflow_core/vlm_as_classifier@v2` gives.

This is the one parsing test module that imports inference (slow to import).
"""

from __future__ import annotations

import json
from typing import List

import numpy as np
import pytest
from inference.core.workflows.core_steps.formatters.vlm_as_classifier.v2 import (
    parse_multi_class_classification_results,
    parse_multi_label_classification_results,
)
from inference.core.workflows.execution_engine.entities.base import ImageParentMetadata, WorkflowImageData

from llama_vision_block.parsing import (
    build_multi_label_prediction,
    build_single_label_prediction,
    parse_multi_label,
    parse_single_label,
)

WIDTH, HEIGHT = 64, 48
INFERENCE_ID = "inference-1"
PARENT_ID = "parent-1"


def image() -> WorkflowImageData:
    return WorkflowImageData(
        parent_metadata=ImageParentMetadata(parent_id=PARENT_ID),
        numpy_image=np.zeros((HEIGHT, WIDTH, 3), np.uint8),
    )


@pytest.mark.parametrize(
    "reply, classes",
    [
        ('{"class_name": "dog", "confidence": 0.93}', ["cat", "dog", "bird"]),
        ('{"class_name": "cat", "confidence": 1}', ["cat", "dog"]),
        ('{"class_name": "cat", "confidence": 0.0}', ["cat", "dog"]),
        ('{"class_name": "horse", "confidence": 0.4}', ["cat", "dog"]),
        ('{"class_name": "dog", "confidence": 0.5}', ["dog", "cat", "dog"]),
        ('{"class_name": "dog", "confidence": 0.5}', []),
    ],
)
def test_single_label_matches_inference(reply: str, classes: List[str]) -> None:
    expected = parse_multi_class_classification_results(
        image=image(), results=json.loads(reply), classes=classes, inference_id=INFERENCE_ID
    )
    parsed = parse_single_label(reply, classes)
    assert parsed.ok, parsed.error
    actual = build_single_label_prediction(parsed.value, classes, WIDTH, HEIGHT, INFERENCE_ID, PARENT_ID)
    assert expected["error_status"] is False
    assert actual == expected["predictions"]


@pytest.mark.parametrize(
    "reply, classes",
    [
        (
            '{"predicted_classes": [{"class": "cat", "confidence": 0.9}, {"class": "dog", "confidence": 0.4}]}',
            ["cat", "dog", "bird"],
        ),
        ('{"predicted_classes": []}', ["cat", "dog"]),
        (
            '{"predicted_classes": [{"class": "dog", "confidence": 0.3}, {"class": "dog", "confidence": 0.8},'
            ' {"class": "zebra", "confidence": 0.6}]}',
            ["cat", "dog"],
        ),
        ('{"predicted_classes": [{"class": "bird", "confidence": 1.0}]}', ["bird", "cat", "bird"]),
        ('{"predicted_classes": [{"class": "cat", "confidence": 0.2}]}', []),
    ],
)
def test_multi_label_matches_inference(reply: str, classes: List[str]) -> None:
    expected = parse_multi_label_classification_results(
        image=image(), results=json.loads(reply), classes=classes, inference_id=INFERENCE_ID
    )
    parsed = parse_multi_label(reply, classes)
    assert parsed.ok, parsed.error
    actual = build_multi_label_prediction(parsed.value, classes, WIDTH, HEIGHT, INFERENCE_ID, PARENT_ID)
    assert expected["error_status"] is False
    assert actual == expected["predictions"]
    assert list(actual["predictions"]) == list(expected["predictions"]["predictions"])
    assert actual["predicted_classes"] == expected["predictions"]["predicted_classes"]


def test_messy_reply_gives_the_clean_reply_prediction() -> None:
    classes = ["cat", "dog"]
    clean = parse_single_label('{"class_name": "dog", "confidence": 0.8}', classes).value
    messy = parse_single_label("Sure!\n```json\n{'Class': 'Dogs', 'confidence': '80%',}\n```", classes).value
    assert build_single_label_prediction(messy, classes, WIDTH, HEIGHT, "i", "p") == build_single_label_prediction(
        clean, classes, WIDTH, HEIGHT, "i", "p"
    )
