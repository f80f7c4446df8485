"""Many workflows at once against a provider that serves only a few requests at a time.

Run from the repository root: `.venv/bin/python benchmarks/load.py`.

A loopback provider (benchmarks/loopback_backend.py, a subprocess) serves `--limit`
requests at a time, each in `--latency` seconds, and turns the rest away with 429
and `Retry-After` (`--retry-after`), as hosted providers limit an account. K
workflows, each one Llama step over N images with default settings, start at
the same moment:

- in one process: inference's ExecutionEngine, one thread per workflow;
- through `llama-vision serve` (inference's HTTP server): K clients POST /workflows/run;
- through two `llama-vision serve` processes sharing the provider (two servers
  on one account), the clients split between them.

Each with this block and with inference's core Llama block
(`roboflow_core/llama_vision@v2`). The core block calls OpenRouter with the
openai SDK; here its client is pointed at the loopback provider, nothing else
about it changed. Reported: images lost (an image with `error_status`, or every
image of a workflow that failed), the share of requests the provider turned
away, wall time against the limit's ideal (K x N x latency / limit), and
per-workflow latency p50 / p95 over all repeats.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import loopback_backend  # noqa: E402

CORE_BLOCK = "inference's core Llama block"
BLOCKS = {
    "this block": {"type": "llama_vision_block/llama_3_2_vision@v1", "model_version": "11B - OpenAI-compatible server"},
    CORE_BLOCK: {"type": "roboflow_core/llama_vision@v2", "api_key": "bench-openrouter-key"},
}
SERVER_START_LIMIT_S = 240


@dataclass
class Load:
    workflows: int
    images: int
    limit: int
    latency_s: float

    @property
    def ideal_s(self) -> float:
        return self.workflows * self.images * self.latency_s / self.limit


@dataclass
class Outcome:
    """One configuration over its repeats."""

    lost: List[int] = field(default_factory=list)
    rejected_share: List[float] = field(default_factory=list)
    walls: List[float] = field(default_factory=list)
    latencies: List[float] = field(default_factory=list)  # every workflow of every repeat
    peak: int = 0


def workflow(block: str, endpoint: str) -> dict:
    step = {"name": "llama", "images": "$inputs.image", "task_type": "caption", **BLOCKS[block]}
    if "model_version" in step:
        step["base_url"] = endpoint
    return {
        "version": "1.0",
        "inputs": [{"type": "WorkflowImage", "name": "image"}],
        "steps": [step],
        "outputs": [{"type": "JsonField", "name": "answer", "selector": "$steps.llama.*"}],
    }


def lost_images(outputs: Sequence[dict]) -> int:
    """Images of one workflow's outputs that carry no answer."""
    return sum(1 for output in outputs if output["answer"].get("error_status", False))


def png_base64(seed: int) -> str:
    import cv2
    import numpy as np

    pixels = np.random.default_rng(seed).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    return base64.b64encode(cv2.imencode(".png", pixels)[1].tobytes()).decode()


# --- the provider -------------------------------------------------------------------

def point_core_block_at(origin: str) -> None:
    """The core block's OpenAI client, built per request for openrouter.ai, goes to `origin`."""
    from roboflow_workflows.core_steps.common import openrouter

    real = openrouter.OpenAI
    openrouter.OpenAI = lambda base_url, api_key, **rest: real(base_url=f"{origin}/v1", api_key=api_key, **rest)


# --- ways to run K workflows at once ------------------------------------------------------

# (block, images, workflows at once) -> [(seconds, images lost)] per workflow
Runner = Callable[[str, List[str], int], List[tuple]]


