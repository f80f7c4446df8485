"""parse_detections: boxes as sv.Detections in pixels of the original image."""

from __future__ import annotations

import numpy as np
import pytest

from llama_vision_block.parsing import parse_detections

CLASSES = ["car", "person"]
SIZE = (200, 100)  # width, height


def boxes(reply: str, classes=CLASSES, size=SIZE):
    parsed = parse_detections(reply, classes, size)
    assert parsed.ok, parsed.error
    return parsed.value


def test_fractions_are_scaled_to_pixels() -> None:
    detections = boxes('{"detections": [{"class": "car", "box": [0.1, 0.2, 0.5, 0.6], "confidence": 0.8}]}')
    assert detections.xyxy.dtype == np.float64  # the numbers as read: no float32 noise (0.800000011920929)
    np.testing.assert_allclose(detections.xyxy, [[20, 20, 100, 60]])
    np.testing.assert_allclose(detections.confidence, [0.8])
    assert detections.class_id.tolist() == [0]
    assert detections.data["class_name"].tolist() == ["car"]


def test_any_coordinate_above_threshold_means_pixels() -> None:
    reply = '[{"class": "car", "box": [0.5, 0.5, 1.0, 1.0]}, {"class": "person", "box": [10, 20, 50, 80]}]'
    np.testing.assert_allclose(boxes(reply).xyxy, [[0.5, 0.5, 1.0, 1.0], [10, 20, 50, 80]])


def test_threshold_is_one_and_a_half() -> None:
    np.testing.assert_allclose(boxes('[{"class": "car", "box": [0.5, 0.5, 1.5, 1.0]}]').xyxy, [[100, 50, 200, 100]])
    np.testing.assert_allclose(boxes('[{"class": "car", "box": [0.5, 0.5, 1.6, 1.0]}]').xyxy, [[0.5, 0.5, 1.6, 1.0]])


@pytest.mark.parametrize(
    "entry, expected",
    [
        ('"box": [0.1, 0.2, 0.3, 0.4]', [20, 20, 60, 40]),
        ('"bbox": {"x_min": 0.1, "y_min": 0.2, "x_max": 0.3, "y_max": 0.4}', [20, 20, 60, 40]),
        ('"xmin": 0.1, "ymin": 0.2, "xmax": 0.3, "ymax": 0.4', [20, 20, 60, 40]),
        ('"x1": 0.1, "y1": 0.2, "x2": 0.3, "y2": 0.4', [20, 20, 60, 40]),
        ('"x": 0.1, "y": 0.2, "width": 0.2, "height": 0.2', [20, 20, 60, 40]),
        ('"box": {"x": 20, "y": 20, "w": 40, "h": 20}', [20, 20, 60, 40]),
        ('"box": "0.1, 0.2, 0.3, 0.4"', [20, 20, 60, 40]),
        ('"box": ["0.1", "0.2", "0.3", "0.4"]', [20, 20, 60, 40]),
        ('"box": [[0.1, 0.2], [0.3, 0.4]]', [20, 20, 60, 40]),
    ],
)
def test_box_formats(entry: str, expected: list) -> None:
    detections = boxes('{"detections": [{"class": "car", %s}]}' % entry)
    np.testing.assert_allclose(detections.xyxy, [expected], rtol=1e-5)


def test_clipping_and_degenerate_boxes() -> None:
    reply = (
        '[{"class": "car", "box": [-0.1, -0.1, 1.2, 0.5]},'
        ' {"class": "car", "box": [0.5, 0.5, 0.5, 0.9]},'
        ' {"class": "car", "box": [0.6, 0.5, 0.2, 0.9]}]'
    )
    # The last box's corners come in the other order: it is put right, not dropped.
    np.testing.assert_allclose(boxes(reply).xyxy, [[0, 0, 200, 50], [40, 50, 120, 90]])


def outside(reply: str, size=SIZE) -> str:
    parsed = parse_detections(reply, CLASSES, size)
    assert parsed.ok is False and parsed.value is None
    return parsed.error


