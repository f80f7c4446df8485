"""Reading labelled datasets in the ecosystem's formats."""

import json

import cv2
import numpy as np
import pytest
import supervision as sv

from llama_vision_block.errors import LabelsError
from llama_vision_block.evaluation import labelled


def write_image(path, width=40, height=30):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((height, width, 3), 90, np.uint8))
    return str(path)


def test_one_folder_per_class(tmp_path):
    for name in ("cat/1.png", "cat/2.png", "dog/3.png"):
        write_image(tmp_path / name)
    dataset = labelled.from_class_folders(str(tmp_path))
    assert dataset.kind == "classification" and dataset.classes == ("cat", "dog")
    assert {path.split("/")[-2] + "/" + path.split("/")[-1]: truth for path, truth in dataset.truths.items()} == {
        "cat/1.png": "cat", "cat/2.png": "cat", "dog/3.png": "dog",
    }


@pytest.fixture
def detections_dataset(tmp_path):
    """Two images with boxes, as supervision holds them before writing any format."""
    images = [write_image(tmp_path / "source" / name) for name in ("a.png", "b.png")]
    annotations = {
        images[0]: sv.Detections(xyxy=np.array([[2.0, 3.0, 12.0, 13.0], [20.0, 5.0, 30.0, 25.0]]), class_id=np.array([0, 1])),
        images[1]: sv.Detections(xyxy=np.array([[1.0, 1.0, 9.0, 9.0]]), class_id=np.array([1])),
    }
    return sv.DetectionDataset(classes=["car", "person"], images=images, annotations=annotations)


def boxes_by_name(dataset):
    return {path.split("/")[-1]: (truth.xyxy.round().tolist(), truth.class_id.tolist()) for path, truth in dataset.truths.items()}


EXPECTED_BOXES = {
    "a.png": ([[2.0, 3.0, 12.0, 13.0], [20.0, 5.0, 30.0, 25.0]], [0, 1]),
    "b.png": ([[1.0, 1.0, 9.0, 9.0]], [1]),
}


def test_coco(tmp_path, detections_dataset):
    detections_dataset.as_coco(images_directory_path=str(tmp_path / "coco"), annotations_path=str(tmp_path / "coco.json"))
    dataset = labelled.from_coco(str(tmp_path / "coco"), str(tmp_path / "coco.json"))
    assert dataset.kind == "detection" and dataset.classes == ("car", "person")
    assert boxes_by_name(dataset) == EXPECTED_BOXES


def test_yolo(tmp_path, detections_dataset):
    detections_dataset.as_yolo(
        images_directory_path=str(tmp_path / "images"), annotations_directory_path=str(tmp_path / "labels"),
        data_yaml_path=str(tmp_path / "data.yaml"),
    )
    dataset = labelled.from_yolo(str(tmp_path / "images"), str(tmp_path / "labels"), str(tmp_path / "data.yaml"))
    assert dataset.classes == ("car", "person") and boxes_by_name(dataset) == EXPECTED_BOXES


def test_pascal_voc(tmp_path, detections_dataset):
    detections_dataset.as_pascal_voc(
        images_directory_path=str(tmp_path / "voc"), annotations_directory_path=str(tmp_path / "xml")
    )
    dataset = labelled.from_pascal_voc(str(tmp_path / "voc"), str(tmp_path / "xml"))
    assert set(dataset.classes) == {"car", "person"}
    named = {name: ([box for box in xyxy], [dataset.classes[i] for i in ids]) for name, (xyxy, ids) in boxes_by_name(dataset).items()}
    # Whole-pixel corners come back from VOC's XML as they went in.
    assert named == {
        "a.png": ([[2.0, 3.0, 12.0, 13.0], [20.0, 5.0, 30.0, 25.0]], ["car", "person"]),
        "b.png": ([[1.0, 1.0, 9.0, 9.0]], ["person"]),
    }


def test_answers_file_paths_are_relative_to_its_folder(tmp_path):
    write_image(tmp_path / "pics" / "sign.png")
    write_image(tmp_path / "pics" / "form.png")
    lines = [{"image": "pics/sign.png", "answer": "STOP"}, {"image": "pics/form.png", "answer": {"name": "Ada"}}]
    (tmp_path / "answers.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")
    dataset = labelled.from_answers_file(str(tmp_path / "answers.jsonl"))
    assert dataset.kind == "answers"
    assert list(dataset.truths.values()) == ["STOP", {"name": "Ada"}]
    assert list(dataset.truths)[0] == str(tmp_path / "pics" / "sign.png")


@pytest.mark.parametrize(
    "content,message",
    [
        ("{not json", "answers.jsonl, line 1: not JSON"),
        ('{"image": "x.png"}', 'line 1: each line is an object with "image" (a path) and "answer"'),
        ('{"image": "missing.png", "answer": "a"}', "line 1: no image file 'missing.png'"),
        ('{"image": "a.png", "answer": "a"}\n{"image": "a.png", "answer": "b"}', "line 2: 'a.png' is labelled twice"),
    ],
)
def test_a_bad_answers_file_names_the_line_and_what_to_do(tmp_path, content, message):
    write_image(tmp_path / "a.png")
    (tmp_path / "answers.jsonl").write_text(content)
    with pytest.raises(LabelsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        labelled.from_answers_file(str(tmp_path / "answers.jsonl"))


def test_missing_and_empty_datasets_are_named(tmp_path):
    with pytest.raises(LabelsError, match="the classification folder '.*nowhere' does not exist"):
        labelled.from_class_folders(str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(LabelsError, match="no labelled image found in"):
        labelled.from_class_folders(str(tmp_path / "empty"))
