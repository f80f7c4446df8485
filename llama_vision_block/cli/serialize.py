"""Turning the block's outputs into JSON values for JSON Lines."""

from __future__ import annotations

from typing import Any, Dict, List

import numpy as np

from llama_vision_block.results import OUTPUT_KINDS  # the CLI imports this module once the engine is needed

# A line holds every output of the block but `classes`, which the run's settings hold.
RECORD_FIELDS = tuple(name for name in OUTPUT_KINDS if name != "classes")


# What a confidence and a pixel coordinate mean, without float32's noise
# (0.800000011920929, 1200.0001220703125).
CONFIDENCE_DIGITS = 4
PIXEL_DIGITS = 2


def _rounded(value: Any, digits: int) -> float:
    return round(float(value), digits)


def detections_to_list(detections: Any) -> List[Dict[str, Any]]:
    """sv.Detections as [{"class_name", "class_id", "confidence", "xyxy"}, ...]."""
    names = detections.data.get("class_name") if detections.data else None
    items = []
    for index in range(len(detections)):
        class_id = detections.class_id[index] if detections.class_id is not None else None
        confidence = detections.confidence[index] if detections.confidence is not None else None
        items.append(
            {
                "class_name": str(names[index]) if names is not None else None,
                "class_id": int(class_id) if class_id is not None else None,
                "confidence": _rounded(confidence, CONFIDENCE_DIGITS) if confidence is not None else None,
                "xyxy": [_rounded(value, PIXEL_DIGITS) for value in detections.xyxy[index]],
            }
        )
    return items


def to_json_value(value: Any) -> Any:
    """A JSON-serialisable copy of an output value."""
    import supervision as sv

    if isinstance(value, sv.Detections):
        return detections_to_list(value)
    if isinstance(value, dict):
        return {str(key): to_json_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_value(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def record(image_path: str, outputs: Dict[str, Any]) -> Dict[str, Any]:
    """One JSON Lines record: the image's path and the block's outputs for it."""
    line: Dict[str, Any] = {"image": image_path}
    for name in RECORD_FIELDS:
        line[name] = to_json_value(outputs.get(name))
    return line


def failed_record(image_path: str, message: str) -> Dict[str, Any]:
    """The record of an image that could not be sent at all (e.g. not decodable)."""
    line: Dict[str, Any] = {"image": image_path, **dict.fromkeys(RECORD_FIELDS)}
    line.update(output="", error_status=True, error_message=message)
    return line


def save_images(value: Any, directory: str, name: str) -> Any:
    """`value` (serialised workflow outputs) with each base64 image written to a file
    in `directory` and replaced by {"type": "file", "path": ...}; a file is named
    `name`, then the output (and list position) that holds it: `0.visualization.jpg`."""
    import base64
    import os

    if isinstance(value, dict) and value.get("type") == "base64" and isinstance(value.get("value"), str):
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, f"{name}.jpg")
        with open(path, "wb") as file:
            file.write(base64.b64decode(value["value"]))
        return {"type": "file", "path": path}
    if isinstance(value, dict):
        return {key: save_images(item, directory, f"{name}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [save_images(item, directory, f"{name}.{index}") for index, item in enumerate(value)]
    return value
