"""`llama-vision run` against loopback providers, through the real ExecutionEngine.

Most tests name the OpenRouter label and its stand-in, whose replies tell images
apart; the default (a live provider from the environment) has its own tests.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import List

import cv2
import numpy as np
import pytest

from llama_vision_block.cli import main
from support.chat_server import ChatServer, chat_completion
from support.images import make_image

SIZES = [(64, 48), (80, 60), (100, 50)]
OPENROUTER = ["--model-version", "11B (Regular) - OpenRouter"]
KEY_ENVS = ("LLAMA_VISION_API_KEY", "OPENROUTER_API_KEY", "CLOUDFLARE_API_TOKEN")


@pytest.fixture(autouse=True)
def no_keys_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in KEY_ENVS:
        monkeypatch.delenv(name, raising=False)


def image_folder(tmp_path: Path, sizes=SIZES, names=None) -> Path:
    folder = tmp_path / "images"
    folder.mkdir(exist_ok=True)
    # Written in reverse order, so only sorting puts them in order.
    for index, (width, height) in reversed(list(enumerate(sizes))):
        name = names[index] if names else f"{index}.jpg"
        cv2.imwrite(str(folder / name), make_image(width, height, seed=index))
    (folder / "notes.txt").write_text("not an image")
    return folder


def read_lines(path: Path) -> List[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def stdout_lines(text: str) -> List[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_a_folder_gives_one_line_per_image_in_sorted_order(chat_server: ChatServer, tmp_path: Path, capsys) -> None:
    folder = image_folder(tmp_path, names=["b.png", "c.jpg", "a.jpeg"])

    code = main(["run", *OPENROUTER, "--task", "caption", "--api-key", "k", "--chunk-size", "2", str(folder)])

    captured = capsys.readouterr()
    assert code == 0, captured.err
    lines = stdout_lines(captured.out)
    assert [line["image"] for line in lines] == [str(folder / n) for n in ("a.jpeg", "b.png", "c.jpg")]
    assert [line["output"] for line in lines] == ["100x50", "64x48", "80x60"]
    for line in lines:
        assert set(line) == {
            "image", "output", "structured_output", "predictions", "error_status", "error_message", "inference_id",
            "input_tokens", "output_tokens", "latency_s", "settings",
        }
        assert line["settings"] == {"task_type": "caption", "model_version": "11B (Regular) - OpenRouter"}
        assert line["error_status"] is False and line["inference_id"]
        assert (line["input_tokens"], line["output_tokens"]) == (10, 3)  # the stand-in's usage
    assert len(chat_server.requests) == 3


def test_resume_skips_images_already_in_the_output(chat_server: ChatServer, tmp_path: Path, capsys) -> None:
    folder = image_folder(tmp_path, sizes=SIZES[:2])
    output = tmp_path / "out" / "captions.jsonl"
    assert main(["run", *OPENROUTER, "--task", "caption", "--api-key", "k", "-o", str(output), str(folder)]) == 0
    assert len(read_lines(output)) == 2
    cv2.imwrite(str(folder / "2.jpg"), make_image(*SIZES[2], seed=2))
    before = len(chat_server.requests)

    code = main(["run", *OPENROUTER, "--task", "caption", "--api-key", "k", "-o", str(output), str(folder)])

    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out == ""  # results went to the file
    assert len(chat_server.requests) - before == 1
    lines = read_lines(output)
    assert [Path(line["image"]).name for line in lines] == ["0.jpg", "1.jpg", "2.jpg"]
    assert [line["output"] for line in lines] == ["64x48", "80x60", "100x50"]


def test_annotate_writes_decodable_images_that_differ(chat_server: ChatServer, tmp_path: Path, capsys) -> None:
    folder = image_folder(tmp_path)
    annotated = tmp_path / "annotated"

    code = main(["run", *OPENROUTER, "--task", "caption", "--api-key", "k", "--annotate", str(annotated), "-q", str(folder)])

    assert code == 0, capsys.readouterr().err
    for index in range(3):
        original = cv2.imread(str(folder / f"{index}.jpg"))
        drawn = cv2.imread(str(annotated / f"{index}.jpg"))
        assert drawn is not None
        assert drawn.shape != original.shape or not np.array_equal(drawn, original)


def json_reply(text: str):
    def respond(request):
        return 200, chat_completion(text)

    return respond


def test_detections_are_serialised_and_drawn(tmp_path: Path, monkeypatch, capsys) -> None:
    reply = {"detections": [{"class": "car", "box": [0.1, 0.2, 0.5, 0.6], "confidence": 0.9}]}
    server = ChatServer(responder=json_reply(json.dumps(reply))).start()
    monkeypatch.setenv("OPENROUTER_BASE_URL", server.base_url)
    image = tmp_path / "street.png"
    cv2.imwrite(str(image), make_image(200, 100))
    try:
        code = main([
            "run", *OPENROUTER, "--task", "object-detection", "--classes", "car,truck", "--api-key", "k",
            "--annotate", str(tmp_path / "drawn"), str(image),
        ])
    finally:
        server.stop()
    captured = capsys.readouterr()
    assert code == 0, captured.err
    (line,) = stdout_lines(captured.out)
    (detection,) = line["predictions"]
    assert detection["class_name"] == "car" and detection["class_id"] == 0
    assert detection["confidence"] == 0.9  # as the model wrote it, no float32 noise
    assert detection["xyxy"] == [20.0, 20.0, 100.0, 60.0]  # whole pixels, as inference builds boxes
    assert cv2.imread(str(tmp_path / "drawn" / "street.png")) is not None


def test_classification_is_serialised_as_the_block_gives_it(tmp_path: Path, monkeypatch, capsys) -> None:
    server = ChatServer(responder=json_reply('```json\n{"class_name": "truck", "confidence": 0.8}\n```')).start()
    monkeypatch.setenv("OPENROUTER_BASE_URL", server.base_url)
    image = tmp_path / "road.jpg"
    cv2.imwrite(str(image), make_image(120, 80))
    try:
        code = main(["run", *OPENROUTER, "--task", "classification", "--classes", "car", "--classes", "truck,bicycle", "--api-key", "k", str(image)])
    finally:
        server.stop()
    captured = capsys.readouterr()
    assert code == 0, captured.err
    (line,) = stdout_lines(captured.out)
    prediction = line["predictions"]
    assert prediction["top"] == "truck" and prediction["confidence"] == pytest.approx(0.8)
    assert [p["class"] for p in prediction["predictions"]] == ["car", "truck", "bicycle"]
    assert prediction["image"] == {"width": 120, "height": 80}


def test_api_key_comes_from_the_environment_and_is_never_printed(chat_server: ChatServer, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-from-env")
    image = tmp_path / "a.jpg"
    cv2.imwrite(str(image), make_image(32, 32))

    assert main(["run", *OPENROUTER, "--task", "ocr", str(image)]) == 0
    monkeypatch.setenv("LLAMA_VISION_API_KEY", "sk-llama-first")
    assert main(["run", *OPENROUTER, "--task", "ocr", str(image)]) == 0

    captured = capsys.readouterr()
    assert [r.headers["authorization"] for r in chat_server.requests] == ["Bearer sk-or-from-env", "Bearer sk-llama-first"]
    assert "sk-or-from-env" not in captured.out + captured.err
    assert "sk-llama-first" not in captured.out + captured.err


def test_a_rejected_key_is_one_error_line_without_the_key(tmp_path: Path, monkeypatch, capsys) -> None:
    def reject(request):
        return 401, {"error": {"message": "No auth credentials found for sk-secret-123", "code": 401}}

    server = ChatServer(responder=reject).start()
    monkeypatch.setenv("OPENROUTER_BASE_URL", server.base_url)
    image = tmp_path / "a.jpg"
    cv2.imwrite(str(image), make_image(32, 32))
    try:
        code = main(["run", *OPENROUTER, "--task", "caption", "--api-key", "sk-secret-123", "--max-retries", "0", str(image)])
    finally:
        server.stop()
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1
    assert "OpenRouter (HTTP 401)" in captured.err
    assert "Traceback" not in captured.err
    assert "sk-secret-123" not in captured.out + captured.err


def test_an_undecodable_file_gets_its_own_error_line(chat_server: ChatServer, tmp_path: Path, capsys) -> None:
    folder = image_folder(tmp_path, sizes=SIZES[:1])
    (folder / "broken.jpg").write_bytes(b"not a jpeg")

    code = main(["run", *OPENROUTER, "--task", "caption", "--api-key", "k", str(folder)])

    captured = capsys.readouterr()
    assert code == 0, captured.err
    lines = stdout_lines(captured.out)
    assert [Path(line["image"]).name for line in lines] == ["0.jpg", "broken.jpg"]
    assert lines[0]["output"] == "64x48"
    assert lines[1]["error_status"] is True and "cannot decode" in lines[1]["error_message"]
    assert len(chat_server.requests) == 1


def test_a_missing_path_is_an_error(tmp_path: Path, capsys) -> None:
    code = main(["run", *OPENROUTER, "--task", "caption", "--api-key", "k", str(tmp_path / "nope")])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: no such file or folder")
    assert os.path.basename(str(tmp_path / "nope")) in err


def test_without_a_provider_the_run_says_where_the_model_runs(tmp_path: Path, monkeypatch, capsys) -> None:
    for name in ("CLOUDFLARE_ACCOUNT_ID", "LLAMA_VISION_BASE_URL", "LLAMA_VISION_OLLAMA_BASE_URL", "LLAMA_VISION_MODEL_PATH"):
        monkeypatch.delenv(name, raising=False)
    image = tmp_path / "a.jpg"
    cv2.imwrite(str(image), make_image(32, 32))

    code = main(["run", "--task", "caption", str(image)])

    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    for needed in (
        "--api-key or $CLOUDFLARE_API_TOKEN and --cloudflare-account-id or $CLOUDFLARE_ACCOUNT_ID",
        "ollama pull llama3.2-vision", "'11B - Ollama'", "--base-url or $LLAMA_VISION_BASE_URL",
        "--model-path or $LLAMA_VISION_MODEL_PATH", "no longer Llama 3.2 Vision",
    ):
        assert needed in err


def test_cloudflare_is_the_default_when_its_credentials_are_set_and_tokens_are_totalled(cloudflare, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-must-stay-home")
    folder = image_folder(tmp_path)

    code = main(["run", "--task", "caption", str(folder)])

    captured = capsys.readouterr()
    assert code == 0, captured.err
    lines = stdout_lines(captured.out)
    assert [line["output"] for line in lines] == ["64x48", "80x60", "100x50"]
    assert all(request.headers["authorization"] == f"Bearer {cloudflare.token}" for request in cloudflare.server.requests)
    inputs = sum(line["input_tokens"] for line in lines)
    outputs = sum(line["output_tokens"] for line in lines)
    assert inputs > 0 and outputs == 3  # one word per reply
    assert f"3 image(s) done, 0 with errors; tokens: {inputs} in, {outputs} out" in captured.err


def test_a_run_in_which_every_image_failed_exits_1(chat_server: ChatServer, tmp_path: Path, capsys) -> None:
    chat_server.responder = lambda request: (500, {"error": {"message": "overloaded", "code": 500}})
    folder = image_folder(tmp_path, sizes=SIZES[:2])

    code = main(["run", *OPENROUTER, "--task", "caption", "--api-key", "k", "--max-retries", "0", str(folder)])

    captured = capsys.readouterr()
    assert code == 1
    assert [line["error_status"] for line in stdout_lines(captured.out)] == [True, True]
    assert "every image failed (2)" in captured.err


def test_a_run_with_some_answers_exits_0(chat_server: ChatServer, tmp_path: Path, capsys) -> None:
    folder = image_folder(tmp_path, sizes=SIZES[:2])
    chat_server.responder = lambda request: (
        (500, {"error": {"message": "overloaded", "code": 500}})
        if request.image().shape[1] == 64
        else (200, chat_completion("ok"))
    )

    code = main(["run", *OPENROUTER, "--task", "caption", "--api-key", "k", "--max-retries", "0", str(folder)])

    assert code == 0
    assert "1 with errors" in capsys.readouterr().err


def test_messages_number_images_across_the_run_not_the_chunk(chat_server: ChatServer, tmp_path: Path, capsys) -> None:
    folder = image_folder(tmp_path)  # 0.jpg 64 wide, 1.jpg 80, 2.jpg 100
    chat_server.responder = lambda request: (
        (500, {"error": {"message": "overloaded", "code": 500}})
        if request.image().shape[1] == 100
        else (200, chat_completion("ok"))
    )

    code = main(["run", *OPENROUTER, "--task", "caption", "--api-key", "k", "--max-retries", "0", "--chunk-size", "2", str(folder)])

    assert code == 0
    lines = stdout_lines(capsys.readouterr().out)
    assert lines[2]["error_message"].startswith("images[2]: OpenRouter (HTTP 500): overloaded")


def _failing_for(widths):
    return lambda request: (
        (500, {"error": {"message": "overloaded", "code": 500}})
        if request.image().shape[1] in widths
        else (200, chat_completion(f"{request.image().shape[1]}x{request.image().shape[0]}"))
    )


def test_a_rerun_retries_exactly_the_failed_images_and_replaces_their_lines(chat_server: ChatServer, tmp_path: Path, capsys) -> None:
    folder = image_folder(tmp_path)  # 0.jpg 64 wide, 1.jpg 80, 2.jpg 100
    output = tmp_path / "captions.jsonl"
    command = ["run", *OPENROUTER, "--task", "caption", "--api-key", "k", "--max-retries", "0", "-o", str(output), str(folder)]
    chat_server.responder = _failing_for({64, 100})  # the server is down for two images
    assert main(command) == 0
    assert [line["error_status"] for line in read_lines(output)] == [True, False, True]
    chat_server.responder = _failing_for(set())  # ... and comes back
    sent = len(chat_server.requests)

    code = main(command)

    captured = capsys.readouterr()
    assert code == 0, captured.err
    widths = [chat_server.requests[i].image().shape[1] for i in range(sent, len(chat_server.requests))]
    assert sorted(widths) == [64, 100]  # exactly the failed images, once each
    lines = read_lines(output)
    assert [Path(line["image"]).name for line in lines] == ["0.jpg", "1.jpg", "2.jpg"]  # one line each, in order
    assert [line["output"] for line in lines] == ["64x48", "80x60", "100x50"]
    assert not any(line["error_status"] for line in lines)
    assert "1 already answered in" in captured.err and "2 that had failed sent again" in captured.err
    assert main(command) == 0 and len(chat_server.requests) == sent + 2  # nothing left to send


def test_an_output_written_with_other_settings_is_refused_and_force_starts_anew(chat_server: ChatServer, tmp_path: Path, capsys) -> None:
    folder = image_folder(tmp_path, sizes=SIZES[:1])
    output = tmp_path / "out.jsonl"
    base = ["run", *OPENROUTER, "--api-key", "k", "-o", str(output), str(folder)]
    assert main([*base, "--task", "caption"]) == 0
    written = output.read_text()
    sent = len(chat_server.requests)

    code = main([*base, "--task", "detailed-caption"])

    err = capsys.readouterr().err
    assert code == 2
    assert f"{output} holds answers made with other settings (task_type: \"caption\" there, \"detailed-caption\" now)" in err
    assert "--force" in err
    assert output.read_text() == written and len(chat_server.requests) == sent  # untouched, nothing sent
    assert main([*base, "--task", "detailed-caption", "--force"]) == 0
    (line,) = read_lines(output)
    assert line["settings"]["task_type"] == "detailed-caption"


def test_a_file_left_with_two_lines_for_an_image_is_read_last_line_first_and_made_whole(chat_server: ChatServer, tmp_path: Path) -> None:
    folder = image_folder(tmp_path, sizes=SIZES[:2])
    output = tmp_path / "out.jsonl"
    command = ["run", *OPENROUTER, "--task", "caption", "--api-key", "k", "-o", str(output), str(folder)]
    assert main(command) == 0
    first, second = read_lines(output)
    failed = {**first, "error_status": True, "error_message": "images[0]: OpenRouter (HTTP 500): overloaded"}
    # A run killed after appending, before its rewrite: an old failure, then the answer, then a cut line.
    output.write_text("\n".join(json.dumps(line) for line in (failed, second, first)) + '\n{"image": "cut')
    sent = len(chat_server.requests)

    assert main(command) == 0

    assert len(chat_server.requests) == sent  # the last line of each image says it was answered
    assert read_lines(output) == [first, second]


def _closed_port() -> int:
    server = ChatServer().start()
    port = int(server.origin.rsplit(":", 1)[1])
    server.stop()  # nothing listens there now: connections are refused
    return port


def test_an_unreachable_endpoint_costs_one_attempt_per_step_and_stops_the_run(tmp_path: Path, capsys) -> None:
    port = _closed_port()
    url = f"http://127.0.0.1:{port}/v1"
    folder = image_folder(tmp_path, sizes=[(32 + i, 24) for i in range(40)])
    output = tmp_path / "out.jsonl"
    command = [
        "run", "--task", "caption", "--model-version", "11B - OpenAI-compatible server", "--base-url", url,
        "--max-retries", "1", "-o", str(output), str(folder),
    ]

    assert main(command) == 1

    err = capsys.readouterr().err
    lines = read_lines(output)
    assert len(lines) == 16  # the first step (a chunk of 16); the others were not sent
    attempted = [line for line in lines if "not attempted" not in line["error_message"]]
    (first,) = attempted  # one image asked the endpoint, with its retries
    assert first["error_message"].endswith(f"OpenAI-compatible server: could not connect to {url} (after 2 attempts)")
    finder = first["error_message"].split(":")[0]
    for line in lines:
        if line is not first:
            assert line["error_message"].endswith(f"could not connect to {url} (not attempted: {finder} found it unreachable)")
    assert "error: stopped, nothing could be reached" in err and "24 image(s) not attempted: " in err

    # The process remembers the endpoint: the next run's step tries it once, without retries.
    assert main(command) == 1
    lines = read_lines(output)
    (first,) = [line for line in lines if "not attempted" not in line["error_message"]]
    assert first["error_message"].endswith(f"could not connect to {url}")
    capsys.readouterr()

    # The server comes back: the next run sends every image and each is answered.
    server = ChatServer(base_path="/v1", port=port).start()
    try:
        assert main(command) == 0, capsys.readouterr().err
    finally:
        server.stop()
    lines = read_lines(output)
    assert len(lines) == 40 and not any(line["error_status"] for line in lines)
    assert len(server.requests) == 40
