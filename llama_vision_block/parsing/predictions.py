"""Classification results in the dict shape of `roboflow_core/vlm_as_classifier@v2`."""

from __future__ import annotations

from typing import Any, Dict, List, Sequence

from llama_vision_block.parsing.classification import MultiLabel, SingleLabel


def build_single_label_prediction(
    result: SingleLabel,
    classes: Sequence[str],
    width: int,
    height: int,
    inference_id: str,
    parent_id: str,
) -> Dict[str, Any]:
    """A single-label classification prediction: one entry per given class,
    led by the predicted class with id -1 when it is not one of them."""
    class_ids = _class_index(classes)
    top = result.class_name
    predictions: List[Dict[str, Any]] = []
    if top not in class_ids:
        predictions.append({"class": top, "class_id": -1, "confidence": result.confidence})
    for class_name, class_id in class_ids.items():
        confidence = result.confidence if class_name == top else 0.0
        predictions.append({"class": class_name, "class_id": class_id, "confidence": confidence})
    return {
        "image": {"width": width, "height": height},
        "predictions": predictions,
        "top": top,
        "confidence": result.confidence,
        "inference_id": inference_id,
        "parent_id": parent_id,
    }


def build_multi_label_prediction(
    result: MultiLabel,
    classes: Sequence[str],
    width: int,
    height: int,
    inference_id: str,
    parent_id: str,
) -> Dict[str, Any]:
    """A multi-label classification prediction: every given class (confidence
    0.0 unless predicted) plus the predicted ones not among them (id -1)."""
    class_ids = _class_index(classes)
    for class_name in result.confidences:
        class_ids.setdefault(class_name, -1)
    return {
        "image": {"width": width, "height": height},
        "predictions": {
            class_name: {
                "confidence": result.confidences.get(class_name, 0.0),
                "class_id": class_id,
            }
            for class_name, class_id in class_ids.items()
        },
        "predicted_classes": list(result.confidences),
        "inference_id": inference_id,
        "parent_id": parent_id,
    }


def _class_index(classes: Sequence[str]) -> Dict[str, int]:
    # As inference builds it: on duplicate names the last index wins.
    return {class_name: index for index, class_name in enumerate(classes)}
