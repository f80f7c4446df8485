"""`workflow`, `describe`, `serve`, and the console script itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, Iterator, Tuple

import pytest

from llama_vision_block.cli import main
from llama_vision_block.cli.serve import OFFLINE_LATCH_ENV
from support.chat_server import ChatServer, ollama

REPO = Path(__file__).resolve().parents[2]
VENV_SCRIPT = Path(sys.executable).parent / "llama-vision"
BUILD_APP = (
    "from llama_vision_block.cli.serve import build_app\n"
    "app = build_app(offline=True)\n"
    "print('ROUTES', sorted(getattr(r, 'path', '') for r in app.routes))\n"
)


def _env(**extra: str) -> Dict[str, str]:
    env = dict(os.environ, **extra)
    env.pop(OFFLINE_LATCH_ENV, None)  # a parent's OFFLINE_MODE decision must not be inherited
    return env


def _start(command, **extra_env: str) -> Tuple[subprocess.Popen, tempfile.SpooledTemporaryFile]:
    output = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen(command, cwd=REPO, env=_env(**extra_env), text=True, stdout=output, stderr=subprocess.STDOUT)
    return process, output



_SCRIPT = [str(VENV_SCRIPT)] if VENV_SCRIPT.exists() else [sys.executable, "-m", "llama_vision_block.cli"]


@pytest.fixture(scope="module")
def subprocesses() -> Iterator[Dict[str, Tuple[int, str]]]:
    """Runs the console script and build_app in subprocesses, side by side: name -> (exit code, output).

    Each imports inference (~12 s of CPU), so they start together.
    """
    started = {
        "script": _start([*_SCRIPT, "--help"]),
        "build_app": _start([sys.executable, "-c", BUILD_APP], OFFLINE_MODE="true"),
    }
    results = {}
    try:
        for name, (process, output) in started.items():
            code = process.wait(timeout=300)
            output.seek(0)
            results[name] = (code, output.read())
        yield results
    finally:
        for process, output in started.values():
            if process.poll() is None:
                process.kill()
            output.close()


def test_workflow_runs_the_example_against_a_loopback_server(cloudflare, monkeypatch, capsys) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-must-stay-home")
    code = main([
        "workflow", str(REPO / "examples/workflows/caption.json"),
        "--image", f"image={REPO / 'examples/images/street_sign.jpg'}",
    ])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    (outputs,) = json.loads(captured.out)
    assert outputs["caption"] == "720x480" and outputs["output_tokens"] == 1
    # The api_key input was filled from the Cloudflare token: the provider the step runs on.
    assert cloudflare.server.requests[0].headers["authorization"] == f"Bearer {cloudflare.token}"


def test_workflow_fills_no_key_for_a_provider_that_needs_none(monkeypatch, capsys, tmp_path) -> None:
    server = ChatServer(responder=ollama(), base_path="/v1").start()
    monkeypatch.setenv("LLAMA_VISION_OLLAMA_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-must-stay-home")
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "cf-must-stay-home")
    definition = json.loads((REPO / "examples/workflows/caption.json").read_text())
    definition["steps"][0]["model_version"] = "11B - Ollama"
    path = tmp_path / "ollama.json"
    path.write_text(json.dumps(definition))
    try:
        code = main(["workflow", str(path), "--image", f"image={REPO / 'examples/images/street_sign.jpg'}"])
    finally:
        server.stop()
    assert code == 0, capsys.readouterr().err
    assert "authorization" not in server.requests[0].headers


def test_workflow_errors_name_the_problem(tmp_path: Path, capsys) -> None:
    assert main(["workflow", str(tmp_path / "missing.json")]) == 2
    assert capsys.readouterr().err.startswith("error: cannot read workflow")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"version": "1.0", "inputs": [], "steps": [{"type": "nope/x@v1", "name": "s"}], "outputs": []}))
    assert main(["workflow", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_describe_prints_the_schema_and_outputs(capsys) -> None:
    assert main(["describe"]) == 0
    out = capsys.readouterr().out
    described = json.loads(out)
    assert "llama_vision_block/llama_3_2_vision@v1" in out
    assert "prompt" in described["schema"]["properties"]
    assert "string" in described["outputs"]["output"]
    assert set(described["outputs"]) >= {"output", "predictions", "error_status", "inference_id"}


@pytest.mark.parametrize("command", ["run", "workflow", "serve", "describe"])
def test_every_command_has_help(command: str, capsys) -> None:
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "usage: llama-vision " + command in out


def test_the_console_script_shows_its_help(subprocesses) -> None:
    code, out = subprocesses["script"]
    assert code == 0, out[-3000:]
    for command in ("run", "workflow", "serve", "describe"):
        assert command in out
    assert "examples:" in out


def test_build_app_serves_workflows(subprocesses) -> None:
    code, out = subprocesses["build_app"]
    assert code == 0, out[-3000:]
    (line,) = [line for line in out.splitlines() if line.startswith("ROUTES")]
    assert "'/workflows/run'" in line


def _captions_only(tmp_path: Path, server: ChatServer) -> Path:
    """A workflow that outputs only the caption: no error_status, no error_message."""
    definition = {
        "version": "1.0",
        "inputs": [{"type": "WorkflowImage", "name": "image"}],
        "steps": [{
            "type": "roboflow_core/llama_3_2_vision@v1", "name": "captioner", "images": "$inputs.image",
            "task_type": "caption", "model_version": "11B - OpenAI-compatible server", "base_url": server.base_url,
            "max_retries": 0,
        }],
        "outputs": [{"type": "JsonField", "name": "caption", "selector": "$steps.captioner.output"}],
    }
    path = tmp_path / "captions.json"
    path.write_text(json.dumps(definition))
    return path


@pytest.mark.parametrize("failing_widths, code", [({64, 80}, 1), ({80}, 0)])
def test_workflow_names_each_image_a_llama_step_failed_and_exits_1_when_it_failed_them_all(
    tmp_path: Path, capsys, failing_widths, code
) -> None:
    from support.chat_server import chat_completion
    from support.images import make_image
    import cv2

    server = ChatServer(responder=lambda request: (
        (500, {"error": {"message": "overloaded", "code": 500}})
        if request.image().shape[1] in failing_widths else (200, chat_completion("a sign"))
    )).start()
    images = []
    for index, width in enumerate((64, 80)):
        images.append(tmp_path / f"{index}.jpg")
        cv2.imwrite(str(images[-1]), make_image(width, 48, seed=index))
    try:
        result = main(["workflow", str(_captions_only(tmp_path, server)), *[f"--image=image={path}" for path in images]])
    finally:
        server.stop()

    captured = capsys.readouterr()
    assert result == code
    outputs = json.loads(captured.out)
    assert [set(item) for item in outputs] == [{"caption"}, {"caption"}]  # the workflow's own outputs only
    failed = [index for index, width in enumerate((64, 80)) if width in failing_widths]
    for index in failed:
        assert f"error: step 'captioner', image {index}: images[{index}]: OpenAI-compatible server (HTTP 500): overloaded" in captured.err
    assert captured.err.count("error: step 'captioner'") == len(failed)
    assert ("every image failed in step(s) captioner" in captured.err) is (code == 1)


def test_workflow_save_images_writes_image_outputs_to_files(cloudflare, tmp_path: Path, capsys) -> None:
    cloudflare.reply = lambda request: '{"detections": [{"class": "car", "box": [0.125, 0.54, 0.42, 0.83], "confidence": 0.8}]}'
    definition = json.loads((REPO / "examples/workflows/object_detection.json").read_text())
    images = tmp_path / "images"

    code = main([
        "workflow", str(REPO / "examples/workflows/object_detection.json"),
        "--image", f"image={REPO / 'examples/images/street_sign.jpg'}", "--save-images", str(images),
    ])

    captured = capsys.readouterr()
    assert code == 0, captured.err
    (outputs,) = json.loads(captured.out)
    image_outputs = [name for name, value in outputs.items() if isinstance(value, dict) and value.get("type") == "file"]
    assert image_outputs, outputs  # the example draws the boxes on the image
    for name in image_outputs:
        path = Path(outputs[name]["path"])
        assert path.parent == images and path.name == f"0.{name}.jpg" and path.stat().st_size > 1000
    assert "base64" not in captured.out
    assert outputs["predictions"]["predictions"][0]["confidence"] == 0.8  # not 0.800000011920929
    assert len(definition["outputs"]) == len(outputs)


def test_the_manifest_snapshot_that_help_and_describe_read_is_the_live_manifest() -> None:
    from llama_vision_block.cli.describe import description, live_description

    assert description() == live_description(), "stale: run `.venv/bin/python -m llama_vision_block.cli.describe`"
