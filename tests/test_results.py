"""One image's outputs, for each kind of task."""

import base64

import cv2
import numpy as np
import pytest
from inference.core.workflows.execution_engine.entities.base import (
    ImageParentMetadata,
    WorkflowImageData,
)

from llama_vision_block.images import encode_image, prepare_image
from llama_vision_block.results import failure_outputs, reply_outputs
from llama_vision_block.task_inputs import TaskInputs
from llama_vision_block.tasks import TASK_TYPES, task_spec

IMAGE = WorkflowImageData(
    parent_metadata=ImageParentMetadata(parent_id="frame-7"),
    numpy_image=np.zeros((200, 400, 3), np.uint8),
)
CLASSES = ["car", "truck"]


def _outputs(task_type, reply, output_structure=None):
    return reply_outputs(task_spec(task_type).interpret, reply, IMAGE, TaskInputs(classes=CLASSES, output_structure=output_structure))


@pytest.mark.parametrize(
    "task_type", ["unconstrained", "ocr", "visual-question-answering", "caption", "detailed-caption"]
)
def test_text_tasks_leave_the_parsed_outputs_empty(task_type):
    outputs = _outputs(task_type, '{"not": "parsed"} I\'m sorry, I can\'t')
    assert outputs["output"] == '{"not": "parsed"} I\'m sorry, I can\'t'
    assert (outputs["structured_output"], outputs["predictions"]) == (None, None)
    assert (outputs["error_status"], outputs["error_message"]) == (False, "")


def test_every_task_type_produces_every_output():
    for task_type in TASK_TYPES:
        assert set(_outputs(task_type, "x", {"a": "b"})) == {
            "output", "classes", "structured_output", "predictions",
            "error_status", "error_message", "inference_id", "input_tokens", "output_tokens", "latency_s",
        }


def test_structured_answer_has_every_requested_key():
    outputs = _outputs(
        "structured-answering",
        "Here you go:\n```json\n{'street': 'Main St', extra: True,}\n```",
        {"street": "street name", "exit": "exit number"},
    )
    assert outputs["structured_output"] == {"street": "Main St", "exit": None, "extra": True}
    assert outputs["error_status"] is False


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_an_empty_reply_is_never_a_success(task_type):
    outputs = _outputs(task_type, " \n", {"a": "b"})
    assert outputs["error_status"] is True
    assert outputs["error_message"].startswith("the model answered with an empty reply")


def test_unparseable_structured_answer_is_an_error_not_an_exception():
    outputs = _outputs("structured-answering", "I cannot see any sign.", {"street": "name"})
    assert outputs["structured_output"] is None
    assert outputs["error_status"] is True
    assert outputs["error_message"]


def test_refusal_is_reported_as_such():
    outputs = _outputs("classification", "I'm sorry, but I can't help with identifying that.")
    assert outputs["error_status"] is True
    assert "refused" in outputs["error_message"]


def test_single_label_prediction_carries_image_and_ids():
    outputs = _outputs("classification", '```json\n{"class_name": "Cars", "confidence": "90%"}\n```')
    prediction = outputs["predictions"]
    assert prediction["top"] == "car" and prediction["confidence"] == 0.9
    assert prediction["image"] == {"width": 400, "height": 200}
    assert prediction["parent_id"] == "frame-7"
    assert prediction["inference_id"] == outputs["inference_id"]


def test_multi_label_prediction():
    reply = '{"predicted_classes": [{"class": "truck", "confidence": 0.7}]}'
    prediction = _outputs("multi-label-classification", reply)["predictions"]
    assert prediction["predicted_classes"] == ["truck"]
    assert prediction["predictions"]["car"] == {"confidence": 0.0, "class_id": 0}
    assert prediction["predictions"]["truck"] == {"confidence": 0.7, "class_id": 1}


