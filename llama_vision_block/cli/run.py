"""`llama-vision run`: one task over images, results as JSON Lines."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Dict, Iterator, List, Optional, Set, TextIO, Tuple

from llama_vision_block.cli.errors import CliError, UsageError
from llama_vision_block.cli.options import (
    add_block_options,
    default_model_version,
    resolve_api_key,
    step_properties,
    validate_step,
)

DESCRIPTION = "Run one task of the block over images or folders; print JSON Lines."
EPILOG = """examples:
  llama-vision run --task caption photos/ --output captions.jsonl
  llama-vision run --task classification --classes car,truck,bicycle photos/ --annotate annotated/
  llama-vision run --task object-detection --classes person --model-version '11B - OpenAI-compatible server' \\
      --base-url http://localhost:8000/v1 street.jpg
  llama-vision run --task unconstrained --prompt 'How many people?' a.jpg b.jpg

Without --model-version, the run goes to the provider that the options or the
environment set up: CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN for Cloudflare
Workers AI, --base-url or LLAMA_VISION_BASE_URL for your own server, --model-path or
LLAMA_VISION_MODEL_PATH for this machine's GPU.

With --output, images already in the file are skipped and new lines are appended,
so an interrupted run continues where it stopped. Each line has the image's token
counts; the summary on stderr totals them. The exit code is 1 when every image failed.
"""
DEFAULT_CHUNK_SIZE = 16


def add_parser(subparsers: Any, block_options: bool = True) -> None:
    parser = subparsers.add_parser(
        "run", help=DESCRIPTION, description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("sources", nargs="+", metavar="IMAGE_OR_FOLDER", help="image files and folders of images (jpg, jpeg, png, bmp, webp)")
    parser.add_argument("--output", "-o", metavar="FILE.jsonl", help="append results here (and skip images already in it) instead of printing them")
    parser.add_argument("--annotate", metavar="DIR", help="write each image with its answer drawn on it into DIR, under the same file name")
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE, metavar="N", help=f"images per engine run (default {DEFAULT_CHUNK_SIZE})")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary on stderr")
    if block_options:
        add_block_options(parser)
    parser.set_defaults(handler=run_command)


def _step(args: argparse.Namespace, api_key: Optional[str]) -> Dict[str, Any]:
    from llama_vision_block.manifest import BLOCK_TYPE

    step = {"type": BLOCK_TYPE, "name": "llama", "images": "$inputs.image", **step_properties(args)}
    validate_step(step, has_api_key=bool(api_key))
    if api_key:
        step["api_key"] = "$inputs.api_key"  # a secret input, never in the definition
    return step


def _workflow(step: Dict[str, Any]) -> Dict[str, Any]:
    inputs = [{"type": "WorkflowImage", "name": "image"}]
    if step.get("api_key"):
        inputs.append({"type": "WorkflowParameter", "name": "api_key"})
    return {
        "version": "1.0",
        "inputs": inputs,
        "steps": [step],
        "outputs": [{"type": "JsonField", "name": "llama", "selector": "$steps.llama.*"}],
    }


def already_done(output: Optional[str]) -> Set[str]:
    """Image paths already recorded in the output file (unreadable lines ignored)."""
    done: Set[str] = set()
    if not output or not os.path.exists(output):
        return done
    with open(output, encoding="utf-8") as file:
        for line in file:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and isinstance(record.get("image"), str):
                done.add(record["image"])
    return done


def _open_output(output: Optional[str]) -> TextIO:
    if not output:
        return sys.stdout
    directory = os.path.dirname(output)
    if directory:
        os.makedirs(directory, exist_ok=True)
    needs_newline = False
    if os.path.exists(output) and os.path.getsize(output):
        with open(output, "rb") as existing:
            existing.seek(-1, os.SEEK_END)
            needs_newline = existing.read(1) != b"\n"  # a line cut short by an interruption
    file = open(output, "a", encoding="utf-8")
    if needs_newline:
        file.write("\n")
    return file


def _chunks(items: List[str], size: int) -> Iterator[Tuple[int, List[str]]]:
    for start in range(0, len(items), size):
        yield start, items[start : start + size]


def _run_chunk(engine: Any, paths: List[str], start: int, api_key: Optional[str], task: str, annotate_dir: Optional[str]) -> List[Dict[str, Any]]:
    """Runs the images at `paths` (the run's images from index `start` on) and returns
    their records; messages number images across the whole run, not the chunk."""
    from llama_vision_block.cli.annotate import write_annotated
    from llama_vision_block.cli.engine import load_image
    from llama_vision_block.cli.serialize import failed_record, record

    loaded, records = [], {}
    for path in paths:
        try:
            loaded.append(load_image(path))
        except CliError as error:
            records[path] = failed_record(path, str(error))
    if loaded:
        parameters: Dict[str, Any] = {"image": [image.workflow_input for image in loaded]}
        if api_key:
            parameters["api_key"] = api_key
        results = engine.run(runtime_parameters=parameters)
        for position, (image, result) in enumerate(zip(loaded, results)):
            outputs = result["llama"]
            run_index = start + paths.index(image.path)
            outputs["error_message"] = outputs["error_message"].replace(
                f"images[{position}]", f"images[{run_index}]"
            )
            records[image.path] = record(image.path, outputs)
            if annotate_dir:
                write_annotated(annotate_dir, image.path, image.pixels, task, outputs)
    return [records[path] for path in paths]


def run_command(args: argparse.Namespace) -> int:
    if args.chunk_size < 1:
        raise UsageError("--chunk-size must be at least 1")
    from llama_vision_block.cli.engine import collect_images, compile_workflow

    if args.model_version is None:
        args.model_version = default_model_version(args)
    api_key = resolve_api_key(args.api_key, args.model_version)
    args.secrets.append(api_key)
    step = _step(args, api_key)
    paths = collect_images(args.sources)
    done = already_done(args.output)
    todo = [path for path in dict.fromkeys(paths) if path not in done]
    if not paths:
        raise CliError("no images found in " + ", ".join(args.sources))
    engine = compile_workflow(_workflow(step)) if todo else None
    task = step.get("task_type", "unconstrained")
    from tqdm import tqdm

    quiet = args.quiet or not sys.stderr.isatty()
    tally = Tally()
    out = _open_output(args.output)
    try:
        with tqdm(total=len(todo), unit="image", file=sys.stderr, disable=quiet) as progress:
            for start, chunk in _chunks(todo, args.chunk_size):
                for line in _run_chunk(engine, chunk, start, api_key, task, args.annotate):
                    tally.add(line)
                    out.write(json.dumps(line, ensure_ascii=False) + "\n")
                out.flush()
                progress.update(len(chunk))
    finally:
        if out is not sys.stdout:
            out.close()
    if not args.quiet:
        skipped = len(set(paths)) - len(todo)
        print(tally.summary() + (f", {skipped} already in {args.output}" if skipped else ""), file=sys.stderr)
    if todo and tally.failed == len(todo):
        print(f"error: every image failed ({tally.failed}); see error_message in the output", file=sys.stderr)
        return 1
    return 0


class Tally:
    """What a run cost: images, failures and the tokens the provider reported."""

    def __init__(self) -> None:
        self.images = self.failed = self.uncounted = 0
        self.input_tokens = self.output_tokens = 0

    def add(self, line: Dict[str, Any]) -> None:
        self.images += 1
        self.failed += bool(line["error_status"])
        counts = (line.get("input_tokens"), line.get("output_tokens"))
        if all(isinstance(count, int) for count in counts):
            self.input_tokens += counts[0]
            self.output_tokens += counts[1]
        elif not line["error_status"]:
            self.uncounted += 1  # answered, but the provider gave no counts

    def summary(self) -> str:
        tokens = f"tokens: {self.input_tokens} in, {self.output_tokens} out"
        if self.uncounted:
            tokens += f" ({self.uncounted} answer(s) without counts from the provider)"
        return f"{self.images} image(s) done, {self.failed} with errors; {tokens}"
