"""`llama-vision describe`: the block's manifest schema and outputs as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Dict

DESCRIPTION = "Print the block's manifest JSON schema and its outputs (name -> kinds) as JSON."
EPILOG = """examples:
  llama-vision describe
  llama-vision describe | jq '.schema.properties | keys'
"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "describe", help=DESCRIPTION, description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--indent", type=int, default=2, help="JSON indentation (default 2; 0 for one line)")
    parser.set_defaults(handler=describe_command)


def description() -> Dict[str, Any]:
    from llama_vision_block.manifest import BLOCK_TYPE, SEED_BLOCK_TYPE, BlockManifest

    return {
        "type": BLOCK_TYPE,
        "also_answers_to": [SEED_BLOCK_TYPE],
        "schema": BlockManifest.model_json_schema(),
        "outputs": {
            output.name: [kind.name for kind in output.kind]
            for output in BlockManifest.describe_outputs()
        },
    }


def describe_command(args: argparse.Namespace) -> int:
    json.dump(description(), sys.stdout, indent=args.indent or None, default=str)
    sys.stdout.write("\n")
    return 0