def test_detections_are_in_image_pixels_with_workflow_metadata():
    reply = '```json\n{"detections": [{"class": "car", "box": [0.1, 0.2, 0.5, 0.6], "confidence": 0.8}]}\n```'
    outputs = _outputs("object-detection", reply)
    detections = outputs["predictions"]
    assert detections.xyxy.tolist() == [[40.0, 40.0, 200.0, 120.0]]
    assert detections.class_id.tolist() == [0]
    assert detections.confidence.tolist() == pytest.approx([0.8])
    assert detections.data["class_name"].tolist() == ["car"]
    assert detections.data["image_dimensions"].tolist() == [[200, 400]]
    assert detections.data["inference_id"].tolist() == [outputs["inference_id"]]
    assert detections.data["prediction_type"].tolist() == ["object-detection"]
    assert detections.data["parent_id"].tolist() == ["frame-7"]
    assert len(detections.data["detection_id"][0]) == 36


def test_failure_outputs():
    outputs = failure_outputs("images[3]: OpenRouter (HTTP 500): boom", CLASSES)
    assert outputs["output"] == ""
    assert outputs["classes"] == CLASSES
    assert outputs["error_status"] is True
    assert outputs["error_message"] == "images[3]: OpenRouter (HTTP 500): boom"
    assert (outputs["structured_output"], outputs["predictions"]) == (None, None)


@pytest.mark.parametrize(
    "box",
    ["[0.25, 0.5, 0.75, 1.0]", "[280, 280, 840, 560]"],  # fractions, and pixels of the 1120x560 sent
    ids=["fractions", "pixels-of-the-sent-image"],
)
def test_detections_map_from_the_downscaled_image_back_to_the_original(box):
    pixels = np.zeros((1000, 2000, 3), np.uint8)
    sent = encode_image(pixels)
    image = WorkflowImageData(parent_metadata=ImageParentMetadata(parent_id="big"), numpy_image=pixels)
    reply = f'{{"detections": [{{"class": "car", "box": {box}}}]}}'

    outputs = reply_outputs(task_spec("object-detection").interpret, reply, image, TaskInputs(classes=CLASSES), sent=sent)

    assert (sent.width, sent.height, sent.source_size) == (1120, 560, (2000, 1000))
    assert outputs["predictions"].xyxy.tolist() == [[500.0, 500.0, 1500.0, 1000.0]]
    assert outputs["predictions"].data["image_dimensions"].tolist() == [[1000, 2000]]


def test_classification_sizes_come_from_the_sent_image_without_decoding():
    jpeg = cv2.imencode(".jpg", np.zeros((30, 40, 3), np.uint8))[1].tobytes()
    image = WorkflowImageData(parent_metadata=ImageParentMetadata(parent_id="j"), base64_image=base64.b64encode(jpeg).decode())
    sent = prepare_image(image, "images[0]")
    reply = '{"class_name": "car", "confidence": 0.5}'

    outputs = reply_outputs(task_spec("classification").interpret, reply, image, TaskInputs(classes=CLASSES), sent=sent)

    assert sent.data == jpeg  # passed through, not decoded
    assert outputs["predictions"]["image"] == {"width": 40, "height": 30}