def in_process(endpoint: str, workflows: int) -> Runner:
    from inference.core.workflows.execution_engine.entities.base import ImageParentMetadata, WorkflowImageData

    from llama_vision_block.cli.engine import compile_workflow

    compiled: Dict[str, list] = {}

    def run(block: str, images: List[str], at_once: int) -> List[tuple]:
        if block not in compiled:  # compiled once, outside the time measured
            compiled[block] = [compile_workflow(workflow(block, endpoint)) for _ in range(workflows)]
        engines = compiled[block][:at_once]
        inputs = [WorkflowImageData(parent_metadata=ImageParentMetadata(parent_id=str(i)), base64_image=image)
                  for i, image in enumerate(images)]

        def one(engine) -> tuple:
            start = time.perf_counter()
            try:
                lost = lost_images(engine.run(runtime_parameters={"image": inputs}))
            except Exception:  # the step failed: every image of the workflow is lost
                lost = len(images)
            return time.perf_counter() - start, lost

        with ThreadPoolExecutor(at_once) as pool:
            return list(pool.map(one, engines))

    return run


def through_servers(endpoint: str, servers: List[str]) -> Runner:
    def run(block: str, images: List[str], at_once: int) -> List[tuple]:
        body = json.dumps({
            "specification": workflow(block, endpoint),
            "inputs": {"image": [{"type": "base64", "value": image} for image in images]},
        }).encode()

        def one(index: int) -> tuple:
            request = urllib.request.Request(f"{servers[index % len(servers)]}/workflows/run", body,
                                             {"Content-Type": "application/json"})
            start = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=3600) as response:
                    lost = lost_images(json.loads(response.read())["outputs"])
            except urllib.error.HTTPError:  # the workflow failed on the server
                lost = len(images)
            return time.perf_counter() - start, lost

        with ThreadPoolExecutor(at_once) as pool:
            return list(pool.map(one, range(at_once)))

    return run


