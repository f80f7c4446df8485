"""The report's pictures: plots (matplotlib) and the gallery of the worst images,
truth and answer drawn by supervision's annotators. Each is a PNG file."""

from __future__ import annotations

import os
from typing import Any, List, Mapping, Sequence, Tuple

TRUTH_COLOR, ANSWER_COLOR = "#16a34a", "#dc2626"  # green: the label; red: the answer
GALLERY_SIZE = 8


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only, no screen
    import matplotlib.pyplot as plt

    return plt


def _saved(plt: Any, fig: Any, path: str) -> str:
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def quality_against_cost(path: str, candidates: Sequence[Mapping[str, Any]], figure: str, higher_is_better: bool) -> str:
    """Each candidate as a point: its headline figure against its cost (or its tokens,
    where a candidate has no price)."""
    plt = _pyplot()
    priced = all(candidate.get("cost_usd") is not None for candidate in candidates)
    fig, axes = plt.subplots(figsize=(6, 4), dpi=100)
    for candidate in candidates:
        x = candidate["cost_usd"] if priced else candidate["input_tokens"] + candidate["output_tokens"]
        axes.scatter([x], [candidate["scores"][figure]], s=60)
        axes.annotate(candidate["label"], (x, candidate["scores"][figure]), textcoords="offset points", xytext=(6, 4), fontsize=8)
    axes.set_xlabel("estimated cost, US dollars" if priced else "tokens, in and out")
    axes.set_ylabel(figure + ("" if higher_is_better else " (lower is better)"))
    axes.set_title("Quality against cost")
    axes.grid(alpha=0.3)
    return _saved(plt, fig, path)


def per_class_f1(path: str, candidates: Sequence[Mapping[str, Any]], classes: Sequence[str]) -> str:
    """F1 per class, a bar per candidate."""
    plt = _pyplot()
    import numpy as np

    fig, axes = plt.subplots(figsize=(max(6, len(classes) * 0.9), 4), dpi=100)
    width = 0.8 / max(1, len(candidates))
    for index, candidate in enumerate(candidates):
        values = [candidate["scores"]["per_class"].get(name, {}).get("f1", 0.0) for name in classes]
        axes.bar(np.arange(len(classes)) + index * width, values, width, label=candidate["label"])
    axes.set_xticks(np.arange(len(classes)) + width * (len(candidates) - 1) / 2, list(classes), rotation=30, ha="right")
    axes.set_ylim(0, 1.05)
    axes.set_ylabel("F1")
    axes.set_title("F1 per class")
    axes.legend(fontsize=8)
    return _saved(plt, fig, path)


def confusion(path: str, label: str, matrix: Mapping[str, Any]) -> str:
    """The confusion matrix of one candidate: rows the truth, columns the answer."""
    plt = _pyplot()
    counts, labels = matrix["counts"], matrix["labels"]
    fig, axes = plt.subplots(figsize=(max(5.0, 1.5 + 0.7 * len(labels)), max(3.8, 1.5 + 0.6 * len(counts))), dpi=100)
    axes.imshow(counts, cmap="Blues")
    darkest = max((value for values in counts for value in values), default=0)
    axes.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    axes.set_yticks(range(len(counts)), labels[: len(counts)])
    for row, values in enumerate(counts):
        for column, value in enumerate(values):
            axes.text(column, row, str(value), ha="center", va="center", fontsize=9,
                      color="white" if darkest and value > darkest / 2 else "black")
    axes.set_xlabel("answer")
    axes.set_ylabel("truth")
    axes.set_title(f"Confusion: {label}", fontsize=10)
    return _saved(plt, fig, path)


