"""Every example workflow runs against loopback providers: in process, and on the real server."""

import json
import runpy
from pathlib import Path

import pytest

from support.chat_server import ChatServer, chat_completion, ollama
from support.inference_server import running_server
from support.tiny_mllama import build_tiny_mllama

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
WORKFLOWS = EXAMPLES / "workflows"
IMAGE = str(EXAMPLES / "images" / "street_sign.jpg")
run_workflow = runpy.run_path(str(EXAMPLES / "run_workflow.py"))["main"]

FENCED = "```json\n{}\n```"
# Cloudflare example -> (the model's reply, what the workflow's outputs must hold)
CLOUDFLARE_CASES = {
    "caption.json": ("A red car drives past a green MAIN ST sign.", {"caption": "A red car drives past a green MAIN ST sign.", "output_tokens": 10}),
    "detailed_caption.json": ("A red car on a grey road; a green sign reads MAIN ST, EXIT 12.", {"answer": "A red car on a grey road; a green sign reads MAIN ST, EXIT 12."}),
    "unconstrained.json": ("A car is driving along a road.", {"answer": "A car is driving along a road."}),
    "visual_question_answering.json": ("Red.", {"answer": "Red."}),
    "classification.json": (FENCED.format('{"class_name": "car", "confidence": 0.9}'), {"prediction.top": "car", "prediction.confidence": 0.9}),
    "multi_label_classification.json": (
        FENCED.format('{"predicted_classes": [{"class": "car", "confidence": 0.9}, {"class": "road sign", "confidence": 0.8}]}'),
        {"predictions.predicted_classes": ["car", "road sign"]},
    ),
    "structured_answering.json": (
        FENCED.format('{"street": "MAIN ST", "exit": 12}'),
        {"structured_output": {"street": "MAIN ST", "exit": 12}, "street": "MAIN ST", "exit": 12},
    ),
    "object_detection.json": (
        FENCED.format('{"detections": [{"class": "car", "box": [0.125, 0.54, 0.42, 0.83], "confidence": 0.9}]}'),
        {"predictions.predictions.0.class": "car", "predictions.predictions.0.width": 212.0},  # whole pixels, as inference builds boxes
    ),
}
OTHER_EXAMPLES = [
    "ollama_caption.json", "local_gpu_caption.json", "openrouter/caption.json", "openrouter/seed_ocr.json",
    "llama4/cloudflare_caption.json", "llama4/openrouter_classification.json",
]


def _lookup(outputs, dotted):
    value = outputs
    for part in dotted.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def _run(capsys, name, *extra):
    code = run_workflow([str(WORKFLOWS / name), IMAGE, *extra])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    (outputs,) = json.loads(captured.out)
    # Every example shows whether its image failed, and a success says so.
    assert (outputs.pop("error_status"), outputs.pop("error_message")) == (False, ""), outputs
    return outputs


def test_every_example_workflow_outputs_error_status_and_error_message():
    for path in WORKFLOWS.rglob("*.json"):
        selectors = {output["selector"] for output in json.loads(path.read_text())["outputs"]}
        steps = [step["name"] for step in json.loads(path.read_text())["steps"] if "llama_3_2_vision" in step["type"]]
        for step in steps:
            assert {f"$steps.{step}.error_status", f"$steps.{step}.error_message"} <= selectors, path


def test_every_example_workflow_is_covered():
    found = sorted(str(path.relative_to(WORKFLOWS)) for path in WORKFLOWS.rglob("*.json"))
    assert found == sorted([*CLOUDFLARE_CASES, *OTHER_EXAMPLES])


@pytest.mark.parametrize("name", sorted(CLOUDFLARE_CASES))
def test_example_runs_on_cloudflare_in_process(name, cloudflare, capsys, monkeypatch):
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-must-stay-home")
    reply, expected = CLOUDFLARE_CASES[name]
    cloudflare.reply = lambda request: reply

    outputs = _run(capsys, name)

    for dotted, value in expected.items():
        assert _lookup(outputs, dotted) == value, dotted
    (request,) = cloudflare.server.requests
    assert request.headers["authorization"] == f"Bearer {cloudflare.token}"  # the stand-in checks it too
    assert request.image().shape[:2] == (480, 720)
    assert "sk-or-must-stay-home" not in json.dumps(request.body)
    assert cloudflare.schema_errors == []


