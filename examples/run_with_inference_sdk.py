"""Runs an example workflow on a running inference server, through inference_sdk.

Start the server with this plugin loaded (see docs/cli.md), then:

    CLOUDFLARE_API_TOKEN=... python examples/run_with_inference_sdk.py \
        --api-url http://127.0.0.1:9001 \
        examples/workflows/structured_answering.json examples/images/street_sign.jpg

The workflow JSON is sent as the specification; the server runs it and the
outputs come back as JSON. The server needs CLOUDFLARE_ACCOUNT_ID in its own
environment; the token travels as the workflow's `api_key` input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import List, Optional

from inference_sdk import InferenceHTTPClient


def run(api_url: str, workflow_path: str, image_path: str, api_key: Optional[str]) -> list:
    """Sends the workflow and the image to the server and returns its outputs."""
    with open(workflow_path) as file:
        specification = json.load(file)
    client = InferenceHTTPClient(api_url=api_url)
    return client.run_workflow(
        specification=specification,
        images={"image": image_path},
        parameters={"api_key": api_key},
        excluded_fields=["annotated"],  # images are large; print the rest
    )


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workflow")
    parser.add_argument("image")
    parser.add_argument("--api-url", default="http://127.0.0.1:9001")
    args = parser.parse_args(argv)
    outputs = run(args.api_url, args.workflow, args.image, os.environ.get("CLOUDFLARE_API_TOKEN"))
    json.dump(outputs, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
