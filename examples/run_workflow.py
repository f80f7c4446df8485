"""Runs a workflow JSON with the llama_vision_block plugin on one or more images.

    CLOUDFLARE_ACCOUNT_ID=... CLOUDFLARE_API_TOKEN=... python examples/run_workflow.py \
        examples/workflows/caption.json examples/images/street_sign.jpg

The images become the workflow input `image` (a batch when several are given);
`--param NAME=VALUE` sets other inputs (VALUE is parsed as JSON when it can be).
The input `api_key` defaults to the key of the provider the workflow's Llama
steps run on ($CLOUDFLARE_API_TOKEN for Cloudflare Workers AI); no other
provider's key is ever filled in. Prints the outputs as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Dict, List, Optional

def _parse_param(text: str) -> tuple:
    name, separator, value = text.partition("=")
    if not separator:
        raise argparse.ArgumentTypeError(f"--param needs NAME=VALUE, got {text!r}")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value


def run(workflow_path: str, image_paths: List[str], params: Dict[str, Any]) -> List[dict]:
    """Compiles the workflow in inference's ExecutionEngine and runs it once."""
    import cv2

    # Adds the plugin to $WORKFLOWS_PLUGINS and builds the engine, steps run locally.
    from llama_vision_block.cli.engine import compile_workflow
    from llama_vision_block.cli.workflow import workflow_api_key

    with open(workflow_path) as file:
        definition = json.load(file)
    images = []
    for path in image_paths:
        image = cv2.imread(path)
        if image is None:
            raise SystemExit(f"error: cannot read image {path!r}")
        images.append(image)
    input_names = {item["name"] for item in definition.get("inputs", [])}
    if "api_key" in input_names and "api_key" not in params:
        params["api_key"] = workflow_api_key(definition, params)
    return compile_workflow(definition).run(
        runtime_parameters={"image": images if len(images) > 1 else images[0], **params},
        serialize_results=True,
    )


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workflow", help="path to a workflow JSON file")
    parser.add_argument("images", nargs="+", help="image files, fed to the input `image`")
    parser.add_argument("--param", action="append", default=[], type=_parse_param, metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    outputs = run(args.workflow, args.images, dict(args.param))
    # Serialised images carry timestamps in their metadata.
    json.dump(outputs, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
