"""What constrained decoding costs in process: tokens/s with and without the
task's JSON schema, and the time to compile each schema's grammar.

    .venv/bin/python benchmarks/constrained_decoding.py          # 11B architecture, GPU
    .venv/bin/python benchmarks/constrained_decoding.py --tiny   # tiny checkpoint, CPU

For each JSON task, the constrained run goes first (greedy, at the block's default
max_tokens); the unconstrained run then makes every image generate exactly the
mean length of the constrained replies (`min_new_tokens` = `max_tokens`), so both
runs generate the same tokens for the same images and tokens/s compares like with
like, prefill included. Goal: at
most 10% slower per token, one compile per schema.

The GPU run builds the random-weight 11B model that benchmarks/local_gpu.py builds.
"""

from __future__ import annotations

import argparse
import sys
import shutil
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "tests", ROOT / "benchmarks"):
    sys.path.insert(0, str(path))

import torch  # noqa: E402

from llama_vision_block.images import encode_image  # noqa: E402
from llama_vision_block.providers.base import Generation, ProviderSettings, VisionRequest  # noqa: E402
from llama_vision_block.providers.local.backend import create_backend  # noqa: E402
from llama_vision_block.providers.local.grammar import Grammars  # noqa: E402
from llama_vision_block.schemas import response_schema  # noqa: E402
from llama_vision_block.task_inputs import TaskInputs  # noqa: E402
from llama_vision_block.tasks import TASKS, build_prompt  # noqa: E402
from local_gpu import MODEL, build_random_11b, run_requests  # noqa: E402
from support.images import make_image  # noqa: E402
from support.tiny_mllama import build_tiny_mllama  # noqa: E402

MAX_TOKENS = 500  # the block's default
CLASSES = ["car", "bus", "truck", "bicycle", "person", "traffic light"]
STRUCTURE = {"count": "how many vehicles", "colour": "main colour", "text": "any visible text"}
JSON_TASKS = ["classification", "multi-label-classification", "structured-answering", "object-detection"]


def requests_for(task: str, count: int, size: tuple, constrained: bool, length: int = MAX_TOKENS):
    constraint = response_schema(
        TASKS[task].json_schema, "auto", TaskInputs(classes=CLASSES, output_structure=STRUCTURE), MAX_TOKENS
    )
    prompt = build_prompt(task, classes=CLASSES, output_structure=STRUCTURE)
    return [
        VisionRequest(
            prompt,
            encode_image(make_image(*size, seed=i)),
            Generation(max_tokens=length, temperature=0.0),
            response_schema=constraint if constrained else None,
        )
        for i in range(count)
    ]


def timed(backend, requests, concurrent: bool) -> Dict:
    tokens = backend.stats.new_tokens
    replies, wall = run_requests(backend, requests, concurrent)
    return {"wall": wall, "tokens": backend.stats.new_tokens - tokens, "lengths": [r.output_tokens for r in replies]}


def timed_at_length(backend, requests, concurrent: bool, length: int) -> Dict:
    """`timed`, with every reply exactly `length` tokens long (no early end of turn)."""
    config = backend.loaded.model.generation_config
    config.min_new_tokens = length
    try:
        return timed(backend, requests, concurrent)
    finally:
        config.min_new_tokens = None


def compile_times(backend) -> List[str]:
    """Milliseconds to build the tokenizer's grammar data, then each schema's grammar."""
    batcher = backend.loaded.batcher
    start = time.perf_counter()
    grammars = Grammars.for_model(batcher.model, batcher.processor.tokenizer)
    lines = [f"| tokenizer info (once per model) | {1000 * (time.perf_counter() - start):.0f} | |"]
    for task in JSON_TASKS:
        constraint = requests_for(task, 1, (32, 32), True)[0].response_schema
        start = time.perf_counter()
        grammars.compiled(constraint)
        first = time.perf_counter() - start
        start = time.perf_counter()
        grammars.compiled(constraint)  # cached: no second compile
        again = time.perf_counter() - start
        lines.append(f"| {task} | {1000 * first:.0f} (again: {1000 * again:.2f}) | {mask_step_us(grammars, constraint):.0f} |")
    assert grammars.compiles == len(JSON_TASKS)
    return lines


