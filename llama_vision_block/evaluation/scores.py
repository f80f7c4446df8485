"""Figures from truths and answers, computed by the field's own libraries.

supervision scores detections, scikit-learn classifications, jiwer character and
word error rates. Only the normalisation of a short answer before exact match is
ours (SQuAD's: case, punctuation, articles and spacing do not count). An image
without an answer counts against the candidate, never out of the figures.
"""

from __future__ import annotations

import re
import string
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple

NO_ANSWER = "(no answer)"  # what a missing single-label answer is counted as


def detection_scores(truths: Sequence[Any], answers: Sequence[Optional[Any]], classes: Sequence[str]) -> Dict[str, Any]:
    """mAP@50 and mAP@50:95, and precision, recall and F1 at IoU 0.5 (their mean over
    classes, as mAP's), overall and per class, for `sv.Detections` truths and answers
    (None: no answer, so no boxes)."""
    import supervision as sv
    from supervision.metrics import AveragingMethod, F1Score, MeanAveragePrecision, Precision, Recall

    predictions = [answer if answer is not None else sv.Detections.empty() for answer in answers]
    targets = list(truths)
    mean_ap = MeanAveragePrecision().update(predictions, targets).compute()
    at_50 = {
        name: metric.update(predictions, targets).compute()
        for name, metric in (
            ("precision", Precision(averaging_method=AveragingMethod.MACRO)),
            ("recall", Recall(averaging_method=AveragingMethod.MACRO)),
            ("f1", F1Score(averaging_method=AveragingMethod.MACRO)),
        )
    }
    per_class: Dict[str, Dict[str, float]] = {name: {} for name in classes}
    for index, class_id in enumerate(mean_ap.matched_classes):
        per_class[classes[int(class_id)]]["ap50"] = float(mean_ap.ap_per_class[index][0])
        per_class[classes[int(class_id)]]["ap50_95"] = float(mean_ap.ap_per_class[index].mean())
    for name, result in at_50.items():
        values = getattr(result, f"{name}_per_class")
        for index, class_id in enumerate(result.matched_classes):
            per_class[classes[int(class_id)]][name] = float(values[index][0])
    return {
        "map50": float(mean_ap.map50),
        "map50_95": float(mean_ap.map50_95),
        "precision": float(at_50["precision"].precision_at_50),
        "recall": float(at_50["recall"].recall_at_50),
        "f1": float(at_50["f1"].f1_50),
        "per_class": per_class,
    }


def single_label_scores(truths: Sequence[str], answers: Sequence[Optional[str]], classes: Sequence[str]) -> Dict[str, Any]:
    """Accuracy, macro F1, per-class precision, recall and F1, and the confusion matrix
    (rows: truth, columns: answer; a last column for answers outside `classes`)."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    labels = list(classes)
    said = [answer if answer in labels else NO_ANSWER for answer in answers]
    precision, recall, f1, support = precision_recall_fscore_support(
        truths, said, labels=labels, average=None, zero_division=0
    )
    matrix = confusion_matrix(truths, said, labels=[*labels, NO_ANSWER])
    return {
        "accuracy": float(accuracy_score(truths, said)),
        "macro_f1": float(f1_score(truths, said, labels=labels, average="macro", zero_division=0)),
        "per_class": {
            name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for name, p, r, f, s in zip(labels, precision, recall, f1, support)
        },
        "confusion_matrix": {"labels": [*labels, NO_ANSWER], "counts": matrix[: len(labels)].tolist()},
    }


def multi_label_scores(truths: Sequence[Set[str]], answers: Sequence[Optional[Set[str]]], classes: Sequence[str]) -> Dict[str, Any]:
    """Micro and macro F1, per-class precision, recall and F1, and exact-set match."""
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support
    from sklearn.preprocessing import MultiLabelBinarizer

    binarizer = MultiLabelBinarizer(classes=list(classes))
    expected = binarizer.fit_transform([set(truth) & set(classes) for truth in truths])
    said = binarizer.transform([set(answer or ()) & set(classes) for answer in answers])
    precision, recall, f1, support = precision_recall_fscore_support(expected, said, average=None, zero_division=0)
    return {
        "micro_f1": float(f1_score(expected, said, average="micro", zero_division=0)),
        "macro_f1": float(f1_score(expected, said, average="macro", zero_division=0)),
        "exact_match": float(accuracy_score(expected, said)),  # subset accuracy: the whole set right
        "per_class": {
            name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for name, p, r, f, s in zip(classes, precision, recall, f1, support)
        },
    }


def ocr_scores(truths: Sequence[str], answers: Sequence[Optional[str]]) -> Dict[str, float]:
    """Character and word error rates over the whole set (jiwer), a missing answer
    counting as empty text (every character deleted)."""
    import jiwer

    said = [answer or "" for answer in answers]
    return {"cer": float(jiwer.cer(list(truths), said)), "wer": float(jiwer.wer(list(truths), said))}


def normalised(text: Any) -> str:
    """An answer as exact match compares it: lower case, no punctuation, no articles
    (a, an, the), single spaces."""
    text = str(text).lower()
    text = "".join(character for character in text if character not in string.punctuation)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def exact_match_scores(truths: Sequence[Any], answers: Sequence[Optional[Any]]) -> Dict[str, Any]:
    """Normalised exact match: overall, and per field where the truths are objects
    (structured answering)."""
    matches = [answer is not None and _same(truth, answer) for truth, answer in zip(truths, answers)]
    scores: Dict[str, Any] = {"exact_match": _share(matches)}
    if truths and all(isinstance(truth, Mapping) for truth in truths):
        fields = sorted({field for truth in truths for field in truth})
        scores["per_field"] = {
            field: _share([
                isinstance(answer, Mapping) and field in answer and _same(truth.get(field), answer[field])
                for truth, answer in zip(truths, answers) if field in truth
            ])
            for field in fields
        }
    return scores


def _same(truth: Any, answer: Any) -> bool:
    if isinstance(truth, Mapping):
        return isinstance(answer, Mapping) and set(truth) <= set(answer) and all(
            _same(value, answer[field]) for field, value in truth.items()
        )
    if isinstance(truth, list):
        return isinstance(answer, list) and sorted(map(normalised, truth)) == sorted(map(normalised, answer))
    return normalised(truth) == normalised(answer)


def _share(flags: List[bool]) -> float:
    return sum(flags) / len(flags) if flags else 0.0


# The figure a task's candidates are ranked by, and whether more is better.
HEADLINE: Dict[str, Tuple[str, bool]] = {
    "classification": ("accuracy", True),
    "multi-label-classification": ("micro_f1", True),
    "object-detection": ("map50", True),
    "ocr": ("cer", False),
    "visual-question-answering": ("exact_match", True),
    "structured-answering": ("exact_match", True),
}


def task_scores(task: str, truths: Sequence[Any], answers: Sequence[Any], classes: Sequence[str]) -> Dict[str, Any]:
    """The figures of `task`; none for captions and open prompts (no score is invented)."""
    if task == "classification":
        return single_label_scores(truths, answers, classes)
    if task == "multi-label-classification":
        return multi_label_scores([set(truth) for truth in truths], answers, classes)
    if task == "object-detection":
        return detection_scores(truths, answers, classes)
    if task == "ocr":
        return ocr_scores([str(truth) for truth in truths], answers)
    if task in ("visual-question-answering", "structured-answering"):
        return exact_match_scores(truths, answers)
    return {}
