"""Writes the small labelled dataset that docs/eval.md walks through.

Run from the repository root: `.venv/bin/python examples/eval/make_dataset.py`.
The images are drawn here (shapes and painted words on plain backgrounds), so
where every label comes from is plain, and the same files come out each time:

- `shapes/`: one folder per class (circle, square, triangle): classification;
- `coco/`, `yolo/`, `voc/`: the same images with a box around each shape,
  written by supervision's own writers: object detection;
- `signs.jsonl`: painted words and their text: OCR;
- `colors.jsonl`: "What colour is the shape?" and its answer: visual question answering;
- `cards.jsonl`: each shape's {"shape", "color"}: structured answering;
- `tags.jsonl`: which shapes an image holds: multi-label classification.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Tuple

import cv2
import numpy as np
import supervision as sv

HERE = Path(__file__).resolve().parent
CLASSES = ["circle", "square", "triangle"]
COLORS: Dict[str, Tuple[int, int, int]] = {"red": (40, 40, 220), "blue": (220, 90, 30), "green": (60, 170, 40)}  # BGR
# (class, colour, centre x, centre y, half size) per shape, per image.
SCENES: List[List[Tuple[str, str, int, int, int]]] = [
    [("circle", "red", 80, 60, 35)],
    [("circle", "blue", 70, 70, 30)],
    [("square", "green", 90, 60, 40)],
    [("square", "red", 60, 55, 30)],
    [("triangle", "blue", 80, 65, 40)],
    [("triangle", "green", 85, 60, 35)],
    [("circle", "green", 45, 60, 25), ("square", "blue", 120, 60, 25)],
    [("triangle", "red", 45, 65, 28), ("circle", "blue", 120, 60, 25)],
]
WORDS = ["STOP", "EXIT", "ONE WAY", "OPEN 24 HOURS"]
SIZE = (160, 120)  # width, height


def draw(scene: List[Tuple[str, str, int, int, int]]) -> Tuple[np.ndarray, sv.Detections]:
    image = np.full((SIZE[1], SIZE[0], 3), 235, np.uint8)
    boxes, ids = [], []
    for shape, color, x, y, half in scene:
        bgr = COLORS[color]
        if shape == "circle":
            cv2.circle(image, (x, y), half, bgr, -1, cv2.LINE_AA)
        elif shape == "square":
            cv2.rectangle(image, (x - half, y - half), (x + half, y + half), bgr, -1)
        else:
            points = np.array([[x, y - half], [x - half, y + half], [x + half, y + half]], np.int32)
            cv2.fillPoly(image, [points], bgr, cv2.LINE_AA)
        boxes.append([x - half, y - half, x + half, y + half])
        ids.append(CLASSES.index(shape))
    return image, sv.Detections(xyxy=np.array(boxes, dtype=float), class_id=np.array(ids))


def sign(text: str) -> np.ndarray:
    image = np.full((80, 320, 3), 250, np.uint8)
    cv2.rectangle(image, (4, 4), (315, 75), (30, 30, 30), 2)
    scale = 1.2 if len(text) < 10 else 0.8
    (width, height), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, scale, 2)
    cv2.putText(image, text, ((320 - width) // 2, (80 + height) // 2), cv2.FONT_HERSHEY_DUPLEX, scale, (20, 20, 20), 2, cv2.LINE_AA)
    return image


def write_lines(path: Path, lines: List[dict]) -> None:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def main() -> None:
    images = HERE / "images"
    images.mkdir(exist_ok=True)
    paths, annotations = [], {}
    for index, scene in enumerate(SCENES):
        image, detections = draw(scene)
        path = images / f"shapes_{index}.png"
        cv2.imwrite(str(path), image)
        paths.append(str(path))
        annotations[str(path)] = detections
        if len(scene) == 1:  # one shape: a classification example too
            folder = HERE / "shapes" / scene[0][0]
            folder.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(folder / path.name), image)
    dataset = sv.DetectionDataset(classes=CLASSES, images=paths, annotations=annotations)
    dataset.as_coco(images_directory_path=str(HERE / "coco" / "images"), annotations_path=str(HERE / "coco" / "annotations.json"))
    dataset.as_yolo(images_directory_path=str(HERE / "yolo" / "images"), annotations_directory_path=str(HERE / "yolo" / "labels"),
                    data_yaml_path=str(HERE / "yolo" / "data.yaml"))
    dataset.as_pascal_voc(images_directory_path=str(HERE / "voc" / "images"), annotations_directory_path=str(HERE / "voc" / "annotations"))

    signs = []
    for index, text in enumerate(WORDS):
        name = f"sign_{index}.png"
        cv2.imwrite(str(images / name), sign(text))
        signs.append({"image": f"images/{name}", "answer": text})
    write_lines(HERE / "signs.jsonl", signs)
    single = [(index, scene[0]) for index, scene in enumerate(SCENES) if len(scene) == 1]
    write_lines(HERE / "colors.jsonl", [{"image": f"images/shapes_{i}.png", "answer": shape[1]} for i, shape in single])
    write_lines(HERE / "cards.jsonl", [{"image": f"images/shapes_{i}.png", "answer": {"shape": shape[0], "color": shape[1]}}
                                        for i, shape in single])
    write_lines(HERE / "tags.jsonl", [{"image": f"images/shapes_{i}.png", "answer": sorted({s[0] for s in scene})}
                                       for i, scene in enumerate(SCENES)])


if __name__ == "__main__":
    main()
