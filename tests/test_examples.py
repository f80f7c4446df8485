"""Every example workflow runs, through examples/run_workflow.py, against a loopback OpenRouter."""

import json
import runpy
from pathlib import Path

import pytest

from support.chat_server import chat_completion

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
IMAGE = str(EXAMPLES / "images" / "street_sign.jpg")
run_workflow = runpy.run_path(str(EXAMPLES / "run_workflow.py"))["main"]

REPLIES = {
    "caption.json": ("A red car drives past a green MAIN ST sign.", {"caption": "A red car drives past a green MAIN ST sign."}),
    "seed_ocr.json": ("MAIN ST\nEXIT 12", {"text": "MAIN ST\nEXIT 12"}),
    "classification.json": ('```json\n{"class_name": "car", "confidence": 0.9}\n```', None),
}


def test_every_example_workflow_is_covered():
    assert sorted(p.name for p in (EXAMPLES / "workflows").glob("*.json")) == sorted(REPLIES)


@pytest.mark.parametrize("name", sorted(REPLIES))
def test_example_runs(name, chat_server, capsys, monkeypatch):
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-example")
    reply, expected = REPLIES[name]
    chat_server.responder = lambda request: (200, chat_completion(reply))

    assert run_workflow([str(EXAMPLES / "workflows" / name), IMAGE]) == 0

    (outputs,) = json.loads(capsys.readouterr().out)
    if expected is not None:
        assert outputs == expected
    else:
        assert outputs["raw"] == reply
        assert outputs["prediction"]["top"] == "car"
        assert outputs["prediction"]["confidence"] == 0.9
    assert chat_server.requests[0].headers["authorization"] == "Bearer sk-or-example"
    assert chat_server.requests[0].image().shape[:2] == (480, 720)
