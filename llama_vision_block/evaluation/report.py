"""The evaluation's results: `metrics.json` (every figure, unrounded), `report.md`
and `report.html` (one self-contained file), with their pictures beside them."""

from __future__ import annotations

import html
import json
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from llama_vision_block.evaluation import pictures
from llama_vision_block.evaluation.prices import Price
from llama_vision_block.evaluation.scores import HEADLINE


def candidate_figures(
    label: str, settings: Mapping[str, Any], lines: Sequence[Mapping[str, Any]], scores: Mapping[str, Any],
    price: Optional[Price] = None,
) -> Dict[str, Any]:
    """A candidate's line in the results: its scores, its failures, its tokens and
    what they cost (None without a price)."""
    failed = [line for line in lines if line.get("error_status")]
    counted = [line for line in lines if isinstance(line.get("input_tokens"), int) and isinstance(line.get("output_tokens"), int)]
    tokens_in = sum(line["input_tokens"] for line in counted)
    tokens_out = sum(line["output_tokens"] for line in counted)
    latencies = [line["latency_s"] for line in lines if isinstance(line.get("latency_s"), (int, float))]
    return {
        "label": label,
        "settings": dict(settings),
        "images": len(lines),
        "images_failed": len(failed),
        "error_share": len(failed) / len(lines) if lines else 0.0,
        "input_tokens": tokens_in,
        "output_tokens": tokens_out,
        "images_without_token_counts": len(lines) - len(counted),
        "cost_usd": price.cost(tokens_in, tokens_out) if price else None,
        # Over every image with a time, failures included: waiting for one is a cost too.
        "latency_p50_s": _percentile(latencies, 50),
        "latency_p95_s": _percentile(latencies, 95),
        "price": {"input_per_million": price.input, "output_per_million": price.output, "source": price.source, "read": price.read} if price else None,
        "scores": dict(scores),
    }


def _percentile(values: List[float], share: float) -> Optional[float]:
    import numpy as np

    return float(np.percentile(values, share)) if values else None


