"""What a run's line answered, in the shape its task is scored in.

A line is what `llama-vision run` writes for an image (`cli/serialize.record`). An
image whose line says `error_status` has no answer: None, which the scores count
against the candidate.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Mapping, Optional, Sequence


def single_label(line: Mapping[str, Any], classes: Sequence[str]) -> Optional[str]:
    prediction = line.get("predictions")
    return prediction.get("top") if isinstance(prediction, Mapping) else None


def multi_label(line: Mapping[str, Any], classes: Sequence[str]) -> Optional[set]:
    prediction = line.get("predictions")
    return set(prediction.get("predicted_classes") or ()) if isinstance(prediction, Mapping) else None


def boxes(line: Mapping[str, Any], classes: Sequence[str]) -> Optional[Any]:
    """The answered boxes as `sv.Detections`, class ids those of the dataset's classes
    (a box of a class the dataset does not have is left out)."""
    import numpy as np
    import supervision as sv

    found = line.get("predictions")
    if not isinstance(found, list):
        return None
    kept = [item for item in found if item.get("class_name") in classes]
    if not kept:
        return sv.Detections.empty()
    return sv.Detections(
        xyxy=np.array([item["xyxy"] for item in kept], dtype=float),
        class_id=np.array([list(classes).index(item["class_name"]) for item in kept], dtype=int),
        confidence=np.array([item.get("confidence") if item.get("confidence") is not None else 1.0 for item in kept]),
    )


def text(line: Mapping[str, Any], classes: Sequence[str]) -> Optional[str]:
    return line.get("output")


def structured(line: Mapping[str, Any], classes: Sequence[str]) -> Optional[Dict[str, Any]]:
    return line.get("structured_output")


READERS: Dict[str, Callable[[Mapping[str, Any], Sequence[str]], Any]] = {
    "classification": single_label,
    "multi-label-classification": multi_label,
    "object-detection": boxes,
    "ocr": text,
    "visual-question-answering": text,
    "caption": text,
    "detailed-caption": text,
    "unconstrained": text,
    "structured-answering": structured,
}


def answer(task: str, line: Optional[Mapping[str, Any]], classes: Sequence[str]) -> Any:
    """The answer of `line` for `task`, or None when the image has none."""
    if line is None or line.get("error_status"):
        return None
    return READERS[task](line, classes)
