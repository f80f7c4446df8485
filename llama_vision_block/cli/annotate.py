"""Drawing an image's answer onto it: boxes for detections, a text banner otherwise."""

from __future__ import annotations

import os
from typing import Any, Dict, List

import cv2
import numpy as np

FONT = cv2.FONT_HERSHEY_SIMPLEX
MAX_LINES = 12


def answer_text(task: str, outputs: Dict[str, Any]) -> str:
    """What the banner says for this task's outputs (the task table's summary)."""
    from llama_vision_block.tasks import task_spec

    if outputs.get("error_status") and outputs.get("error_message") and not outputs.get("output"):
        return f"error: {outputs['error_message']}"
    summary = task_spec(task).summary(outputs)
    return summary if summary is not None else str(outputs.get("output") or "")


def _wrap(text: str, scale: float, thickness: int, width: int) -> List[str]:
    lines: List[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}".strip()
            if line and cv2.getTextSize(candidate, FONT, scale, thickness)[0][0] > width:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    if len(lines) > MAX_LINES:
        lines = lines[: MAX_LINES - 1] + [lines[MAX_LINES - 1] + " ..."]
    return lines


def with_banner(image: np.ndarray, text: str) -> np.ndarray:
    """The image with a white banner below it holding `text`, wrapped to its width."""
    text = text.encode("ascii", "replace").decode("ascii")  # cv2 fonts are ASCII only
    height, width = image.shape[:2]
    scale = max(0.4, min(1.2, width / 900))
    thickness = 1 if scale < 0.8 else 2
    line_height = int(cv2.getTextSize("Ag", FONT, scale, thickness)[0][1] * 1.9) + 2
    margin = max(6, int(8 * scale))
    lines = _wrap(text, scale, thickness, width - 2 * margin)
    banner = np.full((line_height * len(lines) + 2 * margin, width, 3), 255, dtype=np.uint8)
    for index, line in enumerate(lines):
        baseline = margin + line_height * (index + 1) - line_height // 4
        cv2.putText(banner, line, (margin, baseline), FONT, scale, (0, 0, 0), thickness, cv2.LINE_AA)
    return np.vstack([image, banner])


def draw_detections(image: np.ndarray, detections: Any) -> np.ndarray:
    import supervision as sv

    annotated = sv.BoxAnnotator().annotate(scene=image.copy(), detections=detections)
    names = detections.data.get("class_name") if detections.data else None
    labels = []
    for index in range(len(detections)):
        name = str(names[index]) if names is not None else str(detections.class_id[index])
        confidence = detections.confidence[index] if detections.confidence is not None else None
        labels.append(f"{name} {confidence:.2f}" if confidence is not None else name)
    return sv.LabelAnnotator().annotate(scene=annotated, detections=detections, labels=labels)


def annotate(image: np.ndarray, task: str, outputs: Dict[str, Any]) -> np.ndarray:
    """The image with its answer drawn on it."""
    import supervision as sv

    drawn = image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    predictions = outputs.get("predictions")
    if isinstance(predictions, sv.Detections) and len(predictions):
        drawn = draw_detections(drawn, predictions)
    return with_banner(drawn, answer_text(task, outputs))


def write_annotated(directory: str, image_path: str, image: np.ndarray, task: str, outputs: Dict[str, Any]) -> str:
    """Writes the annotated image under `directory` with the image's file name."""
    os.makedirs(directory, exist_ok=True)
    target = os.path.join(directory, os.path.basename(image_path))
    extension = os.path.splitext(target)[1] or ".png"
    ok, encoded = cv2.imencode(extension, annotate(image, task, outputs))
    if not ok:
        raise OSError(f"cannot encode the annotated image as {extension}")
    encoded.tofile(target)
    return target
