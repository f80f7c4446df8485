"""`llama-vision eval` end to end: loopback providers whose answers are chosen per
image, so every figure has a value worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from llama_vision_block.cli import main
from support.chat_server import ChatServer, chat_completion
from support.images import make_image

SMALL, LARGE = "11B (Regular) - OpenRouter", "90B (Regular) - OpenRouter"
# Images are told apart by their width; the models by the name they are asked for.
TRUTH = {40: "cat", 50: "cat", 60: "dog", 70: "dog"}
SAYS = {
    "meta-llama/llama-3.2-11b-vision-instruct": {40: "cat", 50: "dog", 60: "dog", 70: "dog"},  # 3 of 4
    "meta-llama/llama-3.2-90b-vision-instruct": {40: "cat", 50: "cat", 60: "dog", 70: "dog"},  # 4 of 4
}


@pytest.fixture(autouse=True)
def no_keys_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LLAMA_VISION_API_KEY", "OPENROUTER_API_KEY", "CLOUDFLARE_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def classifier(monkeypatch):
    def respond(request):
        width = request.image().shape[1]
        name = SAYS[request.body["model"]][width]
        return 200, chat_completion(json.dumps({"class_name": name, "confidence": 0.9}), usage={"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15})

    server = ChatServer(responder=respond).start()
    monkeypatch.setenv("OPENROUTER_BASE_URL", server.base_url)
    yield server
    server.stop()


def class_folders(tmp_path: Path) -> Path:
    root = tmp_path / "pets"
    for width, name in TRUTH.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / name / f"{width}.png"), make_image(width, 30, seed=width))
    return root


def test_two_candidates_are_scored_side_by_side_and_a_rerun_asks_for_nothing(classifier, tmp_path, capsys):
    report = tmp_path / "report"
    argv = ["eval", "--folders", str(class_folders(tmp_path)), "--report", str(report), "--api-key", "k",
            "--model-version", SMALL, "--model-version", LARGE, "--quiet"]
    assert main(argv) == 0, capsys.readouterr().err
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["task"] == "classification" and metrics["dataset"]["images"] == 4
    assert [c["label"] for c in metrics["candidates"]] == [LARGE, SMALL]  # best first
    large, small = metrics["candidates"]
    assert large["scores"]["accuracy"] == 1.0 and small["scores"]["accuracy"] == 0.75
    # 11B: cat 1 of 2 found (precision 1), dog 2 of 2 (precision 2/3).
    assert small["scores"]["per_class"]["cat"]["recall"] == 0.5
    assert small["scores"]["per_class"]["dog"]["precision"] == pytest.approx(2 / 3)
    assert small["scores"]["confusion_matrix"]["counts"] == [[1, 1, 0], [0, 2, 0]]
    assert small["input_tokens"] == 40 and small["output_tokens"] == 20 and small["error_share"] == 0.0
    assert small["latency_p50_s"] is not None  # from the block's own latency_s per image
    assert 0 <= small["latency_p50_s"] <= small["latency_p95_s"]
    table = (report / "report.md").read_text()
    assert f"| 1 | {LARGE} | 1.000 | 0% | 40 | 20 |" in table and f"| 2 | {SMALL} | 0.750 |" in table
    sent = len(classifier.requests)
    assert sent == 8

    assert main(argv) == 0  # scored again from the kept answers
    assert len(classifier.requests) == sent
    assert json.loads((report / "metrics.json").read_text()) == metrics


def test_an_added_candidate_asks_only_for_its_own_answers(classifier, tmp_path, capsys):
    folders, report = str(class_folders(tmp_path)), str(tmp_path / "report")
    assert main(["eval", "--folders", folders, "--report", report, "--api-key", "k", "--model-version", SMALL, "-q"]) == 0
    assert len(classifier.requests) == 4
    candidates = tmp_path / "candidates.json"
    candidates.write_text(json.dumps([
        {"label": "small", "model_version": SMALL},
        {"label": "large, cooler", "model_version": LARGE, "temperature": 0.0},
    ]))
    assert main(["eval", "--folders", folders, "--report", report, "--api-key", "k", "--candidates", str(candidates), "-q"]) == 0
    assert len(classifier.requests) == 8  # "small" has the settings answered before
    assert [r.body["temperature"] for r in classifier.requests[4:]] == [0.0] * 4
    labels = [c["label"] for c in json.loads((tmp_path / "report" / "metrics.json").read_text())["candidates"]]
    assert labels == ["large, cooler", "small"]


def test_ocr_against_an_answers_file_with_an_image_that_fails(tmp_path, monkeypatch, capsys):
    said = {40: "hello word", 50: "abc"}

    def respond(request):
        width = request.image().shape[1]
        if width == 60:
            return 400, {"error": {"message": "bad image", "code": 400}}
        return 200, chat_completion(said[width])

    server = ChatServer(responder=respond).start()
    monkeypatch.setenv("OPENROUTER_BASE_URL", server.base_url)
    lines = []
    for width, text in ((40, "hello world"), (50, "abc"), (60, "xyz")):
        cv2.imwrite(str(tmp_path / f"{width}.png"), make_image(width, 30))
        lines.append(json.dumps({"image": f"{width}.png", "answer": text}))
    (tmp_path / "texts.jsonl").write_text("\n".join(lines))
    try:
        code = main(["eval", "--answers", str(tmp_path / "texts.jsonl"), "--task", "ocr", "--report", str(tmp_path / "r"),
                     "--api-key", "k", "--model-version", SMALL])
    finally:
        server.stop()
    err = capsys.readouterr().err
    assert code == 0, err
    (candidate,) = json.loads((tmp_path / "r" / "metrics.json").read_text())["candidates"]
    # 1 deletion in 11 characters, none in 3, all 3 of the unanswered image: 4 of 17.
    assert candidate["scores"]["cer"] == pytest.approx(4 / 17)
    assert candidate["error_share"] == pytest.approx(1 / 3)
    assert "1 image(s) without an answer count against it" in err


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--report", "r", "--model-version", SMALL], "exactly one of --folders, --coco, --yolo, --voc, --answers"),
        (["--answers", "ANSWERS", "--report", "r", "--model-version", SMALL], "--task is needed with --answers"),
        (["--answers", "ANSWERS", "--task", "classification", "--report", "r", "--model-version", SMALL],
         "cannot be scored against answers labels"),
        (["--answers", "ANSWERS", "--task", "ocr", "--report", "r", "--candidates", "CANDIDATES"],
         "'max_tokenz' is not a step property"),
    ],
)
def test_usage_errors_name_what_to_do(tmp_path, capsys, argv, message):
    cv2.imwrite(str(tmp_path / "a.png"), make_image(40, 30))
    (tmp_path / "a.jsonl").write_text(json.dumps({"image": "a.png", "answer": "x"}))
    (tmp_path / "c.json").write_text(json.dumps([{"label": "x", "max_tokenz": 5}]))
    paths = {"ANSWERS": str(tmp_path / "a.jsonl"), "CANDIDATES": str(tmp_path / "c.json")}
    assert main(["eval", *[paths.get(arg, arg) for arg in argv], "--api-key", "k"]) == 2
    assert message in capsys.readouterr().err


def test_detection_against_coco_with_a_price_and_a_gallery_of_the_worst(tmp_path, monkeypatch, capsys):
    import numpy as np
    import supervision as sv

    # A: the car found where it is. B: the person called a car (less sure).
    said = {200: [{"class": "car", "box": [0.1, 0.2, 0.5, 0.6], "confidence": 0.9}],
            160: [{"class": "car", "box": [0.1, 0.1, 0.5, 0.5], "confidence": 0.5}]}

    def respond(request):
        boxes = said[request.image().shape[1]]
        usage = {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100}
        return 200, chat_completion(json.dumps({"detections": boxes}), usage=usage)

    server = ChatServer(responder=respond).start()
    monkeypatch.setenv("OPENROUTER_BASE_URL", server.base_url)
    source = tmp_path / "source"
    source.mkdir()
    images = []
    for width in (200, 160):
        images.append(str(source / f"{width}.png"))
        cv2.imwrite(images[-1], make_image(width, 100, seed=width))
    truth = sv.DetectionDataset(classes=["car", "person"], images=images, annotations={
        images[0]: sv.Detections(xyxy=np.array([[20.0, 20.0, 100.0, 60.0]]), class_id=np.array([0])),
        images[1]: sv.Detections(xyxy=np.array([[16.0, 10.0, 80.0, 50.0]]), class_id=np.array([1])),
    })
    truth.as_coco(images_directory_path=str(tmp_path / "coco"), annotations_path=str(tmp_path / "coco.json"))
    report = tmp_path / "report"
    try:
        code = main(["eval", "--coco", str(tmp_path / "coco"), str(tmp_path / "coco.json"), "--report", str(report),
                     "--api-key", "k", "--model-version", SMALL, "--price", f"{SMALL}=0.08,0.30", "-q"])
    finally:
        server.stop()
    assert code == 0, capsys.readouterr().err
    (candidate,) = json.loads((report / "metrics.json").read_text())["candidates"]
    scores = candidate["scores"]
    # car: its one box found first (AP 1), then one invented; person: missed (AP 0).
    assert scores["map50"] == pytest.approx(0.5)
    assert scores["per_class"]["car"]["precision"] == pytest.approx(0.5) and scores["per_class"]["car"]["recall"] == 1.0
    assert scores["per_class"]["person"]["recall"] == 0.0
    assert candidate["cost_usd"] == pytest.approx((2000 * 0.08 + 200 * 0.30) / 1e6)
    assert candidate["price"]["source"] == "--price"
    (drawn,) = sorted((report / "gallery").iterdir())  # only B was answered wrong
    assert cv2.imread(str(drawn)).shape == (100, 160, 3)
    html = (report / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3  # quality against cost, F1 per class, the gallery's one
    assert "160.png: labelled boxes green, answered boxes red" in (report / "report.md").read_text()


def test_a_real_server_is_asked_and_its_cut_off_answers_count_against_it(tmp_path, capsys):
    """`transformers serve` with the tiny checkpoint (whose template follows Meta's
    rules). Its random weights never stop before max_tokens, so every answer is cut
    off: the block calls that an error, and eval must not score it as text read."""
    from support.tiny_mllama import build_tiny_mllama
    from support.transformers_server import transformers_serve

    lines = []
    for width, text in ((64, "STOP"), (48, "ONE WAY")):
        cv2.imwrite(str(tmp_path / f"{width}.png"), make_image(width, 40, seed=width))
        lines.append(json.dumps({"image": f"{width}.png", "answer": text}))
    (tmp_path / "signs.jsonl").write_text("\n".join(lines))
    checkpoint = build_tiny_mllama(tmp_path / "tiny")
    with transformers_serve(checkpoint) as server:
        code = main(["eval", "--answers", str(tmp_path / "signs.jsonl"), "--task", "ocr", "--report", str(tmp_path / "r"),
                     "--model-version", "11B - OpenAI-compatible server", "--base-url", server.base_url,
                     "--served-model-name", server.model, "--max-tokens", "8", "--temperature", "0", "-q"])
    assert code == 1
    assert "error: no candidate answered any image" in capsys.readouterr().err
    (candidate,) = json.loads((tmp_path / "r" / "metrics.json").read_text())["candidates"]
    assert candidate["error_share"] == 1.0 and candidate["images"] == 2
    assert candidate["scores"]["cer"] == 1.0  # no text read: every character missed
    assert candidate["input_tokens"] > 0 and candidate["output_tokens"] == 16  # the server's own counts
    assert candidate["cost_usd"] is None  # your own server: no price unless you give one
    answers = [json.loads(line) for path in (tmp_path / "r" / "answers").iterdir() for line in path.read_text().splitlines()]
    assert all("cut off at max_tokens=8" in line["error_message"] for line in answers)


def answers_file(tmp_path, truths):
    """Images 40, 50, 60 ... px wide, one per truth, and their answers file."""
    lines = []
    for index, truth in enumerate(truths):
        width = 40 + 10 * index
        cv2.imwrite(str(tmp_path / f"{width}.png"), make_image(width, 30, seed=width))
        lines.append(json.dumps({"image": f"{width}.png", "answer": truth}))
    (tmp_path / "labels.jsonl").write_text("\n".join(lines))
    return str(tmp_path / "labels.jsonl")


def scored(tmp_path, monkeypatch, truths, replies, *options):
    """Runs eval over `truths` with a provider that answers image i with replies[i]."""
    def respond(request):
        return 200, chat_completion(replies[(request.image().shape[1] - 40) // 10])

    server = ChatServer(responder=respond).start()
    monkeypatch.setenv("OPENROUTER_BASE_URL", server.base_url)
    try:
        code = main(["eval", "--answers", answers_file(tmp_path, truths), "--report", str(tmp_path / "r"),
                     "--api-key", "k", "--model-version", SMALL, "-q", *options])
    finally:
        server.stop()
    assert code == 0
    (candidate,) = json.loads((tmp_path / "r" / "metrics.json").read_text())["candidates"]
    return candidate


def test_multi_label_against_an_answers_file(tmp_path, monkeypatch):
    said = lambda *names: json.dumps({"predicted_classes": [{"class": n, "confidence": 0.9} for n in names]})  # noqa: E731
    candidate = scored(tmp_path, monkeypatch, [["car", "bus"], ["bike"], ["car"]], [said("car"), said("bike"), said("bus")],
                       "--task", "multi-label-classification")
    # The classes are the labels' own: bike, bus, car. TP: car (1), bike (2); FP: bus (3); FN: bus (1), car (3).
    assert candidate["scores"]["micro_f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 2))
    assert candidate["scores"]["exact_match"] == pytest.approx(1 / 3)
    assert candidate["scores"]["per_class"]["bike"]["f1"] == 1.0


def test_visual_question_answering_and_captions(tmp_path, monkeypatch):
    candidate = scored(tmp_path, monkeypatch, ["Red", "two cars"], ["red.", "Three cars."],
                       "--task", "visual-question-answering", "--prompt", "What colour is it?")
    assert candidate["scores"] == {"exact_match": 0.5}
    (tmp_path / "c").mkdir()
    captions = scored(tmp_path / "c", monkeypatch, ["a", "b"], ["A car.", "A bus."], "--task", "caption")
    assert captions["scores"] == {} and captions["error_share"] == 0.0  # no score is invented
    assert "No score for caption" in (tmp_path / "c" / "r" / "report.md").read_text()


def test_structured_answers_are_matched_per_field(tmp_path, monkeypatch):
    truths = [{"street": "Main St", "cars": 2}, {"street": "Elm St", "cars": 1}]
    replies = ['```json\n{"street": "MAIN ST.", "cars": 2}\n```', '```json\n{"street": "Oak St", "cars": 1}\n```']
    candidate = scored(tmp_path, monkeypatch, truths, replies, "--task", "structured-answering",
                       "--output-structure", json.dumps({"street": "the street's name", "cars": "how many cars"}))
    assert candidate["scores"]["exact_match"] == 0.5
    assert candidate["scores"]["per_field"] == {"cars": 1.0, "street": 0.5}


def test_a_sample_is_drawn_by_its_seed_and_only_it_is_asked(classifier, tmp_path):
    folders = str(class_folders(tmp_path))

    def sampled(seed, report):
        assert main(["eval", "--folders", folders, "--report", str(tmp_path / report), "--api-key", "k",
                     "--model-version", SMALL, "--sample", "2", "--seed", str(seed), "-q"]) == 0
        metrics = json.loads((tmp_path / report / "metrics.json").read_text())
        (answers,) = (tmp_path / report / "answers").iterdir()
        return metrics["dataset"]["images"], sorted(json.loads(line)["image"] for line in answers.read_text().splitlines())

    count, first = sampled(1, "a")
    assert count == 2 and len(first) == 2 and len(classifier.requests) == 2
    assert sampled(1, "b")[1] == first  # the same seed, the same images
    assert {tuple(sampled(seed, f"s{seed}")[1]) for seed in range(2, 8)} != {tuple(first)}  # other seeds, other draws


def test_a_label_given_twice_in_a_candidates_file_is_refused(tmp_path, capsys):
    cv2.imwrite(str(tmp_path / "a.png"), make_image(40, 30))
    (tmp_path / "a.jsonl").write_text(json.dumps({"image": "a.png", "answer": "x"}))
    (tmp_path / "c.json").write_text(json.dumps([{"label": "x", "model_version": SMALL}, {"label": "x", "model_version": LARGE}]))
    assert main(["eval", "--answers", str(tmp_path / "a.jsonl"), "--task", "ocr", "--report", str(tmp_path / "r"),
                 "--candidates", str(tmp_path / "c.json"), "--api-key", "k"]) == 2
    assert "each label names one candidate; 'x' is given twice" in capsys.readouterr().err
