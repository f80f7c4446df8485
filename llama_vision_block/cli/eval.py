"""`llama-vision eval`: candidates answer the same labelled images; their scores side by side."""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import random
import re
import sys
from typing import Any, Dict, List, Optional, Tuple

from llama_vision_block.cli.errors import CliError, UsageError, read_json
from llama_vision_block.cli.options import (
    add_block_options,
    default_model_version,
    property_names,
    resolve_api_key,
    split_list,
)
from llama_vision_block.cli.run import DEFAULT_CHUNK_SIZE

DESCRIPTION = "Score candidates (models, prompts, settings) against labelled images, side by side."
EPILOG = """examples:
  llama-vision eval --folders examples/eval/classification --report eval-report \\
      --model-version '11B - Cloudflare Workers AI' --model-version '11B - Ollama'
  llama-vision eval --coco images/ annotations.json --candidates candidates.json --report eval-report
  llama-vision eval --answers signs.jsonl --task ocr --report eval-report --sample 50 --seed 1

A dataset is one of: --folders (one folder per class: classification), --coco,
--yolo or --voc (detection), --answers (JSON Lines of {"image": ..., "answer": ...}
for OCR, visual question answering, structured answering and multi-label
classification). The task's settings are run's options. Candidates are each
--model-version given, or a JSON file of objects, each a "label" and any step
properties: [{"label": "11B strict", "model_version": "...", "constrained_decoding": "required"}].

Answers are kept in REPORT/answers/, one JSON Lines file per candidate and settings,
like run's --output: a rerun, a new metric or an added candidate asks only for what
is missing. REPORT/metrics.json holds every figure, REPORT/report.md the leaderboard.
"""
DATASET_OPTIONS = ("folders", "coco", "yolo", "voc", "answers")
# The task a dataset's labels answer, where its format says.
TASK_OF_KIND = {"classification": "classification", "detection": "object-detection"}
TASKS_OF_KIND = {
    "classification": ("classification",),
    "detection": ("object-detection",),
    "answers": ("ocr", "visual-question-answering", "structured-answering", "multi-label-classification",
                "caption", "detailed-caption", "unconstrained"),
}


def add_parser(subparsers: Any, block_options: bool = True) -> None:
    parser = subparsers.add_parser(
        "eval", help=DESCRIPTION, description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    data = parser.add_argument_group("the labelled images (one of)")
    data.add_argument("--folders", metavar="DIR", help="one folder per class, its images inside")
    data.add_argument("--coco", nargs=2, metavar=("IMAGES", "ANNOTATIONS.json"), help="COCO detection labels")
    data.add_argument("--yolo", nargs=3, metavar=("IMAGES", "LABELS", "DATA.yaml"), help="YOLO detection labels")
    data.add_argument("--voc", nargs=2, metavar=("IMAGES", "ANNOTATIONS"), help="Pascal VOC detection labels")
    data.add_argument("--answers", metavar="FILE.jsonl", help='JSON Lines of {"image": PATH, "answer": ...}, paths relative to the file')
    parser.add_argument("--report", required=True, metavar="DIR", help="where the answers, metrics.json and report.md go")
    parser.add_argument("--candidates", metavar="FILE.json", help="the candidates: a JSON list of {\"label\": ..., step properties ...}")
    parser.add_argument("--price", action="append", default=[], metavar="LABEL=IN,OUT",
                        help="US dollars per million input and output tokens for a candidate's label or model_version; "
                        "overrides the table (docs/cli.md); repeat for several")
    parser.add_argument("--sample", type=int, metavar="N", help="score N images drawn at random (with --seed) instead of all")
    parser.add_argument("--seed", dest="sample_seed", type=int, default=0, metavar="S", help="the draw of --sample (default 0); the model's own seed is --block-seed")
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE, metavar="N", help=f"images per engine run (default {DEFAULT_CHUNK_SIZE})")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary on stderr")
    if block_options:
        add_block_options(parser, repeatable=("model_version",))
    parser.set_defaults(handler=eval_command)


