"""What many distinct base URLs (or keys) cost a long-running server's memory.

A caller of a shared server can name a new `base_url` (or send a new key) with
every request. This sends one request per distinct base URL, and per distinct key,
to a loopback server (benchmarks/loopback_backend.py, no latency), through the
providers' own `create_backend(...).complete(...)`, and prints the growth of this
process's resident memory and the number of HTTP clients kept.

    .venv/bin/python benchmarks/client_memory.py [--count 600]
"""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import loopback_backend  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * 4096 / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=600)
    args = parser.parse_args()

    from llama_vision_block.images import encode_image
    from llama_vision_block.model_versions import ModelVariant
    from llama_vision_block.prompts import Prompt
    from llama_vision_block.providers.registry import create_backend
    from llama_vision_block.providers.base import Generation, ProviderSettings, VisionRequest
    from llama_vision_block.providers.remote.clients import CLIENTS

    backend_process, origin = loopback_backend.start(0)
    port = int(origin.rsplit(":", 1)[1])
    generation = Generation(max_tokens=8, temperature=0.0)
    request = VisionRequest(Prompt(text="hi"), encode_image(np.zeros((32, 32, 3), np.uint8)), generation)
    variant = ModelVariant("openai-compatible", "m")
    rows = []
    try:
        for label, settings_for in (
            ("distinct base URLs", lambda i: ProviderSettings(options={"base_url": f"http://127.0.0.1:{port}/tenant-{i}/v1"})),
            ("distinct keys", lambda i: ProviderSettings(api_key=f"key-{i:08d}", options={"base_url": f"http://127.0.0.1:{port}/v1"})),
        ):
            gc.collect()
            before = rss_mb()
            for index in range(args.count):
                create_backend(variant, settings_for(index), generation).complete(request)
            gc.collect()
            rows.append((label, args.count, rss_mb() - before, len(CLIENTS)))
    finally:
        backend_process.terminate()
    print("| requests with | requests | RSS growth MB | HTTP clients kept |")
    print("| --- | --- | --- | --- |")
    for label, count, growth, clients in rows:
        print(f"| {label} | {count} | {growth:.0f} | {clients} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
