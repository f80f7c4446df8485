"""Throughput of the local-transformers backend: one image at a time vs micro-batches.

Run from the repository root on a machine with a CUDA GPU (about 30 GB of GPU
memory and 25 GB of free disk):

    .venv/bin/python benchmarks/local_gpu.py

It builds a randomly initialised model with the real Llama-3.2-11B-Vision
architecture (written out below from the public config.json of
meta-llama/Llama-3.2-11B-Vision-Instruct) in bf16 on the GPU, saves it with a
tokenizer laid out like Llama 3's (128256 ids, `<|image|>` = 128256) and the real
image processor settings (560-pixel tiles, up to 4 tiles) to a temporary
directory, and loads it back through `create_backend`: the benchmark measures the
backend's own code path (checkpoint check, cache, chat template, micro-batcher,
`generate`). No weights are downloaded; random weights cost the same to run.

Every request asks for exactly `--max-new-tokens` tokens (the checkpoint's
generation_config.json sets min_new_tokens to the same value, since a random
model may emit an end-of-turn token early), so tokens/s = images/s x that count.

Rows: "one at a time" is batch_size=1 with sequential calls from one thread;
"batch N" is batch_size=N with every image submitted at once from its own
thread, as the block does.

`--tiny` runs the same code on the CPU with the tiny test checkpoint
(tests/support/tiny_mllama.py), to check the script itself; its numbers say
nothing about GPU speed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import torch  # noqa: E402

from llama_vision_block.images import encode_image  # noqa: E402
from llama_vision_block.tasks import build_prompt  # noqa: E402
from llama_vision_block.providers.base import Generation, ProviderSettings, VisionRequest  # noqa: E402
from llama_vision_block.providers.local.backend import create_backend  # noqa: E402
from support.images import make_image  # noqa: E402
from support.tiny_mllama import (  # noqa: E402
    build_processor,
    build_tiny_mllama,
    build_tokenizer,
    save_mllama_checkpoint,
)

MODEL = "meta-llama/Llama-3.2-11B-Vision-Instruct"

# meta-llama/Llama-3.2-11B-Vision-Instruct, config.json (10.67e9 parameters).
LLAMA_32_11B_VISION = {
    "image_token_index": 128256,
    "text_config": {
        "vocab_size": 128256,
        "hidden_size": 4096,
        "intermediate_size": 14336,
        "num_hidden_layers": 40,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "cross_attention_layers": [3, 8, 13, 18, 23, 28, 33, 38],
        "hidden_act": "silu",
        "max_position_embeddings": 131072,
        "rms_norm_eps": 1e-05,
        "rope_parameters": {
            "rope_type": "llama3",
            "rope_theta": 500000.0,
            "factor": 8.0,
            "high_freq_factor": 4.0,
            "low_freq_factor": 1.0,
            "original_max_position_embeddings": 8192,
        },
        "tie_word_embeddings": False,
        "bos_token_id": 128000,
        "eos_token_id": [128001, 128008, 128009],
        "pad_token_id": 128004,
    },
    "vision_config": {
        "hidden_size": 1280,
        "intermediate_size": 5120,
        "num_hidden_layers": 32,
        "num_global_layers": 8,
        "attention_heads": 16,
        "intermediate_layers_indices": [3, 7, 15, 23, 30],
        "vision_output_dim": 7680,
        "image_size": 560,
        "patch_size": 14,
        "max_num_tiles": 4,
        "num_channels": 3,
        "norm_eps": 1e-05,
        "supported_aspect_ratios": [[1, 1], [1, 2], [1, 3], [1, 4], [2, 1], [2, 2], [3, 1], [4, 1]],
    },
}


def build_random_11b(directory: Path) -> Path:
    """Saves a random-weight model of the real 11B architecture, built on the GPU in bf16."""
    from transformers import MllamaConfig, MllamaForConditionalGeneration

    torch.manual_seed(0)
    config = MllamaConfig(**json.loads(json.dumps(LLAMA_32_11B_VISION)))
    with torch.device("cuda"):
        model = MllamaForConditionalGeneration._from_config(config, dtype=torch.bfloat16)
    model.eval()
    processor = build_processor(build_tokenizer(128000), tile_size=560, max_tiles=4)
    save_mllama_checkpoint(model, directory, processor)
    del model
    torch.cuda.empty_cache()
    return directory


def pin_reply_length(directory: Path, tokens: int) -> None:
    """Makes every reply exactly `tokens` long: no end-of-turn before that."""
    path = directory / "generation_config.json"
    config = json.loads(path.read_text())
    config["min_new_tokens"] = tokens
    path.write_text(json.dumps(config, indent=2))


def make_requests(count: int, max_new_tokens: int, size: tuple) -> List[VisionRequest]:
    prompt = build_prompt("caption")
    generation = Generation(max_tokens=max_new_tokens, temperature=0.0)
    return [
        VisionRequest(prompt, encode_image(make_image(*size, seed=i)), generation)
        for i in range(count)
    ]


def measure(model_path: Path, device: str, batch_size: int, requests, concurrent: bool) -> Dict:
    backend = create_backend(
        MODEL, ProviderSettings(options={"model_path": str(model_path), "device": device, "batch_size": batch_size})
    )
    backend.complete(requests[0])  # warm-up: kernels, allocator, caches
    stats = backend.stats
    tokens, calls = stats.new_tokens, len(stats.batch_sizes)
    replies, wall = run_requests(backend, requests, concurrent)
    assert len(replies) == len(requests)
    return {
        "batch_size": batch_size,
        "images": len(requests),
        "wall": wall,
        "tokens": stats.new_tokens - tokens,
        "batches": Counter(stats.batch_sizes[calls:]),
    }


def run_requests(backend, requests, concurrent: bool) -> Tuple[List, float]:
    """The replies and the wall time: all requests at once from their own threads
    (as the block sends them), or one after another."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    if concurrent:
        with ThreadPoolExecutor(max_workers=len(requests)) as pool:
            replies = list(pool.map(backend.complete, requests))
    else:
        replies = [backend.complete(request) for request in requests]
    return replies, time.perf_counter() - start


