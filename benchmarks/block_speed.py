"""Wall time, CPU time and bytes per image: this block against a full-resolution baseline.

Run from the repository root: `.venv/bin/python benchmarks/block_speed.py`.

A loopback backend (a subprocess, so its CPU is not counted) answers every request
after 200 ms. 64 frames of 1920x1080 go through the block in inference's real
ExecutionEngine with 16 concurrent requests: the ideal is ceil(64/16) x 0.2 s = 0.8 s.
The baseline does what inference's own Llama block does, in the same process:
encode every frame at full resolution (JPEG quality 95), one after another, then
send them 16 at a time through the openai SDK. A third run shows what this machine
allows at all: request bodies built before timing, sent through the standard
library's bare `http.client`, no engine and no preparation.
"""

from __future__ import annotations

import base64
import http.client
import json
import math
import os
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Dict, List

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import openai  # noqa: E402
from inference.core.workflows.execution_engine.entities.base import (  # noqa: E402
    ImageParentMetadata,
    WorkflowImageData,
)

from benchmarks import loopback_backend  # noqa: E402
from llama_vision_block.cli.engine import compile_workflow  # noqa: E402
from llama_vision_block.images import prepare_image  # noqa: E402
from llama_vision_block.prompts import to_chat_messages  # noqa: E402
from llama_vision_block.results import reply_outputs  # noqa: E402
from llama_vision_block.task_inputs import TaskInputs  # noqa: E402
from llama_vision_block.tasks import build_prompt, task_spec  # noqa: E402

FRAMES, CONCURRENCY, LATENCY_S, REPEATS = 64, 16, 0.2, 3
IDEAL_S = math.ceil(FRAMES / CONCURRENCY) * LATENCY_S
SIZES = [(640, 480), (1920, 1080), (3840, 2160)]


def natural_frame(width: int, height: int, seed: int = 0) -> np.ndarray:
    """Smooth gradients, edges and mild noise: compresses like a camera frame, not like noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    frame = np.stack([(x / 8 + seed) % 256, (y / 5) % 256, ((x + y) / 11) % 256], -1).astype(np.uint8)
    cv2.rectangle(frame, (width // 5, height // 4), (width // 2, height // 2), (30, 30, 200), -1)
    return cv2.add(frame, rng.integers(0, 12, frame.shape, dtype=np.uint8))


def workflow_image(frame: np.ndarray) -> WorkflowImageData:
    return WorkflowImageData(parent_metadata=ImageParentMetadata(parent_id="f"), numpy_image=frame)


def request_bytes(origin: str) -> List[int]:
    return loopback_backend.stats(origin)["request_bytes"]


def measure(run: Callable[[], None]) -> Dict[str, float]:
    walls, cpus = [], []
    for _ in range(REPEATS):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {"wall": statistics.median(walls), "cpu": statistics.median(cpus)}


def block_run(origin: str, frames: List[np.ndarray]) -> Callable[[], None]:
    engine = compile_workflow(
        {
            "version": "1.0",
            "inputs": [{"type": "WorkflowImage", "name": "image"}],
            "steps": [{
                "type": "llama_vision_block/llama_3_2_vision@v1", "name": "llama", "images": "$inputs.image",
                "task_type": "caption", "model_version": "11B - OpenAI-compatible server",
                "base_url": f"{origin}/v1", "max_concurrent_requests": CONCURRENCY,
            }],
            "outputs": [{"type": "JsonField", "name": "caption", "selector": "$steps.llama.output"}],
        }
    )
    return lambda: engine.run(runtime_parameters={"image": frames})


def baseline_run(origin: str, frames: List[np.ndarray]) -> Callable[[], None]:
    client = openai.OpenAI(base_url=f"{origin}/v1", api_key="bench", max_retries=0)
    prompt = build_prompt("caption")

    def run() -> None:
        encoded = [full_resolution_jpeg(frame) for frame in frames]  # one after another, first
        urls = [f"data:image/jpeg;base64,{base64.b64encode(data).decode()}" for data in encoded]
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            list(pool.map(lambda url: client.chat.completions.create(
                model="bench", messages=to_chat_messages(prompt, url), max_tokens=500, temperature=0.1), urls))

    return run


def floor_run(origin: str, frames: List[np.ndarray]) -> Callable[[], None]:
    """The same requests with every cost but the HTTP exchange itself taken out."""
    prompt = build_prompt("caption")
    bodies = [
        json.dumps({"model": "bench", "messages": to_chat_messages(
            prompt, prepare_image(workflow_image(frame), "f").data_url()), "max_tokens": 500}).encode()
        for frame in frames
    ]
    host, port = origin.removeprefix("http://").split(":")
    connections = threading.local()  # one kept-alive connection per worker thread

    def send(body: bytes) -> object:
        if not hasattr(connections, "current"):
            connections.current = http.client.HTTPConnection(host, int(port))
        connections.current.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
        return json.loads(connections.current.getresponse().read())

    def run() -> None:
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            list(pool.map(send, bodies))

    return run


def full_resolution_jpeg(frame: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()


def own_cpu_ms(frame: np.ndarray) -> Dict[str, float]:
    """Thread CPU of the block's own work for one frame: preparation, request body, parsing."""
    image = workflow_image(frame)
    prompt = build_prompt("structured-answering", output_structure={"street": "name", "cars": "count"})
    reply = '```json\n{"street": "Main St", "cars": 2}\n```'

    def thread_ms(work: Callable[[], object], n: int = 30) -> float:
        samples = []
        for _ in range(n):
            start = time.thread_time()
            work()
            samples.append((time.thread_time() - start) * 1000)
        return statistics.median(samples)

    encoded = prepare_image(image, "frame")
    return {
        "prepare": thread_ms(lambda: prepare_image(image, "frame")),
        "request": thread_ms(lambda: json.dumps({"messages": to_chat_messages(prompt, encoded.data_url())})),
        "parse": thread_ms(lambda: reply_outputs(
            task_spec("structured-answering").interpret, reply, image, TaskInputs(output_structure={"street": "", "cars": ""})
        )),
    }


