"""Labelled images, read with supervision where it has a reader.

- classification: one folder per class (`sv.ClassificationDataset.from_folder_structure`);
- detection: COCO, YOLO or Pascal VOC (`sv.DetectionDataset.from_coco` / `from_yolo`
  / `from_pascal_voc`);
- answers (OCR, visual question answering, structured answering, multi-label
  classification): a JSON Lines file of `{"image": ..., "answer": ...}`, an image's
  path relative to the file's folder.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Dict, Tuple

from llama_vision_block.errors import LabelsError


@dataclass(frozen=True)
class LabelledSet:
    """Images and their truths: a class name, a `sv.Detections`, or an answer."""

    kind: str  # "classification", "detection" or "answers"
    classes: Tuple[str, ...]  # empty for answers
    truths: Dict[str, Any]  # image path -> its truth, in the dataset's order


def from_class_folders(root: str) -> LabelledSet:
    """One folder per class under `root`, its images inside."""
    import supervision as sv

    _must_exist(root, "the classification folder")
    dataset = sv.ClassificationDataset.from_folder_structure(root)
    classes = tuple(dataset.classes)
    truths = {path: classes[int(dataset.annotations[path].class_id[0])] for path in sorted(dataset.image_paths)}
    return _non_empty(LabelledSet("classification", classes, truths), root)


def from_coco(images: str, annotations: str) -> LabelledSet:
    import supervision as sv

    _must_exist(images, "the images folder")
    _must_exist(annotations, "the COCO annotations file")
    return _detections(sv.DetectionDataset.from_coco(images, annotations), images)


def from_yolo(images: str, labels: str, data_yaml: str) -> LabelledSet:
    import supervision as sv

    for path, what in ((images, "the images folder"), (labels, "the labels folder"), (data_yaml, "data.yaml")):
        _must_exist(path, what)
    return _detections(sv.DetectionDataset.from_yolo(images, labels, data_yaml), images)


def from_pascal_voc(images: str, annotations: str) -> LabelledSet:
    import supervision as sv

    _must_exist(images, "the images folder")
    _must_exist(annotations, "the Pascal VOC annotations folder")
    return _detections(sv.DetectionDataset.from_pascal_voc(images, annotations), images)


def from_answers_file(path: str) -> LabelledSet:
    """A JSON Lines file whose lines hold `image` (a path) and `answer`."""
    _must_exist(path, "the answers file")
    folder = os.path.dirname(os.path.abspath(path))
    truths: Dict[str, Any] = {}
    with open(path, encoding="utf-8") as file:
        for number, text in enumerate(file, 1):
            if not text.strip():
                continue
            where = f"{path}, line {number}"
            try:
                line = json.loads(text)
            except json.JSONDecodeError as error:
                raise LabelsError(f"{where}: not JSON ({error.msg}); each line is {{\"image\": ..., \"answer\": ...}}") from None
            if not isinstance(line, dict) or not isinstance(line.get("image"), str) or "answer" not in line:
                raise LabelsError(f"{where}: each line is an object with \"image\" (a path) and \"answer\"")
            image = os.path.normpath(os.path.join(folder, line["image"]))
            if not os.path.isfile(image):
                raise LabelsError(f"{where}: no image file {line['image']!r} (paths are relative to the file's folder)")
            if image in truths:
                raise LabelsError(f"{where}: {line['image']!r} is labelled twice")
            truths[image] = line["answer"]
    return _non_empty(LabelledSet("answers", (), truths), path)


def _detections(dataset: Any, where: str) -> LabelledSet:
    truths = {path: dataset.annotations[path] for path in sorted(dataset.image_paths)}
    return _non_empty(LabelledSet("detection", tuple(dataset.classes), truths), where)


def _must_exist(path: str, what: str) -> None:
    if not os.path.exists(path):
        raise LabelsError(f"{what} {path!r} does not exist")


def _non_empty(labelled: LabelledSet, where: str) -> LabelledSet:
    if not labelled.truths:
        raise LabelsError(f"no labelled image found in {where!r}")
    return labelled