def table(rows: List[Dict], baseline: Dict) -> str:
    lines = [
        "| batch size | images | wall s | images/s | tokens/s | speed-up vs one at a time |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        rate = row["images"] / row["wall"]
        speedup = rate / (baseline["images"] / baseline["wall"])
        lines.append(
            f"| {row['label']} | {row['images']} | {row['wall']:.2f} | {rate:.2f} | "
            f"{row['tokens'] / row['wall']:.1f} | {speedup:.2f}x |"
        )
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--tiny", action="store_true", help="tiny checkpoint on the CPU (checks the script only)"
    )
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--images", type=int, help="images per row (default 32; 16 with --tiny)")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--image-size", type=int, nargs=2, default=[800, 600], metavar=("W", "H"))
    parser.add_argument("--keep", type=Path, help="also keep the checkpoint in this directory")
    args = parser.parse_args(argv)

    if not args.tiny and not torch.cuda.is_available():
        parser.error("no CUDA GPU visible to torch; run on a GPU machine, or pass --tiny")
    device = "cpu" if args.tiny else "cuda:0"
    if args.images is None:
        args.images = 16 if args.tiny else 32
    workdir = Path(tempfile.mkdtemp(prefix="llama-vision-bench-"))
    try:
        started = time.perf_counter()
        if args.tiny:
            checkpoint = build_tiny_mllama(workdir / "tiny")
        else:
            checkpoint = build_random_11b(workdir / "llama-3.2-11b-vision-random")
        pin_reply_length(checkpoint, args.max_new_tokens)
        if args.keep:
            shutil.copytree(checkpoint, args.keep, dirs_exist_ok=True)
        build_s = time.perf_counter() - started
        requests = make_requests(args.images, args.max_new_tokens, tuple(args.image_size))

        started = time.perf_counter()
        baseline = measure(checkpoint, device, 1, requests, concurrent=False)
        baseline["label"] = "1 (one at a time)"
        rows = [baseline]
        for batch_size in args.batch_sizes:
            row = measure(checkpoint, device, batch_size, requests, concurrent=True)
            row["label"] = str(batch_size)
            rows.append(row)
        run_s = time.perf_counter() - started
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    name = torch.cuda.get_device_name(0) if device.startswith("cuda") else "CPU (no GPU)"
    which = "tiny random Mllama (tests/support/tiny_mllama.py)" if args.tiny else (
        "random-weight Llama-3.2-11B-Vision architecture, bf16")
    print(f"Device: {name}")
    print(f"Model: {which}")
    print(f"torch {torch.__version__}; {args.images} images of {args.image_size[0]}x{args.image_size[1]} "
          f"per row; {args.max_new_tokens} new tokens per image; greedy decoding")
    print(f"checkpoint built and saved in {build_s:.1f} s; rows ran in {run_s:.1f} s")
    if args.tiny:
        print("NOTE: tiny model on the CPU: these numbers check the script, "
              "they say nothing about GPU speed.")
    print()
    print(table(rows, baseline))
    print()
    for row in rows:
        formed = ", ".join(f"{size} x{count}" for size, count in sorted(row["batches"].items()))
        print(f"- {row['label']}: generate calls by batch size: {formed}")


if __name__ == "__main__":
    main()