def main() -> None:
    process, origin = loopback_backend.start(LATENCY_S)
    try:
        frames = [natural_frame(1920, 1080, seed=i) for i in range(FRAMES)]
        runs = {
            "this block": block_run(origin, frames),
            "full-resolution, one-after-another baseline": baseline_run(origin, frames),
            "floor: bare http.client, bodies built in advance": floor_run(origin, frames),
        }
        results = {}
        for name, run in runs.items():
            run()  # warm up: imports, first connections
            request_bytes(origin)
            results[name] = (measure(run), statistics.median(request_bytes(origin)))
    finally:
        process.terminate()

    print(f"{FRAMES} frames of 1920x1080, {CONCURRENCY} concurrent requests, backend answers in "
          f"{LATENCY_S * 1000:.0f} ms; ideal {IDEAL_S:.2f} s; median of {REPEATS} runs; "
          f"{os.cpu_count()} CPU cores\n")
    print("| run | wall s | x ideal | process CPU ms per frame | request KB per frame |")
    print("| --- | --- | --- | --- | --- |")
    for name, (figures, size) in results.items():
        print(f"| {name} | {figures['wall']:.2f} | {figures['wall'] / IDEAL_S:.2f} | "
              f"{figures['cpu'] / FRAMES * 1000:.1f} | {size / 1024:.0f} |")

    cpu = own_cpu_ms(natural_frame(1920, 1080))
    print("\n| the block's own CPU per 1080p frame | ms |")
    print("| --- | --- |")
    for part, value in cpu.items():
        print(f"| {part} | {value:.2f} |")
    print(f"| total | {sum(cpu.values()):.2f} |")

    print("\n| frame | sent as | bytes sent | full-resolution JPEG (q95) | share |")
    print("| --- | --- | --- | --- | --- |")
    for width, height in SIZES:
        frame = natural_frame(width, height)
        sent = prepare_image(workflow_image(frame), "f")
        full = len(full_resolution_jpeg(frame))
        print(f"| {width}x{height} | {sent.width}x{sent.height} | {len(sent.data):,} | {full:,} | {len(sent.data) / full:.1%} |")


if __name__ == "__main__":
    main()