def ranked(task: str, candidates: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The candidates best first by the task's headline figure (as given where it has none)."""
    if task not in HEADLINE:
        return list(candidates)
    name, higher_is_better = HEADLINE[task]
    return sorted(candidates, key=lambda candidate: candidate["scores"][name], reverse=higher_is_better)


def write_report(
    folder: str, task: str, dataset: Mapping[str, Any], candidates: List[Dict[str, Any]],
    examples: Mapping[str, Tuple[Sequence[str], Sequence[Any], Sequence[Any]]], classes: Sequence[str],
) -> List[str]:
    """Writes metrics.json, the pictures, report.md and report.html into `folder`;
    returns the paths of the three documents. `examples` holds each candidate's
    (images, truths, answers), for the gallery of the best candidate's worst images."""
    os.makedirs(folder, exist_ok=True)
    order = ranked(task, candidates)
    metrics_path = os.path.join(folder, "metrics.json")
    with open(metrics_path, "w", encoding="utf-8") as file:
        json.dump({"task": task, "dataset": dict(dataset), "candidates": order}, file, indent=2, ensure_ascii=False)
    plots = _plots(folder, task, order)
    best = order[0]["label"]
    worst = pictures.gallery(os.path.join(folder, "gallery"), task, *examples[best], classes)
    documents = {"report.md": _markdown(task, dataset, order, plots, worst, folder),
                 "report.html": _html(task, dataset, order, plots, worst)}
    written = [metrics_path]
    for name, text in documents.items():
        written.append(os.path.join(folder, name))
        with open(written[-1], "w", encoding="utf-8") as file:
            file.write(text)
    return written


def _plots(folder: str, task: str, order: List[Dict[str, Any]]) -> List[Tuple[str, str]]:
    """(file, title) of each plot the task has."""
    os.makedirs(os.path.join(folder, "plots"), exist_ok=True)
    path = lambda name: os.path.join(folder, "plots", name)  # noqa: E731
    made = []
    if task in HEADLINE:
        figure, higher = HEADLINE[task]
        made.append((pictures.quality_against_cost(path("quality_against_cost.png"), order, figure, higher), "Quality against cost"))
    classes = list(dict.fromkeys(name for candidate in order for name in candidate["scores"].get("per_class") or {}))
    if classes:
        made.append((pictures.per_class_f1(path("per_class_f1.png"), order, classes), "F1 per class"))
    for index, candidate in enumerate(order, 1):
        if "confusion_matrix" in candidate["scores"]:
            made.append((pictures.confusion(path(f"confusion_{index}.png"), candidate["label"], candidate["scores"]["confusion_matrix"]),
                         f"Confusion matrix: {candidate['label']}"))
    return made


def _leaderboard(task: str, order: List[Dict[str, Any]]) -> Tuple[List[str], List[List[str]]]:
    """The leaderboard's header and rows, as text."""
    figure = [HEADLINE[task][0]] if task in HEADLINE else []
    header = ["rank", "candidate", *figure, "errors", "tokens in", "tokens out", "cost (USD)", "latency p50 / p95 (s)"]
    rows = []
    for rank, candidate in enumerate(order, 1):
        cost = candidate["cost_usd"]
        rows.append([
            str(rank), candidate["label"], *[f"{candidate['scores'][name]:.3f}" for name in figure],
            f"{candidate['error_share']:.0%}", str(candidate["input_tokens"]), str(candidate["output_tokens"]),
            f"{cost:.6f}" if cost is not None else "–",
            f"{candidate['latency_p50_s']:.2f} / {candidate['latency_p95_s']:.2f}" if candidate["latency_p50_s"] is not None else "–",
        ])
    return header, rows


def _notes(task: str, order: List[Dict[str, Any]]) -> List[str]:
    notes = []
    if task not in HEADLINE:
        notes.append(f"No score for {task}: answers are compared by their errors and tokens only.")
    for candidate in order:
        if candidate["error_share"]:
            notes.append(f"{candidate['label']}: {candidate['error_share']:.0%} of the images have no answer; they count against it.")
        if candidate["images_without_token_counts"]:
            notes.append(f"{candidate['label']}: {candidate['images_without_token_counts']} image(s) without token counts; "
                         "its tokens and cost are a lower bound.")
        if candidate["price"]:
            price = candidate["price"]
            notes.append(f"{candidate['label']}: priced at ${price['input_per_million']} in and ${price['output_per_million']} out "
                         f"per million tokens ({price['source']}{', read ' + price['read'] if price['read'] else ''}).")
    return notes


def _markdown(task: str, dataset: Mapping[str, Any], order: List[Dict[str, Any]], plots: List[Tuple[str, str]],
              worst: List[Tuple[str, str]], folder: str) -> str:
    header, rows = _leaderboard(task, order)
    lines = [f"# {task} on {dataset['name']}", "", f"{dataset['images']} images, {len(order)} candidate(s).", ""]
    lines += _markdown_table(header, rows)
    lines += [""] + [f"- {note}" for note in _notes(task, order)]
    for candidate in order:
        per_class = candidate["scores"].get("per_class") or candidate["scores"].get("per_field")
        if per_class:
            lines += ["", f"## {candidate['label']}", ""] + _markdown_table(*_per_class_rows(per_class))
    for path, title in plots:
        lines += ["", f"![{title}]({os.path.relpath(path, folder)})"]
    if worst:
        lines += ["", f"## The worst answers of {order[0]['label']}", ""]
        lines += [f"![{caption}]({os.path.relpath(path, folder)})  \n{caption}" for path, caption in worst]
    return "\n".join(lines) + "\n"


def _html(task: str, dataset: Mapping[str, Any], order: List[Dict[str, Any]], plots: List[Tuple[str, str]],
          worst: List[Tuple[str, str]]) -> str:
    escape = html.escape
    table = _html_table(*_leaderboard(task, order), table_id="leaderboard")
    notes = "".join(f"<li>{escape(note)}</li>" for note in _notes(task, order))
    figure = lambda path, caption: (  # noqa: E731
        f"<figure><img alt=\"{escape(caption)}\" src=\"{pictures.embedded(path)}\"><figcaption>{escape(caption)}</figcaption></figure>"
    )
    figures = "".join(figure(path, title) for path, title in plots)
    gallery = "".join(figure(path, caption) for path, caption in worst)
    sections = []
    for candidate in order:
        per_class = candidate["scores"].get("per_class") or candidate["scores"].get("per_field")
        if per_class:
            sections.append(f"<h2>{escape(candidate['label'])}</h2>" + _html_table(*_per_class_rows(per_class)))
    title = f"{task} on {dataset['name']}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #1f2937; }}
table {{ border-collapse: collapse; margin: 1rem 0; }} th, td {{ border: 1px solid #d1d5db; padding: .35rem .7rem; text-align: left; }}
th {{ background: #f3f4f6; }} #leaderboard tr:nth-child(2) td {{ font-weight: 600; }}
figure {{ display: inline-block; margin: .5rem; vertical-align: top; max-width: 520px; }} img {{ max-width: 100%; }}
figcaption {{ font-size: .85rem; color: #4b5563; }}
</style></head><body>
<h1>{escape(title)}</h1>
<p>{dataset['images']} images, {len(order)} candidate(s).</p>
{table}
<ul>{notes}</ul>
<section id="plots">{figures}</section>
{''.join(sections)}
<h2>The worst answers of {escape(order[0]['label'])}</h2>
<section id="gallery">{gallery or '<p>None: every answer matched its label.</p>'}</section>
</body></html>
"""


def _per_class_rows(per_class: Mapping[str, Any]) -> Tuple[List[str], List[List[str]]]:
    """The per-class (or per-field) table's header and rows, as text."""
    rows = list(per_class.items())
    columns = sorted({name for _, figures in rows if isinstance(figures, Mapping) for name in figures})
    if not columns:  # per field: one share each
        return ["field", "exact match"], [[name, f"{value:.3f}"] for name, value in rows]
    return ["class", *columns], [[name, *(_cell(figures.get(column)) for column in columns)] for name, figures in rows]


def _markdown_table(header: List[str], rows: List[List[str]]) -> List[str]:
    return ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)] + ["| " + " | ".join(row) + " |" for row in rows]


def _html_table(header: List[str], rows: List[List[str]], table_id: str = "") -> str:
    escape = html.escape
    head = "<tr>" + "".join(f"<th>{escape(cell)}</th>" for cell in header) + "</tr>"
    body = "".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table{f' id={chr(34)}{table_id}{chr(34)}' if table_id else ''}>{head}{body}</table>"


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    return str(value) if isinstance(value, int) else f"{value:.3f}"