def test_the_main_job_accepts_the_licence_only_when_asked(cloudflare, capsys):
    cloudflare.license_accepted = False
    assert run_workflow([str(WORKFLOWS / "caption.json"), IMAGE]) == 1
    assert "has not accepted Meta's Llama 3.2 Community License" in capsys.readouterr().err
    assert cloudflare.agreements == 0

    outputs = _run(capsys, "caption.json", "--param", "accept_llama_license=true")
    assert outputs["caption"] == "720x480" and cloudflare.agreements == 1


def test_the_ollama_example_needs_nothing_but_the_server(capsys, monkeypatch):
    server = ChatServer(responder=ollama(), base_path="/v1").start()
    monkeypatch.setenv("LLAMA_VISION_OLLAMA_BASE_URL", server.base_url)
    try:
        outputs = _run(capsys, "ollama_caption.json")
    finally:
        server.stop()
    assert outputs == {"caption": "720x480", "output_tokens": 3}
    assert "authorization" not in server.requests[0].headers


def test_the_local_gpu_example_runs_a_checkpoint_in_process(capsys, tmp_path):
    checkpoint = build_tiny_mllama(tmp_path / "tiny")
    outputs = _run(capsys, "local_gpu_caption.json", "--param", f"model_path={checkpoint}")
    assert isinstance(outputs["caption"], str) and outputs["output_tokens"] > 0


def test_the_seed_example_runs_where_the_operator_routes_it(cloudflare, capsys, monkeypatch):
    monkeypatch.setenv("LLAMA_VISION_OPENROUTER_ROUTE", "11B - Cloudflare Workers AI")
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-must-stay-home")
    cloudflare.reply = lambda request: "MAIN ST\nEXIT 12"

    assert _run(capsys, "openrouter/seed_ocr.json") == {"text": "MAIN ST\nEXIT 12"}
    assert cloudflare.server.requests[0].headers["authorization"] == f"Bearer {cloudflare.token}"


def test_a_routed_openrouter_example_sends_no_key_to_ollama(capsys, monkeypatch):
    server = ChatServer(responder=ollama(), base_path="/v1").start()
    monkeypatch.setenv("LLAMA_VISION_OLLAMA_BASE_URL", server.base_url)
    monkeypatch.setenv("LLAMA_VISION_OPENROUTER_ROUTE", "11B - Ollama")
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-must-stay-home")
    try:
        outputs = _run(capsys, "openrouter/caption.json", "--param", "api_key=sk-or-given-anyway")
    finally:
        server.stop()
    assert outputs == {"caption": "720x480"}
    (request,) = server.requests
    assert "authorization" not in request.headers
    assert "sk-or" not in json.dumps(request.body)


def test_without_a_route_the_openrouter_example_fails_and_names_the_setting(chat_server, monkeypatch, capsys):
    monkeypatch.delenv("LLAMA_VISION_OPENROUTER_ROUTE", raising=False)
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-example")
    chat_server.responder = lambda request: (
        400,
        {"error": {"message": f"{request.body['model']} is not a valid model ID", "code": 400}},
    )
    assert run_workflow([str(WORKFLOWS / "openrouter" / "seed_ocr.json"), IMAGE]) == 1
    assert "LLAMA_VISION_OPENROUTER_ROUTE" in capsys.readouterr().err
    assert len(chat_server.requests) == 1  # the step stopped at the first answer


def test_the_inference_sdk_example_against_the_real_server(cloudflare, monkeypatch):
    reply, _ = CLOUDFLARE_CASES["structured_answering.json"]
    cloudflare.reply = lambda request: reply
    run = runpy.run_path(str(EXAMPLES / "run_with_inference_sdk.py"))["run"]
    with running_server() as url:  # inherits the Cloudflare settings of the environment
        (outputs,) = run(url, str(WORKFLOWS / "structured_answering.json"), IMAGE, cloudflare.token)
    assert outputs["structured_output"] == {"street": "MAIN ST", "exit": 12}
    assert (outputs["street"], outputs["exit"]) == ("MAIN ST", 12)
    assert cloudflare.server.requests[0].headers["authorization"] == f"Bearer {cloudflare.token}"


def test_the_llama_4_scout_example_runs_on_cloudflare(cloudflare, capsys):
    cloudflare.reply = lambda request: "A red car passes a MAIN ST sign."
    outputs = _run(capsys, "llama4/cloudflare_caption.json")
    assert outputs["caption"] == "A red car passes a MAIN ST sign."
    (request,) = cloudflare.server.requests
    assert request.path.endswith("/ai/run/@cf/meta/llama-4-scout-17b-16e-instruct")
    assert request.image().shape[:2] == (480, 720) and "image" not in request.body
    assert cloudflare.schema_errors == []