def start_server(origin: str, log: Path) -> tuple:
    """`llama-vision serve` in a subprocess, allowed to reach the provider, the core
    block pointed at it too."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Any path on the provider: each configuration measured has an endpoint (a gate) of its own.
    env = {**os.environ, "OFFLINE_MODE": "true", "OPENAI_COMPATIBLE_ALLOWED_BASE_URLS": "*"}
    env.pop("_ROBOFLOW_INFERENCE_OFFLINE_MODE_AT_PROCESS_START", None)
    process = subprocess.Popen([sys.executable, __file__, "--serve", str(port), origin],
                               stdout=log.open("w"), stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_START_LIMIT_S
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/info", timeout=2):
                return process, url
        except OSError:
            time.sleep(0.5)
    process.terminate()
    raise RuntimeError(f"llama-vision serve did not start:\n{log.read_text()[-3000:]}")


def serve(port: int, origin: str) -> None:
    """The app `llama-vision serve` runs, under uvicorn as it does."""
    import uvicorn

    from llama_vision_block.cli.serve import build_app

    app = build_app(offline=True)
    point_core_block_at(origin)  # after inference has set up workflows for the server
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


# --- measuring ----------------------------------------------------------------------

def measure(run: Runner, block: str, load: Load, origin: str, repeats: int) -> Outcome:
    images = [png_base64(seed) for seed in range(load.images)]
    outcome = Outcome()
    for _ in range(repeats):
        time.sleep(2 * load.latency_s + 1.0)  # a Retry-After pause of the last run has passed
        loopback_backend.stats(origin)  # forget what came before
        start = time.perf_counter()
        results = run(block, images, load.workflows)
        outcome.walls.append(time.perf_counter() - start)
        stats = loopback_backend.stats(origin)
        outcome.lost.append(sum(lost for _, lost in results))
        outcome.latencies.extend(seconds for seconds, _ in results)
        outcome.rejected_share.append(stats["rejected"] / max(1, stats["served"] + stats["rejected"]))
        outcome.peak = max(outcome.peak, stats["peak"])
    return outcome


def percentile(values: List[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def row(how: str, block: str, load: Load, outcome: Outcome) -> str:
    total = load.workflows * load.images
    cold, warm = outcome.walls[0], statistics.median(outcome.walls[1:] or outcome.walls)
    return (f"| {how} | {block} | {load.workflows} | {max(outcome.lost)} of {total} | "
            f"{outcome.rejected_share[0]:.0%} / {statistics.median(outcome.rejected_share[1:] or outcome.rejected_share):.0%} | "
            f"{cold / load.ideal_s:.2f}x / {warm / load.ideal_s:.2f}x ({warm:.1f} s) | "
            f"{percentile(outcome.latencies, 0.5):.1f} / {percentile(outcome.latencies, 0.95):.1f} s | {outcome.peak} |")


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workflows", type=int, nargs="+", default=[1, 8, 32], help="K: workflows at once")
    parser.add_argument("--images", type=int, default=16, help="N: images per workflow")
    parser.add_argument("--limit", type=int, default=4, help="requests the provider serves at once")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per answer")
    parser.add_argument("--retry-after", default="1", help="Retry-After with each 429")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ways", nargs="+", default=["in one process", "one server", "two servers"],
                        choices=["in one process", "one server", "two servers"])
    parser.add_argument("--blocks", nargs="+", default=list(BLOCKS), choices=list(BLOCKS))
    parser.add_argument("--stated-limit", type=int, metavar="N",
                        help="each process is told it may have N requests in flight ($LLAMA_VISION_PROVIDER_LIMITS)")
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "PROVIDER"), help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.serve:
        return serve(int(arguments.serve[0]), arguments.serve[1])

    if arguments.stated_limit:  # read by this process and the servers it starts
        os.environ["LLAMA_VISION_PROVIDER_LIMITS"] = json.dumps({"openai-compatible": {"concurrent": arguments.stated_limit}})
    loads = [Load(k, arguments.images, arguments.limit, arguments.latency) for k in arguments.workflows]
    provider, origin = loopback_backend.start(arguments.latency, "--limit", str(arguments.limit), "--retry-after", arguments.retry_after)
    servers, rows = [], []
    try:
        with tempfile.TemporaryDirectory() as logs:
            if {"one server", "two servers"} & set(arguments.ways):
                wanted = 2 if "two servers" in arguments.ways else 1
                servers = [start_server(origin, Path(logs) / f"server-{i}.log") for i in range(wanted)]
            if "in one process" in arguments.ways and CORE_BLOCK in arguments.blocks:
                point_core_block_at(origin)
            urls = [url for _, url in servers]
            for way in arguments.ways:
                for load in loads:
                    # The provider answers on any path: a fresh endpoint, so a fresh gate.
                    endpoint = f"{origin}/{way.replace(' ', '-')}-{load.workflows}/v1"
                    run = {
                        "in one process": lambda: in_process(endpoint, load.workflows),
                        "one server": lambda: through_servers(endpoint, urls[:1]),
                        "two servers": lambda: through_servers(endpoint, urls[:2]),
                    }[way]()
                    for block in arguments.blocks:
                        # Warm up (imports, compilation) with one request, which the provider
                        # takes: the first repeat meets its limit cold.
                        run(block, [png_base64(0)], 1)
                        rows.append(row(way, block, load, measure(run, block, load, origin, arguments.repeats)))
                        print(rows[-1], file=sys.stderr, flush=True)
    finally:
        for process, _ in servers:
            process.terminate()
        provider.terminate()

    print(f"{arguments.images} images per workflow; the provider serves {arguments.limit} at a time, "
          f"{arguments.latency * 1000:.0f} ms each, and answers the rest 429 with Retry-After: "
          f"{arguments.retry_after}; default step settings; {arguments.repeats} repeats: the first cold (the "
          f"process has not met the limit before), the rest warm (their median); images lost: the worst "
          f"repeat; {os.cpu_count()} CPU cores"
          + (f"; LLAMA_VISION_PROVIDER_LIMITS gives each process {arguments.stated_limit} in flight"
             if arguments.stated_limit else "") + "\n")
    print("| how | block | workflows at once | images lost | requests rejected, cold / warm | wall / ideal, "
          "cold / warm | workflow latency p50 / p95 | most served at once |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))


if __name__ == "__main__":
    logging.disable(logging.CRITICAL)  # the engine logs every failed step of the core block in full
    main()
