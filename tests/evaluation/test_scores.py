"""Figures from truths and answers: every expected value below is worked out by hand."""

import numpy as np
import pytest
import supervision as sv

from llama_vision_block.evaluation.scores import (
    NO_ANSWER,
    detection_scores,
    exact_match_scores,
    multi_label_scores,
    normalised,
    ocr_scores,
    single_label_scores,
)


def boxes(*items):
    """`(class_id, x1, y1, x2, y2)` items as detections, each answered with confidence 1."""
    return sv.Detections(
        xyxy=np.array([item[1:] for item in items], dtype=float).reshape(-1, 4),
        class_id=np.array([item[0] for item in items], dtype=int),
        confidence=np.ones(len(items)),
    )


def test_detection_one_class_found_everywhere_the_other_missed_and_invented():
    truths = [boxes((0, 0, 0, 10, 10), (1, 20, 20, 30, 30)), boxes((0, 0, 0, 10, 10))]
    answers = [boxes((0, 0, 0, 10, 10)), boxes((0, 0, 0, 10, 10), (1, 50, 50, 60, 60))]
    scores = detection_scores(truths, answers, ["cat", "dog"])
    # cat: both found exactly (AP 1 at every IoU); dog: one missed, one invented (AP 0).
    assert scores["map50"] == pytest.approx(0.5) and scores["map50_95"] == pytest.approx(0.5)
    assert scores["precision"] == pytest.approx(0.5) and scores["recall"] == pytest.approx(0.5)
    assert scores["f1"] == pytest.approx(0.5)
    assert scores["per_class"]["cat"] == pytest.approx({"ap50": 1, "ap50_95": 1, "precision": 1, "recall": 1, "f1": 1})
    assert scores["per_class"]["dog"] == pytest.approx({"ap50": 0, "ap50_95": 0, "precision": 0, "recall": 0, "f1": 0})


def test_detection_an_image_without_an_answer_misses_all_its_boxes():
    truths = [boxes((0, 0, 0, 10, 10)), boxes((0, 0, 0, 10, 10))]
    scores = detection_scores(truths, [boxes((0, 0, 0, 10, 10)), None], ["cat"])
    assert scores["recall"] == pytest.approx(0.5) and scores["precision"] == pytest.approx(1.0)


def test_single_label_classification():
    truths = ["cat", "cat", "dog", "bird", "dog"]
    answers = ["cat", "dog", "dog", None, "fish"]  # no answer, and a class not offered
    scores = single_label_scores(truths, answers, ["cat", "dog", "bird"])
    assert scores["accuracy"] == pytest.approx(2 / 5)
    assert scores["per_class"]["cat"] == pytest.approx({"precision": 1, "recall": 0.5, "f1": 2 / 3, "support": 2})
    assert scores["per_class"]["dog"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    assert scores["per_class"]["bird"] == pytest.approx({"precision": 0, "recall": 0, "f1": 0, "support": 1})
    assert scores["macro_f1"] == pytest.approx((2 / 3 + 0.5 + 0) / 3)
    assert scores["confusion_matrix"] == {
        "labels": ["cat", "dog", "bird", NO_ANSWER],
        "counts": [[1, 1, 0, 0], [0, 1, 0, 1], [0, 0, 0, 1]],
    }


def test_multi_label_classification():
    truths = [{"a", "b"}, {"c"}, {"a"}]
    answers = [{"a"}, {"c"}, None]
    scores = multi_label_scores(truths, answers, ["a", "b", "c"])
    # TP a, c; FN b (image 1), a (image 3); no FP: precision 1, recall 1/2.
    assert scores["micro_f1"] == pytest.approx(2 / 3)
    assert scores["macro_f1"] == pytest.approx((2 / 3 + 0 + 1) / 3)
    assert scores["exact_match"] == pytest.approx(1 / 3)
    assert scores["per_class"]["a"] == pytest.approx({"precision": 1, "recall": 0.5, "f1": 2 / 3, "support": 2})


def test_ocr_error_rates_count_a_missing_answer_as_empty_text():
    scores = ocr_scores(["hello world", "abc"], ["hello word", None])
    assert scores["cer"] == pytest.approx(4 / 14)  # one deletion, then three
    assert scores["wer"] == pytest.approx(2 / 3)  # one substitution, one deletion


def test_exact_match_ignores_case_punctuation_articles_and_spacing():
    assert normalised("  The Red   car! ") == "red car"
    scores = exact_match_scores(["The red car", "two", "yes"], ["red car!", "2", None])
    assert scores == {"exact_match": pytest.approx(1 / 3)}


def test_exact_match_per_field_for_structured_answers():
    truths = [{"street": "Main St", "cars": 2}, {"street": "Elm", "cars": 1}]
    answers = [{"street": "main st.", "cars": 2}, {"street": "Oak", "cars": "1"}]
    scores = exact_match_scores(truths, answers)
    assert scores["exact_match"] == pytest.approx(0.5)
    assert scores["per_field"] == {"cars": pytest.approx(1.0), "street": pytest.approx(0.5)}
