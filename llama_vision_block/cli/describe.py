"""`llama-vision describe`: the block's manifest schema, outputs and providers as JSON.

They are read from a snapshot kept in the package (`block_description.json`), so
`describe` and every `--help` (whose options are the manifest's properties)
answer without importing the Workflows engine. `python -m
llama_vision_block.cli.describe` writes the snapshot from the live manifest; a
test fails when it is stale.
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict

SNAPSHOT = Path(__file__).with_name("block_description.json")

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


@lru_cache(maxsize=1)
def description() -> Dict[str, Any]:
    """The block's type, manifest schema, outputs and providers, from the snapshot."""
    return json.loads(SNAPSHOT.read_text(encoding="utf-8"))


def live_description() -> Dict[str, Any]:
    """The same, read from the manifest itself (imports the engine)."""
    from llama_vision_block.manifest import BLOCK_TYPE, SEED_BLOCK_TYPE, BlockManifest
    from llama_vision_block.providers.registry import PROVIDERS

    described = {
        "type": BLOCK_TYPE,
        "also_answers_to": [SEED_BLOCK_TYPE],
        "schema": BlockManifest.model_json_schema(),
        "outputs": {
            output.name: [kind.name for kind in output.kind]
            for output in BlockManifest.describe_outputs()
        },
        # What the CLI says about each provider and how it picks one by default.
        "providers": [
            {
                "id": spec.id,
                "name": spec.name,
                "blurb": spec.blurb,
                "key_env": spec.key_env,
                "default_label": spec.default_label,
                "needs": [{"env": need.env, "option": need.option} for need in spec.needs],
            }
            for spec in PROVIDERS.values()
        ],
    }
    return json.loads(json.dumps(described, default=str))


def describe_command(args: argparse.Namespace) -> int:
    json.dump(description(), sys.stdout, indent=args.indent or None)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    SNAPSHOT.write_text(json.dumps(live_description(), indent=1) + "\n", encoding="utf-8")