# The shape of a classification prediction is inference's: what its formatter
# block `roboflow_core/vlm_as_classifier@v2` gives for the clean reply.
@pytest.mark.parametrize(
    "task_type, messy, clean, classes",
    [
        ("classification", "Sure!\n```json\n{'Class': 'Trucks', 'confidence': '80%',}\n```",
         '{"class_name": "truck", "confidence": 0.8}', CLASSES),
        ("classification", '{"class_name": "horse", "confidence": 0.4}', '{"class_name": "horse", "confidence": 0.4}', CLASSES),
        ("classification", '{"class_name": "car"}', '{"class_name": "car", "confidence": 1.0}', ["car", "truck", "car"]),
        ("multi-label-classification", "```json\n{'predicted_classes': [{'class': 'Cars', 'confidence': '90%'}, {'class': 'truck', 'confidence': 40}],}\n```",
         '{"predicted_classes": [{"class": "car", "confidence": 0.9}, {"class": "truck", "confidence": 0.4}]}', CLASSES),
        ("multi-label-classification",
         '[{"class": "car", "confidence": 0.3}, {"class": "car", "confidence": 0.8}, {"class": "zebra", "confidence": 0.6}]',
         '{"predicted_classes": [{"class": "car", "confidence": 0.8}, {"class": "zebra", "confidence": 0.6}]}', CLASSES),
        ("multi-label-classification", '{"predicted_classes": []}', '{"predicted_classes": []}', CLASSES),
    ],
)
def test_classification_predictions_are_what_the_engines_formatter_gives_for_the_clean_reply(task_type, messy, clean, classes):
    import json

    from inference.core.workflows.core_steps.formatters.vlm_as_classifier.v2 import (
        parse_multi_class_classification_results,
        parse_multi_label_classification_results,
    )

    formatter = (
        parse_multi_class_classification_results if task_type == "classification" else parse_multi_label_classification_results
    )
    expected = formatter(image=IMAGE, results=json.loads(clean), classes=classes, inference_id="id-1")
    outputs = reply_outputs(task_spec(task_type).interpret, messy, IMAGE, TaskInputs(classes=classes))
    assert outputs["error_status"] is False, outputs["error_message"]
    expected["predictions"]["inference_id"] = outputs["inference_id"]
    assert outputs["predictions"] == expected["predictions"]


@pytest.mark.parametrize(
    "task_type, reply, read, kept",
    [
        ("object-detection",
         '{"detections": [{"class": "car", "box": [0.1, 0.1, 0.3, 0.3], "confidence": 0.9}, '
         '{"class": "truck", "box": [0.5, 0.5, 0.7, 0.7], "confidence": 0.8}, {"class": "car", "box": [0.6',
         "2 detection(s)", lambda o: len(o["predictions"]) == 2),
        ("multi-label-classification", '{"predicted_classes": [{"class": "car", "confidence": 0.9}, {"class": "tru',
         "1 class(es)", lambda o: o["predictions"]["predicted_classes"] == ["car"]),
        ("structured-answering", '{"street": "Main St", "exit": ', "1 of 2 requested keys",
         lambda o: o["structured_output"] == {"street": "Main St", "exit": None}),
    ],
)
def test_an_answer_cut_at_max_tokens_keeps_what_was_read_and_says_how_much(task_type, reply, read, kept):
    outputs = reply_outputs(
        task_spec(task_type).interpret, reply, IMAGE,
        TaskInputs(classes=CLASSES, output_structure={"street": "street name", "exit": "exit number"}), cut_off_at=60
    )
    assert outputs["error_status"] is True
    assert outputs["error_message"] == f"the reply was cut off at max_tokens=60 with {read} read; raise `max_tokens` for complete answers"
    assert kept(outputs)


def test_an_entry_with_a_nan_confidence_flags_the_image_and_the_others_are_kept():
    reply = '[{"class": "car", "box": [0.1, 0.1, 0.3, 0.3], "confidence": NaN}, {"class": "truck", "box": [0.5, 0.5, 0.7, 0.7], "confidence": 0.8}]'
    outputs = _outputs("object-detection", reply)
    assert outputs["error_status"] is True
    assert outputs["error_message"] == "the confidence of 1 detection(s) (car: nan) is not a finite number; those boxes are left out"
    assert list(outputs["predictions"].data["class_name"]) == ["truck"]


def test_a_constrained_answer_at_its_bound_keeps_its_predictions_and_is_flagged():
    from llama_vision_block.schemas import ReplyCheck

    check = ReplyCheck(at_bound="the answer holds 1 entries in 'detections', …")
    outputs = reply_outputs(
        task_spec("object-detection").interpret, '{"detections": [{"class": "car", "box": [0.1, 0.1, 0.3, 0.3], "confidence": 0.9}]}',
        IMAGE, TaskInputs(classes=CLASSES), check=check,
    )
    assert (outputs["error_status"], outputs["error_message"]) == (True, check.at_bound)
    assert len(outputs["predictions"]) == 1
