"""`llama-vision run`: one task over images, results as JSON Lines."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Dict, Iterator, List, Optional, Tuple

from llama_vision_block.cli.errors import CliError, UsageError
from llama_vision_block.errors import UnreachableError
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

With --output, a rerun continues the file: it sends the images not in it yet and
every image whose line says error_status true, and puts the new line in the old
one's place (one line per image, in order). A file written with other settings
(task, prompt, classes, model, sampling, ...) is refused; --force starts it anew.
Each line has the image's token counts and the settings that made it; the summary
on stderr totals them. The exit code is 1 when every image sent failed.
"""
DEFAULT_CHUNK_SIZE = 16


def add_parser(subparsers: Any, block_options: bool = True) -> None:
    parser = subparsers.add_parser(
        "run", help=DESCRIPTION, description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("sources", nargs="+", metavar="IMAGE_OR_FOLDER", help="image files and folders of images (jpg, jpeg, png, bmp, webp)")
    parser.add_argument("--output", "-o", metavar="FILE.jsonl", help="write results here instead of printing them; a rerun sends only the images not answered in it yet")
    parser.add_argument("--force", action="store_true", help="with --output: start the file anew, even if it holds answers made with other settings")
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
    if args.force and not args.output:
        raise UsageError("--force starts an --output file anew; give --output FILE.jsonl")
    from llama_vision_block.cli.engine import collect_images, compile_workflow
    from llama_vision_block.cli.output_file import OutputFile, answer_settings

    if args.model_version is None:
        args.model_version = default_model_version(args)
    api_key = resolve_api_key(args.api_key, args.model_version)
    args.secrets.append(api_key)
    step = _step(args, api_key)
    paths = list(dict.fromkeys(collect_images(args.sources)))
    if not paths:
        raise CliError("no images found in " + ", ".join(args.sources))
    settings = answer_settings(step)
    output = OutputFile(args.output, settings, force=args.force) if args.output else None
    todo = output.pending(paths) if output else paths
    retried = output.failed_before(todo) if output else 0
    quiet = args.quiet or not sys.stderr.isatty()  # no bar and no notes for a script
    if todo and not quiet:  # the engine takes seconds to load: say so at once
        print(f"llama-vision run: {len(todo)} image(s) to send to {args.model_version}; loading the Workflows engine ...", file=sys.stderr, flush=True)
    engine = compile_workflow(_workflow(step)) if todo else None
    task = step.get("task_type", "unconstrained")
    try:
        tally, left = send_all(
            engine, todo, api_key, task, settings, output, chunk_size=args.chunk_size, annotate=args.annotate, quiet=quiet
        )
    finally:
        if output:
            output.close()
    if not args.quiet:
        print(tally.summary() + _resumed(len(paths) - len(todo), retried, args.output), file=sys.stderr)
    if left:  # nothing could be reached: the rest would fail the same way
        shown = ", ".join(left[:5]) + (", ..." if len(left) > 5 else "")
        print(f"error: stopped, nothing could be reached ({tally.first_error}); "
              f"{len(left)} image(s) not attempted: {shown}", file=sys.stderr)
        return 1
    if todo and tally.failed == len(todo):
        print(f"error: every image failed ({tally.failed}); see error_message in the output", file=sys.stderr)
        return 1
    return 0


def send_all(
    engine: Any, todo: List[str], api_key: Optional[str], task: str, settings: Dict[str, Any], output: Any,
    chunk_size: int = DEFAULT_CHUNK_SIZE, annotate: Optional[str] = None, quiet: bool = False,
) -> Tuple["Tally", List[str]]:
    """Sends `todo` through the compiled `engine` in chunks, each image's line to
    `output` (an OutputFile) or stdout as it comes, with a progress bar unless
    `quiet`. Returns the tally and the images left unsent because nothing could be
    reached."""
    from tqdm import tqdm

    from llama_vision_block.cli.output_file import SETTINGS_FIELD

    tally = Tally()
    with tqdm(total=len(todo), unit="image", file=sys.stderr, disable=quiet) as progress:
        for start, chunk in _chunks(todo, chunk_size):
            for line in _run_chunk(engine, chunk, start, api_key, task, annotate):
                line[SETTINGS_FIELD] = settings
                tally.add(line)
                progress.set_postfix_str(tally.so_far(), refresh=False)
                if output:
                    output.write(line)
                else:
                    sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
            (output or sys.stdout).flush()
            progress.update(len(chunk))
            if tally.all_unreachable():  # nothing could be reached: the rest would fail the same way
                return tally, todo[start + len(chunk):]
    return tally, []


def _resumed(skipped: int, retried: int, output: Optional[str]) -> str:
    said = f", {skipped} already answered in {output}" if skipped else ""
    return said + (f", {retried} that had failed sent again" if retried else "")


class Tally:
    """What a run cost: images, failures and the tokens the provider reported."""

    def __init__(self) -> None:
        self.images = self.failed = self.uncounted = self.unreachable = 0
        self.input_tokens = self.output_tokens = 0
        self.first_error = ""

    def all_unreachable(self) -> bool:
        """Whether every image so far failed because no connection could be made."""
        return self.images > 0 and self.unreachable == self.images

    def add(self, line: Dict[str, Any]) -> None:
        self.images += 1
        self.failed += bool(line["error_status"])
        message = line.get("error_message") or ""
        self.unreachable += UnreachableError.PHRASE in message
        self.first_error = self.first_error or message
        counts = (line.get("input_tokens"), line.get("output_tokens"))
        if all(isinstance(count, int) for count in counts):
            self.input_tokens += counts[0]
            self.output_tokens += counts[1]
        elif not line["error_status"]:
            self.uncounted += 1  # answered, but the provider gave no counts

    def so_far(self) -> str:
        """The progress bar's note: errors and tokens so far."""
        return f"{self.failed} error(s), {self.input_tokens}+{self.output_tokens} tokens"

    def summary(self) -> str:
        tokens = f"tokens: {self.input_tokens} in, {self.output_tokens} out"
        if self.uncounted:
            tokens += f" ({self.uncounted} answer(s) without counts from the provider)"
        return f"{self.images} image(s) done, {self.failed} with errors; {tokens}"