def test_a_box_wholly_outside_the_image_is_an_error_not_dropped() -> None:
    reply = '[{"class": "car", "box": [0.1, 0.1, 0.5, 0.5]}, {"class": "car", "box": [1.1, 0.1, 1.3, 0.2]}]'
    assert outside(reply) == "1 of 2 boxes lies outside the 200x100 image; the coordinate scale is unclear"


def test_boxes_on_a_0_to_1000_scale_are_an_error_not_zero_boxes() -> None:
    # Before: every box was dropped and the reply read as "nothing detected".
    reply = '[{"class": "car", "box": [700, 500, 900, 800]}, {"class": "person", "box": [650, 100, 720, 460]}]'
    assert outside(reply, (640, 480)) == (
        "2 of 2 boxes lie outside the 640x480 image; the coordinate scale is unclear"
    )


def test_a_box_far_past_the_edge_is_an_error_not_clipped() -> None:
    # Before: clipped to [120, 340, 640, 480], a box the model never meant.
    reply = '{"detections": [{"class": "car", "box": [120, 340, 880, 990], "confidence": 0.9}]}'
    assert outside(reply, (640, 480)) == (
        "1 of 1 box lies outside the 640x480 image; the coordinate scale is unclear"
    )


def test_up_to_half_the_image_past_the_edge_is_clipped() -> None:
    np.testing.assert_allclose(boxes('[{"class": "car", "box": [100, 20, 204, 101]}]').xyxy, [[100, 20, 200, 100]])
    np.testing.assert_allclose(boxes('[{"class": "car", "box": [150, 50, 300, 150]}]').xyxy, [[150, 50, 200, 100]])
    assert "outside" in outside('[{"class": "car", "box": [150, 50, 301, 150]}]')
    assert "outside" in outside('[{"class": "car", "box": [-101, 0, 50, 50]}]')


def test_a_box_outside_the_image_is_not_hidden_by_a_box_inside_it() -> None:
    reply = '{"class": "car", "box": [10, 10, 50, 50]}\n{"class": "car", "box": [700, 500, 900, 800]}'
    assert "1 of 2 boxes lies outside" in outside(reply, (640, 480))


def test_a_corrected_reply_gives_the_corrected_boxes() -> None:
    reply = (
        '{"detections": [{"class": "car", "box": [0.1, 0.1, 0.3, 0.3]}]}\n'
        'Wait, the box was off. Corrected:\n{"detections": [{"class": "car", "box": [0.5, 0.5, 1, 1]}]}'
    )
    np.testing.assert_allclose(boxes(reply).xyxy, [[100, 50, 200, 100]])


def test_class_names_in_quotes_match() -> None:
    reply = '[{"class": "\\"Car\\"", "box": [0, 0, 1, 1]}, {"class": "person.", "box": [0, 0, 1, 1]}]'
    assert boxes(reply).class_id.tolist() == [0, 1]


def test_defaults_and_unknown_classes() -> None:
    detections = boxes('[{"class": "Persons", "box": [0, 0, 0.5, 0.5]}, {"label": "tree", "bbox": [0.5, 0.5, 1, 1], "score": "70%"}]')
    assert detections.data["class_name"].tolist() == ["person", "tree"]
    assert detections.class_id.tolist() == [1, -1]
    np.testing.assert_allclose(detections.confidence, [1.0, 0.7])


def test_single_class_needs_no_class_key() -> None:
    assert boxes('[{"box": [0, 0, 0.5, 0.5]}]', classes=["car"]).data["class_name"].tolist() == ["car"]


def test_empty_and_dropped_entries() -> None:
    assert len(boxes('{"detections": []}')) == 0
    empty = boxes('{"detections": []}')
    assert empty.xyxy.shape == (0, 4) and empty.data["class_name"].shape == (0,)
    assert len(boxes('[{"class": "car", "box": [0.5, 0.5, 0.5, 0.5]}]')) == 0


def test_truncated_last_detection_is_dropped() -> None:
    reply = '{"detections": [{"class": "car", "box": [0.1, 0.1, 0.2, 0.2]}, {"class": "car", "box": [0.3, 0.3, 0.4, 0.'
    assert len(boxes(reply)) == 1