def gallery(folder: str, task: str, images: Sequence[str], truths: Sequence[Any], answers: Sequence[Any],
            classes: Sequence[str]) -> List[Tuple[str, str]]:
    """Up to GALLERY_SIZE of the images answered worst, each drawn with its truth (green)
    and the answer (red). Returns (file, caption) pairs."""
    closeness = [_closeness(task, truth, answer) for truth, answer in zip(truths, answers)]
    chosen = sorted((index for index, close in enumerate(closeness) if close < 1.0), key=closeness.__getitem__)[:GALLERY_SIZE]
    os.makedirs(folder, exist_ok=True)
    drawn = []
    for rank, index in enumerate(chosen, 1):
        path = os.path.join(folder, f"{rank:02d}.png")
        caption = _draw(path, task, images[index], truths[index], answers[index], classes)
        drawn.append((path, f"{os.path.basename(images[index])}: {caption}"))
    return drawn


def _closeness(task: str, truth: Any, answer: Any) -> float:
    """1 for an answer that matches its truth, less the further it is (0: none)."""
    if answer is None:
        return 0.0
    if task == "object-detection":
        from supervision.metrics import F1Score

        if len(truth) == 0 and len(answer) == 0:
            return 1.0
        return float(F1Score().update([answer], [truth]).compute().f1_50)
    if task == "ocr":
        import jiwer

        return 1.0 - min(1.0, jiwer.cer(str(truth), str(answer))) if str(truth) else float(not str(answer))
    if task == "multi-label-classification":
        union = set(truth) | set(answer)
        return len(set(truth) & set(answer)) / len(union) if union else 1.0
    from llama_vision_block.evaluation.scores import exact_match_scores

    return exact_match_scores([truth], [answer])["exact_match"]


def _draw(path: str, task: str, image_path: str, truth: Any, answer: Any, classes: Sequence[str]) -> str:
    import cv2
    import numpy as np
    import supervision as sv

    scene = cv2.imread(image_path)
    if scene is None:
        return "(the image could not be read)"
    if task == "object-detection":
        for detections, color in ((truth, TRUTH_COLOR), (answer, ANSWER_COLOR)):
            if detections is not None and len(detections):
                scene = sv.BoxAnnotator(color=sv.Color.from_hex(color), thickness=2).annotate(scene, detections)
                labels = [classes[int(class_id)] for class_id in detections.class_id]
                scene = sv.LabelAnnotator(color=sv.Color.from_hex(color), text_scale=0.4, text_padding=3).annotate(
                    scene, detections, labels
                )
        cv2.imwrite(path, scene)
        return "labelled boxes green, answered boxes red" + (" (no answer)" if answer is None else "")
    # The whole image as one "detection", so the labels are drawn by supervision's
    # annotator, in white bands added above and below it.
    height, width = scene.shape[:2]
    if width < 320:  # room for the text
        scene = cv2.resize(scene, (320, max(1, round(height * 320 / width))))
        height, width = scene.shape[:2]
    band = 28
    scene = cv2.copyMakeBorder(scene, band, band, 0, 0, cv2.BORDER_CONSTANT, value=(255, 255, 255))
    whole = sv.Detections(xyxy=np.array([[0, band, width - 1, band + height - 1]], dtype=float), class_id=np.array([0]))
    said = _short(answer, 40) if answer is not None else "(none)"
    for text, color, where in ((f"truth: {_short(truth, 40)}", TRUTH_COLOR, sv.Position.TOP_LEFT),
                               (f"answer: {said}", ANSWER_COLOR, sv.Position.BOTTOM_LEFT)):
        scene = sv.LabelAnnotator(color=sv.Color.from_hex(color), text_position=where, text_scale=0.45, text_padding=4).annotate(
            scene, whole, [text]
        )
    cv2.imwrite(path, scene)
    return f"truth {_short(truth)}; answer {_short(answer) if answer is not None else '(none)'}"


def _short(value: Any, limit: int = 80) -> str:
    text = ", ".join(sorted(value)) if isinstance(value, (set, list)) and all(isinstance(v, str) for v in value) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def embedded(path: str) -> str:
    """The PNG file as a data URI, so report.html is one self-contained file."""
    import base64

    with open(path, "rb") as file:
        return "data:image/png;base64," + base64.b64encode(file.read()).decode("ascii")