def test_the_llama_4_maverick_example_runs_on_openrouter_constrained_to_the_classes(chat_server, capsys, monkeypatch):
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-example-key")

    def maverick(request):
        schema = request.body["response_format"]["json_schema"]["schema"]
        return 200, chat_completion(json.dumps({"class_name": schema["properties"]["class_name"]["enum"][1], "confidence": 0.8}))

    chat_server.responder = maverick
    outputs = _run(capsys, "llama4/openrouter_classification.json")
    assert outputs["prediction"]["top"] == "bus"
    (request,) = chat_server.requests
    assert request.body["model"] == "meta-llama/llama-4-maverick"
    assert request.headers["authorization"] == "Bearer sk-or-example-key"


def test_the_main_job_with_a_reply_it_cannot_use_says_so_and_exits_1(cloudflare, capsys):
    # Before: it printed [{"caption": "", ...}] and exited 0.
    cloudflare.reply = lambda request: ""

    code = run_workflow([str(WORKFLOWS / "caption.json"), IMAGE])

    captured = capsys.readouterr()
    assert code == 1
    (outputs,) = json.loads(captured.out)
    assert outputs["error_status"] is True and outputs["error_message"]
    assert f"error: step 'llama', image 0: {outputs['error_message']}" in captured.err
    assert "error: every image failed in step(s) llama" in captured.err
    assert "Warning" not in captured.err and "INFO" not in captured.err  # as quiet as llama-vision workflow


EVAL = EXAMPLES / "eval"


def test_the_example_dataset_reads_alike_in_every_format():
    from llama_vision_block.evaluation import labelled

    shapes = labelled.from_class_folders(str(EVAL / "shapes"))
    assert shapes.classes == ("circle", "square", "triangle") and len(shapes.truths) == 6
    readers = [
        labelled.from_coco(str(EVAL / "coco" / "images"), str(EVAL / "coco" / "annotations.json")),
        labelled.from_yolo(str(EVAL / "yolo" / "images"), str(EVAL / "yolo" / "labels"), str(EVAL / "yolo" / "data.yaml")),
        labelled.from_pascal_voc(str(EVAL / "voc" / "images"), str(EVAL / "voc" / "annotations")),
    ]
    boxes = [
        {Path(path).name: sorted((dataset.classes[int(c)], *map(round, box)) for box, c in zip(truth.xyxy, truth.class_id))
         for path, truth in dataset.truths.items()}
        for dataset in readers
    ]
    assert boxes[0] == boxes[1] == boxes[2] and len(boxes[0]) == 8
    assert boxes[0]["shapes_6.png"] == [("circle", 20, 35, 70, 85), ("square", 95, 35, 145, 85)]
    for name, task_answer in (("signs", "STOP"), ("colors", "red"), ("cards", {"shape": "circle", "color": "red"}), ("tags", ["circle"])):
        answers = labelled.from_answers_file(str(EVAL / f"{name}.jsonl"))
        assert list(answers.truths.values())[0] == task_answer


def test_the_example_dataset_script_writes_the_labels_that_are_committed(tmp_path):
    import shutil

    shutil.copy(EVAL / "make_dataset.py", tmp_path)
    runpy.run_path(str(tmp_path / "make_dataset.py"), run_name="__main__")
    def coco(path):  # supervision stamps each image with the time it was written
        labels = json.loads(path.read_text())
        for image in labels["images"]:
            image.pop("date_captured", None)
        return labels

    assert coco(tmp_path / "coco" / "annotations.json") == coco(EVAL / "coco" / "annotations.json")
    for label_file in ["yolo/data.yaml", "signs.jsonl", "colors.jsonl", "cards.jsonl", "tags.jsonl",
                       *(f"yolo/labels/shapes_{i}.txt" for i in range(8)), *(f"voc/annotations/shapes_{i}.xml" for i in range(8))]:
        assert (tmp_path / label_file).read_text() == (EVAL / label_file).read_text(), label_file


def test_the_scripted_report_in_docs_comes_out_as_shown(tmp_path):
    run_report = runpy.run_path(str(EVAL / "scripted_report.py"))["run"]
    assert run_report(str(tmp_path / "report")) == 0
    table = (tmp_path / "report" / "report.md").read_text()
    shown = (EXAMPLES.parent / "docs" / "eval.md").read_text()
    for row in ("| 1 | careful | 0.833 | 0% | 1080 | 72 | 0.000104 |", "| 2 | hasty | 0.667 | 0% | 540 | 36 | 0.000052 |"):
        assert row in table and row in shown