def test_class_to_boxes_map() -> None:
    detections = boxes('{"car": [[0, 0, 0.5, 0.5], [0.5, 0.5, 1, 1]], "person": [0, 0, 1, 1]}')
    assert detections.data["class_name"].tolist() == ["car", "car", "person"]


@pytest.mark.parametrize(
    "reply, error",
    [
        ('{"detections": [{"class": "car", "box": [0.1, 0.', "cut off"),
        ('{"detections": [{"class": "car"}]}', "had a class and a box"),
        ('{"caption": "a car"}', "no list of detections"),
        ("I cannot locate people in images.", "the model refused"),
        ("two cars", "no JSON object found"),
    ],
)
def test_errors(reply: str, error: str) -> None:
    parsed = parse_detections(reply, CLASSES, SIZE)
    assert not parsed.ok and parsed.value is None
    assert error in parsed.error


@pytest.mark.parametrize("size", [None, (), ("a", "b")])
def test_bad_image_size_is_an_error_not_an_exception(size) -> None:
    parsed = parse_detections('[{"class": "car", "box": [0, 0, 1, 1]}]', CLASSES, size)
    assert not parsed.ok and "image_size" in parsed.error


def test_no_classes() -> None:
    detections = boxes('[{"class": "car", "box": [0, 0, 1, 1]}]', classes=[])
    assert detections.class_id.tolist() == [-1]


def test_swapped_corners_are_put_in_order_in_every_box_form() -> None:
    reply = (
        "```json\n{\"detections\": [{\"class\": \"car\", \"box\": [0.5, 0.8, 0.1, 0.2], \"confidence\": 0.9},\n"
        "  {\"class\": \"person\", \"bbox\": {\"x_min\": 0.9, \"y_min\": 0.1, \"x_max\": 0.6, \"y_max\": 0.5}}]}\n```"
    )
    np.testing.assert_allclose(boxes(reply).xyxy, [[20, 20, 100, 80], [120, 10, 180, 50]])


def test_confidences_are_read_on_the_answers_scale() -> None:
    overshoot = '[{"class": "car", "box": [0.1, 0.1, 0.2, 0.2], "confidence": 0.8}, {"class": "car", "box": [0.3, 0.3, 0.4, 0.4], "confidence": 1.5}]'
    percent = '[{"class": "car", "box": [0.1, 0.1, 0.2, 0.2], "confidence": 95}, {"class": "car", "box": [0.3, 0.3, 0.4, 0.4], "confidence": 1.5}]'
    np.testing.assert_allclose(boxes(overshoot).confidence, [0.8, 1.0])  # before: 0.015
    np.testing.assert_allclose(boxes(percent).confidence, [0.95, 0.015])


def test_a_nan_confidence_leaves_its_box_out_and_flags_the_answer() -> None:
    reply = '{"detections": [{"class": "car", "box": [0.1, 0.1, 0.2, 0.2], "confidence": NaN}, {"class": "person", "box": [0.3, 0.3, 0.4, 0.4], "confidence": 0.7}]}'
    parsed = parse_detections(reply, CLASSES, SIZE)
    assert list(parsed.value.data["class_name"]) == ["person"]
    assert parsed.warning == "the confidence of 1 detection(s) (car: nan) is not a finite number; those boxes are left out"
    only = parse_detections('[{"class": "car", "box": [0.1, 0.1, 0.2, 0.2], "confidence": Infinity}]', CLASSES, SIZE)
    assert only.value is None and only.error == "the confidence of 1 detection(s) (car: inf) is not a finite number"


def test_two_different_lists_of_boxes_are_an_error_not_the_first() -> None:
    reply = (
        "Option 1:\n```json\n[{\"class\": \"car\", \"box\": [0.1, 0.1, 0.2, 0.2]}]\n```\n"
        "Option 2:\n```json\n[{\"class\": \"car\", \"box\": [0.5, 0.5, 0.9, 0.9]}]\n```"
    )
    parsed = parse_detections(reply, CLASSES, SIZE)
    assert parsed.value is None
    assert parsed.error == "the reply gives 2 different answers ([car 20 10 40 20]; [car 100 50 180 90]) and no correction"
