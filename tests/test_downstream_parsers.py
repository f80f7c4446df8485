"""This block's parsed outputs against inference's own parsers, in the real engine."""

import numpy as np
import pytest

from support.chat_server import chat_completion
from support.images import make_image
from support.workflows import run_workflow

API_KEY_INPUT = {"type": "WorkflowParameter", "name": "api_key"}


def _workflow(llama_step, parser_steps, outputs):
    return {
        "version": "1.0",
        "inputs": [{"type": "WorkflowImage", "name": "image"}, API_KEY_INPUT],
        "steps": [
            {
                "type": "llama_vision_block/llama_3_2_vision@v1",
                "name": "llama",
                "images": "$inputs.image",
                "api_key": "$inputs.api_key",
                "model_version": "11B (Regular) - OpenRouter",  # the stand-in server
                **llama_step,
            },
            *parser_steps,
        ],
        "outputs": [{"type": "JsonField", "name": n, "selector": s} for n, s in outputs.items()],
    }


def _run(chat_server, workflow, reply, image):
    chat_server.responder = lambda request: (200, chat_completion(reply))
    (result,) = run_workflow(workflow, {"image": image, "api_key": "k"})
    return result


@pytest.mark.parametrize(
    "reply",
    [
        '```json\n{"street": "Main St", "exit": 12}\n```',
        '{"street": "Main St", "exit": 12}',
    ],
)
def test_structured_output_equals_json_parser(chat_server, reply):
    workflow = _workflow(
        {"task_type": "structured-answering", "output_structure": {"street": "name", "exit": "number"}},
        [
            {
                "type": "roboflow_core/json_parser@v1",
                "name": "parser",
                "raw_json": "$steps.llama.output",
                "expected_fields": ["street", "exit"],
            }
        ],
        {
            "ours": "$steps.llama.structured_output",
            "street": "$steps.parser.street",
            "exit": "$steps.parser.exit",
            "parser_error": "$steps.parser.error_status",
        },
    )

    result = _run(chat_server, workflow, reply, make_image(64, 48))

    assert result["parser_error"] is False
    assert result["ours"] == {"street": result["street"], "exit": result["exit"]}


@pytest.mark.parametrize(
    "task_type,reply",
    [
        ("classification", '```json\n{"class_name": "truck", "confidence": 0.75}\n```'),
        (
            "multi-label-classification",
            '```json\n{"predicted_classes": [{"class": "car", "confidence": 0.9}, '
            '{"class": "sign", "confidence": 0.6}]}\n```',
        ),
    ],
)
def test_predictions_equal_vlm_as_classifier(chat_server, task_type, reply):
    workflow = _workflow(
        {"task_type": task_type, "classes": ["car", "truck", "sign"]},
        [
            {
                "type": "roboflow_core/vlm_as_classifier@v2",
                "name": "parser",
                "image": "$inputs.image",
                "vlm_output": "$steps.llama.output",
                "classes": "$steps.llama.classes",
            }
        ],
        {"ours": "$steps.llama.predictions", "theirs": "$steps.parser.predictions"},
    )

    result = _run(chat_server, workflow, reply, make_image(300, 200))

    ours, theirs = result["ours"], result["theirs"]
    assert theirs is not None
    for prediction in (ours, theirs):
        prediction.pop("inference_id")  # each parser mints its own
    assert ours == theirs


def test_detections_feed_a_bounding_box_visualization(chat_server):
    reply = '```json\n{"detections": [{"class": "car", "box": [0.25, 0.25, 0.75, 0.75], "confidence": 0.9}]}\n```'
    workflow = _workflow(
        {"task_type": "object-detection", "classes": ["car"]},
        [
            {
                "type": "roboflow_core/bounding_box_visualization@v1",
                "name": "boxes",
                "image": "$inputs.image",
                "predictions": "$steps.llama.predictions",
                "thickness": 2,
            }
        ],
        {"detections": "$steps.llama.predictions", "annotated": "$steps.boxes.image"},
    )
    image = np.zeros((100, 200, 3), np.uint8)

    result = _run(chat_server, workflow, reply, image)

    assert result["detections"].xyxy.tolist() == [[50.0, 25.0, 150.0, 75.0]]
    annotated = result["annotated"].numpy_image
    assert annotated[25, 100].any()  # the top edge of the box was drawn
    assert not annotated[50, 100].any()  # the inside was not
