"""Every example workflow runs against a loopback OpenRouter: in process, and on the real server."""

import json
import runpy
from pathlib import Path

import pytest

from support.chat_server import ChatServer, chat_completion
from support.inference_server import running_server

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
IMAGE = str(EXAMPLES / "images" / "street_sign.jpg")
run_workflow = runpy.run_path(str(EXAMPLES / "run_workflow.py"))["main"]

FENCED = "```json\n{}\n```"
# example -> (the model's reply, what the workflow's outputs must hold)
CASES = {
    "caption.json": ("A red car drives past a green MAIN ST sign.", {"caption": "A red car drives past a green MAIN ST sign."}),
    "detailed_caption.json": ("A red car on a grey road; a green sign reads MAIN ST, EXIT 12.", {"answer": "A red car on a grey road; a green sign reads MAIN ST, EXIT 12."}),
    "seed_ocr.json": ("MAIN ST\nEXIT 12", {"text": "MAIN ST\nEXIT 12"}),
    "unconstrained.json": ("A car is driving along a road.", {"answer": "A car is driving along a road."}),
    "visual_question_answering.json": ("Red.", {"answer": "Red."}),
    "classification.json": (FENCED.format('{"class_name": "car", "confidence": 0.9}'), {"prediction.top": "car", "prediction.confidence": 0.9}),
    "multi_label_classification.json": (
        FENCED.format('{"predicted_classes": [{"class": "car", "confidence": 0.9}, {"class": "road sign", "confidence": 0.8}]}'),
        {"predictions.predicted_classes": ["car", "road sign"], "error_message": ""},
    ),
    "structured_answering.json": (
        FENCED.format('{"street": "MAIN ST", "exit": 12}'),
        {"structured_output": {"street": "MAIN ST", "exit": 12}, "street": "MAIN ST", "exit": 12},
    ),
    "object_detection.json": (
        FENCED.format('{"detections": [{"class": "car", "box": [0.125, 0.54, 0.42, 0.83], "confidence": 0.9}]}'),
        {"predictions.predictions.0.class": "car", "predictions.predictions.0.width": pytest.approx(212.4, abs=0.01)},
    ),
}


def _lookup(outputs, dotted):
    value = outputs
    for part in dotted.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def test_every_example_workflow_is_covered():
    assert sorted(p.name for p in (EXAMPLES / "workflows").glob("*.json")) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_example_runs_in_process(name, chat_server, capsys, monkeypatch):
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-example")
    reply, expected = CASES[name]
    chat_server.responder = lambda request: (200, chat_completion(reply))

    assert run_workflow([str(EXAMPLES / "workflows" / name), IMAGE]) == 0

    (outputs,) = json.loads(capsys.readouterr().out)
    for dotted, value in expected.items():
        assert _lookup(outputs, dotted) == value, dotted
    assert chat_server.requests[0].headers["authorization"] == "Bearer sk-or-example"
    assert chat_server.requests[0].image().shape[:2] == (480, 720)


def test_the_inference_sdk_example_against_the_real_server(monkeypatch):
    reply, _ = CASES["structured_answering.json"]
    chat = ChatServer(responder=lambda request: (200, chat_completion(reply))).start()
    monkeypatch.setenv("OPENROUTER_BASE_URL", chat.base_url)  # inherited by the server
    run = runpy.run_path(str(EXAMPLES / "run_with_inference_sdk.py"))["run"]
    try:
        with running_server() as url:
            (outputs,) = run(url, str(EXAMPLES / "workflows" / "structured_answering.json"), IMAGE, "sk-or-example")
    finally:
        chat.stop()
    assert outputs["structured_output"] == {"street": "MAIN ST", "exit": 12}
    assert (outputs["street"], outputs["exit"]) == ("MAIN ST", 12)
    assert chat.requests[0].headers["authorization"] == "Bearer sk-or-example"