def eval_command(args: argparse.Namespace) -> int:
    from llama_vision_block.errors import LabelsError

    try:
        return _evaluate(args)
    except LabelsError as error:  # what the user gave: a usage error (exit code 2)
        raise UsageError(str(error)) from None


def _evaluate(args: argparse.Namespace) -> int:
    from llama_vision_block.evaluation import predictions
    from llama_vision_block.evaluation.prices import parse_price, price_of
    from llama_vision_block.evaluation.report import candidate_figures, write_report
    from llama_vision_block.evaluation.scores import task_scores

    prices = dict(parse_price(text) for text in args.price)
    labelled, name = _dataset(args)
    task = _task(args, labelled.kind)
    classes = _classes(args, task, labelled)
    images = _sample(list(labelled.truths), args.sample, args.sample_seed)
    truths = [labelled.truths[image] for image in images]
    results, examples = [], {}
    for label, candidate in _candidates(args, task, classes):
        lines, settings = _answers(candidate, label, images, args)
        answers = [predictions.answer(task, lines.get(image), classes) for image in images]
        scores = task_scores(task, truths, answers, classes)
        price = price_of(label, candidate.model_version, prices)
        results.append(candidate_figures(label, settings, [lines[image] for image in images], scores, price))
        examples[label] = (images, truths, answers)
    dataset = {"name": name, "format": labelled.kind, "images": len(images)}
    written = write_report(args.report, task, dataset, results, examples, classes)
    if not args.quiet:
        for figures in results:
            failed = figures["images_failed"]
            note = f"; {failed} image(s) without an answer count against it (see error_message in its answers)" if failed else ""
            print(f"{figures['label']}: {figures['images']} image(s){note}", file=sys.stderr)
        print("wrote " + ", ".join(written), file=sys.stderr)
    if all(figures["error_share"] == 1.0 for figures in results):
        print("error: no candidate answered any image; the scores say nothing", file=sys.stderr)
        return 1
    return 0


def _dataset(args: argparse.Namespace) -> Tuple[Any, str]:
    from llama_vision_block.evaluation import labelled

    given = [option for option in DATASET_OPTIONS if getattr(args, option)]
    if len(given) != 1:
        raise UsageError("give the labelled images with exactly one of --folders, --coco, --yolo, --voc, --answers")
    option = given[0]
    value = getattr(args, option)
    readers = {
        "folders": labelled.from_class_folders, "coco": labelled.from_coco, "yolo": labelled.from_yolo,
        "voc": labelled.from_pascal_voc, "answers": labelled.from_answers_file,
    }
    values = value if isinstance(value, list) else [value]
    return readers[option](*values), os.path.basename(os.path.normpath(values[0]))


def _task(args: argparse.Namespace, kind: str) -> str:
    task = args.task_type or TASK_OF_KIND.get(kind)
    if task is None:
        raise UsageError("--task is needed with --answers: one of " + ", ".join(TASKS_OF_KIND["answers"]))
    if task not in TASKS_OF_KIND[kind]:
        raise UsageError(f"--task {task} cannot be scored against {kind} labels; they score: " + ", ".join(TASKS_OF_KIND[kind]))
    return task


def _classes(args: argparse.Namespace, task: str, labelled: Any) -> List[str]:
    """The dataset's classes, which the step is asked to choose from (or --classes)."""
    given = split_list(args.classes or [])
    if labelled.classes:
        if given and set(given) != set(labelled.classes):
            raise UsageError("--classes differs from the dataset's classes (" + ", ".join(labelled.classes) + "); leave it out")
        return list(labelled.classes)
    if task == "multi-label-classification":
        found = sorted({name for truth in labelled.truths.values() for name in (truth if isinstance(truth, list) else [])})
        return given or found
    return given


def _sample(images: List[str], size: Optional[int], seed: int) -> List[str]:
    if size is None or size >= len(images):
        return images
    if size < 1:
        raise UsageError("--sample must be at least 1")
    chosen = set(random.Random(seed).sample(images, size))
    return [image for image in images if image in chosen]  # in the dataset's order