def mask_step_us(grammars, constraint, steps: int = 200) -> float:
    """Microseconds the grammar adds to one decoding step: the mask's own call
    (accept the last token, fill the bitmask, apply it), timed alone while it
    walks a valid answer (always its first allowed token) on random scores."""
    mask = grammars.mask([constraint])
    ids = torch.zeros((1, 1), dtype=torch.long)
    spent, calls = 0.0, 0
    for _ in range(steps):
        scores = torch.randn(1, grammars.vocab_size)
        start = time.perf_counter()
        scores = mask(ids, scores)
        spent += time.perf_counter() - start
        calls += 1
        ids = torch.cat([ids, scores.argmax(dim=1, keepdim=True)], dim=1)
        if mask.finished:
            mask, ids = grammars.mask([constraint]), torch.zeros((1, 1), dtype=torch.long)
    return 1e6 * spent / calls


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="tiny checkpoint on the CPU")
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--image-size", type=int, nargs=2, default=[800, 600], metavar=("W", "H"))
    args = parser.parse_args(argv)
    if not args.tiny and not torch.cuda.is_available():
        parser.error("no CUDA GPU visible to torch; run on a GPU machine, or pass --tiny")
    device = "cpu" if args.tiny else "cuda:0"
    workdir = Path(tempfile.mkdtemp(prefix="llama-vision-constrained-"))
    try:
        checkpoint = (
            build_tiny_mllama(workdir / "tiny") if args.tiny else build_random_11b(workdir / "llama-3.2-11b-vision-random")
        )
        rows = []
        for batch_size, concurrent in ((1, False), (args.batch_size, True)):
            options = {"model_path": str(checkpoint), "device": device, "batch_size": batch_size}
            backend = create_backend(MODEL, ProviderSettings(options=options))
            size = tuple(args.image_size)
            backend.complete(requests_for("classification", 1, size, True)[0])  # warm-up, and compiles
            for task in JSON_TASKS:
                backend.complete(requests_for(task, 1, size, True)[0])  # the task's grammar, compiled
                constrained = timed(backend, requests_for(task, args.images, size, True), concurrent)
                length = max(2, round(constrained["tokens"] / args.images))
                free = timed_at_length(backend, requests_for(task, args.images, size, False, length), concurrent, length)
                rows.append((batch_size, task, constrained, free))
        compiled = compile_times(backend)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    name = torch.cuda.get_device_name(0) if device.startswith("cuda") else "CPU (no GPU)"
    model = "tiny random Mllama" if args.tiny else "random-weight Llama-3.2-11B-Vision architecture, bf16"
    print(f"Device: {name}\nModel: {model}\ntorch {torch.__version__}; {args.images} images of "
          f"{args.image_size[0]}x{args.image_size[1]} per row; greedy; max_tokens {MAX_TOKENS}\n")
    print("| batch size | task | tokens (constrained / not) | constrained tok/s | unconstrained tok/s | constrained slower by |")
    print("|---|---|---|---|---|---|")
    for batch_size, task, constrained, free in rows:
        with_rate, without_rate = constrained["tokens"] / constrained["wall"], free["tokens"] / free["wall"]
        print(f"| {batch_size} | {task} | {constrained['tokens']} / {free['tokens']} | {with_rate:.1f} | "
              f"{without_rate:.1f} | {100 * (without_rate / with_rate - 1):+.1f}% |")
    print("\n| grammar | compile ms | mask per step, us |\n|---|---|---|")
    print("\n".join(compiled))


if __name__ == "__main__":
    main()
