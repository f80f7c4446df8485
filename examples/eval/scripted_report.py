"""The report docs/eval.md shows, made without a model: two scripted candidates.

Run from the repository root: `.venv/bin/python examples/eval/scripted_report.py REPORT_DIR`.

A loopback server stands in for a provider and answers each example image with a
reply written here in advance, as if two candidates had answered: "careful" gets
every shape right, "hasty" calls triangles squares. `llama-vision eval` then runs
for real (the engine, the block, the answers files, the scoring, the report)
over examples/eval/shapes. It shows what a report looks like; it measures no model.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from llama_vision_block.cli import main  # noqa: E402

# What each candidate says to the shape it is shown: "careful" is wrong once (the
# blue triangle), "hasty" calls every triangle a square.
CANDIDATES = {"careful": {"circle": "circle", "square": "square", "triangle": "triangle", "blue triangle": "square"},
              "hasty": {"circle": "circle", "square": "square", "triangle": "square", "blue triangle": "square"}}
TOKENS = {"careful": (180, 12), "hasty": (90, 6)}


def shape_of(body: dict) -> str:
    """The shape in the request's image (only its pixels travel), told by how much of
    its bounding box it fills; a triangle drawn in blue is told apart."""
    import base64

    import cv2
    import numpy as np

    url = next(part["image_url"]["url"] for message in body["messages"] for part in message["content"]
               if isinstance(part, dict) and part.get("type") == "image_url")
    pixels = cv2.imdecode(np.frombuffer(base64.b64decode(url.split(",", 1)[1]), np.uint8), cv2.IMREAD_COLOR)
    mask = pixels.min(axis=2) < 200  # the shape, on a light background
    rows, columns = np.nonzero(mask)
    filled = mask.sum() / ((rows.max() - rows.min() + 1) * (columns.max() - columns.min() + 1))
    shape = "square" if filled > 0.9 else "circle" if filled > 0.7 else "triangle"
    blue, green, red = pixels[mask].mean(axis=0)
    return "blue triangle" if shape == "triangle" and blue > max(green, red) else shape


class Provider(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        candidate = "careful" if body.get("temperature") == 0.0 else "hasty"
        answer = CANDIDATES[candidate][shape_of(body)]
        prompt_tokens, completion_tokens = TOKENS[candidate]
        reply = {
            "id": "scripted", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": json.dumps({"class_name": answer, "confidence": 0.9})}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


def run(report: str) -> int:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    candidates = Path(report) / "candidates.json"
    candidates.parent.mkdir(parents=True, exist_ok=True)
    # The two candidates differ in temperature: that is how the scripted server tells them apart.
    candidates.write_text(json.dumps([
        {"label": "careful", "model_version": "11B - OpenAI-compatible server", "base_url": base_url, "temperature": 0.0},
        {"label": "hasty", "model_version": "11B - OpenAI-compatible server", "base_url": base_url, "temperature": 0.7},
    ]))
    try:
        return main(["eval", "--folders", str(HERE / "shapes"), "--candidates", str(candidates), "--report", report,
                     "--price", "careful=0.05,0.70", "--price", "hasty=0.05,0.70", "--quiet"])
    finally:
        server.shutdown()


if __name__ == "__main__":
    sys.exit(run(sys.argv[1] if len(sys.argv) > 1 else "eval-report"))
