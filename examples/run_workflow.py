"""Runs a workflow JSON with the llama_vision_block plugin on one or more images.

    CLOUDFLARE_ACCOUNT_ID=... CLOUDFLARE_API_TOKEN=... python examples/run_workflow.py \
        examples/workflows/caption.json examples/images/street_sign.jpg

The images become the workflow input `image` (a batch when several are given);
`--param NAME=VALUE` sets other inputs (VALUE is parsed as JSON when it can be).
The input `api_key` defaults to the key of the provider the workflow's Llama
steps run on ($CLOUDFLARE_API_TOKEN for Cloudflare Workers AI); no other
provider's key is ever filled in. Prints the outputs as JSON; each image a
Llama step answered with an error gets a line on stderr, and the exit code is 1
when a step failed every image. This is `llama-vision workflow`, with the
images given the example's way.
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workflow", help="path to a workflow JSON file")
    parser.add_argument("images", nargs="+", help="image files, fed to the input `image`")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)

    from llama_vision_block.cli import main as llama_vision

    command = ["workflow", args.workflow]
    for path in args.images:
        command += ["--image", f"image={path}"]
    for param in args.param:
        command += ["--param", param]
    return llama_vision(command)


if __name__ == "__main__":
    sys.exit(main())