def _candidates(args: argparse.Namespace, task: str, classes: List[str]) -> List[Tuple[str, argparse.Namespace]]:
    """Each candidate as the label it is reported under and the namespace `run` would
    have for it: the command's options, then the candidate's own properties."""
    base = copy.copy(args)
    base.task_type, base.classes = task, list(classes) or None
    versions = args.model_version or []
    if args.candidates:
        if versions:
            raise UsageError("give the candidates with --model-version or --candidates, not both")
        chosen = [_from_file_entry(base, entry, args.candidates, index) for index, entry in enumerate(_read_candidates(args.candidates))]
        labels = [label for label, _ in chosen]
        if len(set(labels)) != len(labels):
            twice = sorted({label for label in labels if labels.count(label) > 1})
            raise UsageError(f"--candidates {args.candidates!r}: each label names one candidate; {', '.join(map(repr, twice))} is given twice")
        return chosen
    if not versions:
        base.model_version = default_model_version(base)
        return [(base.model_version, base)]
    chosen = []
    for version in dict.fromkeys(versions):
        one = copy.copy(base)
        one.model_version = version
        chosen.append((version, one))
    return chosen


def _read_candidates(path: str) -> List[Dict[str, Any]]:
    entries = read_json(path, "--candidates")
    if not isinstance(entries, list) or not entries or not all(isinstance(entry, dict) for entry in entries):
        raise UsageError(f"--candidates {path!r} must be a list of objects, each a \"label\" and step properties")
    return entries


def _from_file_entry(base: argparse.Namespace, entry: Dict[str, Any], path: str, index: int) -> Tuple[str, argparse.Namespace]:
    label = entry.get("label")
    if not isinstance(label, str) or not label.strip():
        raise UsageError(f"--candidates {path!r}, candidate {index + 1}: give it a \"label\" (the name it is reported under)")
    one = copy.copy(base)
    one.model_version = None
    allowed = set(property_names()) - {"api_key", "task_type", "classes"}
    for name, value in entry.items():
        if name == "label":
            continue
        if name not in allowed:
            raise UsageError(
                f"--candidates {path!r}, candidate {label!r}: {name!r} is not a step property a candidate may set"
                " (the task, its classes and the key are the command's)"
            )
        setattr(one, name, value)
    if one.model_version is None:
        one.model_version = default_model_version(one)
    return label, one


def _answers(candidate: argparse.Namespace, label: str, images: List[str], args: argparse.Namespace) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """The candidate's line for each image: those kept from before, the rest asked for now."""
    from llama_vision_block.cli.engine import compile_workflow
    from llama_vision_block.cli.output_file import OutputFile, answer_settings
    from llama_vision_block.cli.run import _step, _workflow, send_all

    api_key = resolve_api_key(candidate.api_key, candidate.model_version)
    args.secrets.append(api_key)
    try:
        step = _step(candidate, api_key)
    except UsageError as error:
        raise UsageError(f"candidate {label!r}: {error}") from None
    settings = answer_settings(step)
    # Named by settings, not label: the same settings under another label, or changed
    # and changed back, ask for nothing again.
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]
    path = os.path.join(args.report, "answers", f"{_slug(str(settings['model_version']))}-{digest}.jsonl")
    output = OutputFile(path, settings)
    todo = output.pending(images)
    quiet = args.quiet or not sys.stderr.isatty()
    try:
        if todo:
            if not quiet:
                print(f"llama-vision eval: {label}: {len(todo)} image(s) to send", file=sys.stderr, flush=True)
            engine = compile_workflow(_workflow(step))
            _, left = send_all(engine, todo, api_key, step["task_type"], settings, output, chunk_size=args.chunk_size, quiet=quiet)
            if left:
                raise CliError(f"candidate {label!r}: stopped, nothing could be reached; {len(left)} image(s) not sent")
    finally:
        output.close()
    return output.lines, settings


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", label).strip("-").lower()[:60] or "candidate"
