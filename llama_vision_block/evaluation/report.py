"""The evaluation's results: `metrics.json` (every figure, unrounded) and `report.md`."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Mapping, Sequence

from llama_vision_block.evaluation.scores import HEADLINE


def candidate_figures(label: str, settings: Mapping[str, Any], lines: Sequence[Mapping[str, Any]], scores: Mapping[str, Any]) -> Dict[str, Any]:
    """A candidate's line in the results: its scores, its failures and its tokens."""
    failed = [line for line in lines if line.get("error_status")]
    counted = [line for line in lines if isinstance(line.get("input_tokens"), int) and isinstance(line.get("output_tokens"), int)]
    return {
        "label": label,
        "settings": dict(settings),
        "images": len(lines),
        "error_share": len(failed) / len(lines) if lines else 0.0,
        "input_tokens": sum(line["input_tokens"] for line in counted),
        "output_tokens": sum(line["output_tokens"] for line in counted),
        "images_without_token_counts": len(lines) - len(counted),
        "scores": dict(scores),
    }


def ranked(task: str, candidates: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The candidates best first by the task's headline figure (as given where it has none)."""
    if task not in HEADLINE:
        return list(candidates)
    name, higher_is_better = HEADLINE[task]
    return sorted(candidates, key=lambda candidate: candidate["scores"][name], reverse=higher_is_better)


def write_report(folder: str, task: str, dataset: Mapping[str, Any], candidates: List[Dict[str, Any]]) -> List[str]:
    """Writes metrics.json and report.md into `folder`; returns their paths."""
    os.makedirs(folder, exist_ok=True)
    order = ranked(task, candidates)
    metrics_path = os.path.join(folder, "metrics.json")
    with open(metrics_path, "w", encoding="utf-8") as file:
        json.dump({"task": task, "dataset": dict(dataset), "candidates": order}, file, indent=2, ensure_ascii=False)
    report_path = os.path.join(folder, "report.md")
    with open(report_path, "w", encoding="utf-8") as file:
        file.write(_markdown(task, dataset, order))
    return [metrics_path, report_path]


def _markdown(task: str, dataset: Mapping[str, Any], order: List[Dict[str, Any]]) -> str:
    headline = HEADLINE.get(task)
    lines = [f"# {task} on {dataset['name']}", "", f"{dataset['images']} images, {len(order)} candidate(s).", ""]
    figure = [headline[0]] if headline else []
    lines += [
        "| rank | candidate | " + " | ".join([*figure, "errors", "tokens in", "tokens out"]) + " |",
        "| --- | --- | " + " | ".join(["---"] * (len(figure) + 3)) + " |",
    ]
    for rank, candidate in enumerate(order, 1):
        values = [f"{candidate['scores'][name]:.3f}" for name in figure]
        values += [f"{candidate['error_share']:.0%}", str(candidate["input_tokens"]), str(candidate["output_tokens"])]
        lines.append(f"| {rank} | {candidate['label']} | " + " | ".join(values) + " |")
    if not headline:
        lines += ["", f"No score for {task}: answers are compared by their errors and tokens only."]
    for candidate in order:
        per_class = candidate["scores"].get("per_class") or candidate["scores"].get("per_field")
        if per_class:
            lines += ["", f"## {candidate['label']}", ""] + _per_class_table(per_class)
    return "\n".join(lines) + "\n"


def _per_class_table(per_class: Mapping[str, Any]) -> List[str]:
    rows = list(per_class.items())
    columns = sorted({name for _, figures in rows if isinstance(figures, Mapping) for name in figures})
    if not columns:  # per field: one share each
        return ["| field | exact match |", "| --- | --- |"] + [f"| {name} | {value:.3f} |" for name, value in rows]
    table = ["| class | " + " | ".join(columns) + " |", "| --- | " + " | ".join(["---"] * len(columns)) + " |"]
    for name, figures in rows:
        table.append(f"| {name} | " + " | ".join(_cell(figures.get(column)) for column in columns) + " |")
    return table


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    return str(value) if isinstance(value, int) else f"{value:.3f}"
