"""The report: metrics.json, report.md and report.html, the last opened in a real
headless browser (Debian's Chromium; the test is skipped only where it is absent,
and `.ci/run` installs it)."""

import json
import shutil
import subprocess

import cv2
import numpy as np
import pytest

from llama_vision_block.evaluation.prices import Price
from llama_vision_block.evaluation.report import candidate_figures, write_report
from llama_vision_block.evaluation.scores import single_label_scores

CLASSES = ["cat", "dog"]
TRUTHS = ["cat", "cat", "dog", "dog"]
ANSWERS = {"steady": ["cat", "cat", "dog", "cat"], "shaky": ["dog", "cat", None, "cat"]}
# matplotlib's first two colours: the bars of the first and second candidate.
BAR_COLORS = {"first": (31, 119, 180), "second": (255, 127, 14)}


@pytest.fixture
def report(tmp_path):
    images = []
    for index in range(4):
        images.append(str(tmp_path / f"{index}.png"))
        cv2.imwrite(images[-1], np.full((60, 80, 3), 40 * index, np.uint8))
    lines = [{"error_status": False, "input_tokens": 100, "output_tokens": 10, "latency_s": s} for s in (1.0, 2.0, 3.0, 4.0)]
    failed = {"error_status": True, "input_tokens": None, "output_tokens": None, "latency_s": 9.0}
    candidates = [
        candidate_figures("steady", {}, lines, single_label_scores(TRUTHS, ANSWERS["steady"], CLASSES), Price(0.1, 1.0, "test")),
        candidate_figures("shaky", {}, [*lines[:2], failed, lines[3]], single_label_scores(TRUTHS, ANSWERS["shaky"], CLASSES)),
    ]
    examples = {label: (images, TRUTHS, answers) for label, answers in ANSWERS.items()}
    write_report(str(tmp_path / "report"), "classification", {"name": "pets", "images": 4}, candidates, examples, CLASSES)
    return tmp_path / "report"


def test_metrics_hold_every_figure_unrounded_best_first(report):
    metrics = json.loads((report / "metrics.json").read_text())
    assert [c["label"] for c in metrics["candidates"]] == ["steady", "shaky"]
    steady, shaky = metrics["candidates"]
    assert steady["scores"]["accuracy"] == 0.75 and shaky["scores"]["accuracy"] == 0.25
    assert steady["cost_usd"] == pytest.approx((400 * 0.1 + 40 * 1.0) / 1e6) and shaky["cost_usd"] is None
    assert shaky["error_share"] == 0.25 and shaky["images_without_token_counts"] == 1
    # numpy's percentiles, failures' times included: 1, 2, 3, 4 and 1, 2, 9, 4.
    assert (steady["latency_p50_s"], steady["latency_p95_s"]) == pytest.approx((2.5, 3.85))
    assert (shaky["latency_p50_s"], shaky["latency_p95_s"]) == pytest.approx((3.0, 8.25))


def test_markdown_names_what_is_missing(report):
    text = (report / "report.md").read_text()
    assert "| 1 | steady | 0.750 | 0% | 400 | 40 | 0.000080 | 2.50 / 3.85 |" in text
    assert "shaky: 25% of the images have no answer; they count against it." in text
    assert "shaky: 1 image(s) without token counts; its tokens and cost are a lower bound." in text
    assert "![Confusion matrix: steady](plots/confusion_1.png)" in text
    assert "3.png: truth dog; answer cat" in text  # steady's one mistake, in its gallery


def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_the_html_report_shows_the_leaderboard_and_its_plots_in_a_browser(report, tmp_path):
    page = (report / "report.html").as_uri()
    browser = [_chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*browser, "--dump-dom", page], capture_output=True, text=True, timeout=120).stdout
    assert '<table id="leaderboard">' in dom and "<td>steady</td>" in dom and "<td>shaky</td>" in dom
    shot = tmp_path / "shot.png"
    subprocess.run([*browser, "--window-size=1200,3000", f"--screenshot={shot}", page], capture_output=True, timeout=120)
    pixels = cv2.cvtColor(cv2.imread(str(shot)), cv2.COLOR_BGR2RGB).reshape(-1, 3).astype(int)
    for name, color in BAR_COLORS.items():  # the F1 bars were decoded and drawn, not just linked
        near = np.abs(pixels - np.array(color)).sum(axis=1) < 30
        assert near.sum() > 500, f"no {name} candidate's bars on the page"
