"""`llama-vision workflow`: run any workflow JSON with this plugin loaded."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Dict, List, Optional, Tuple

from llama_vision_block.cli.errors import UsageError, read_json

DESCRIPTION = "Run a workflow JSON with this plugin loaded; print its outputs as JSON."
EPILOG = """examples:
  llama-vision workflow examples/workflows/caption.json --image image=examples/images/street_sign.jpg
  llama-vision workflow examples/workflows/classification.json --image image=a.jpg --image image=b.jpg \\
      --param 'classes=["car", "truck"]'

--image NAME=PATH given more than once for the same NAME makes that input a batch.
--param values are parsed as JSON when they can be (numbers, lists, objects), else
taken as text. The input `api_key`, when the workflow has one and no --param sets it,
defaults to the key of the provider that the workflow's Llama steps run on
($CLOUDFLARE_API_TOKEN for Cloudflare Workers AI), and to nothing when they run on
different providers or on one that needs no key: a workflow file that names its own
server never receives one of your keys.
"""


def _pair(option: str):
    def parse(text: str) -> Tuple[str, str]:
        name, separator, value = text.partition("=")
        if not separator or not name:
            raise argparse.ArgumentTypeError(f"{option} needs NAME=VALUE, got {text!r}")
        return name, value

    return parse


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "workflow", help=DESCRIPTION, description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("workflow", metavar="WORKFLOW.json", help="the workflow definition")
    parser.add_argument("--image", action="append", default=[], type=_pair("--image"), metavar="NAME=PATH", help="an image input")
    parser.add_argument("--param", action="append", default=[], type=_pair("--param"), metavar="NAME=VALUE", help="any other input")
    parser.add_argument("--indent", type=int, default=2, help="JSON indentation (default 2; 0 for one line)")
    parser.add_argument("--save-images", metavar="DIR", help="write image outputs to files in DIR and put their paths in the JSON, instead of base64")
    parser.set_defaults(handler=workflow_command)


def _load_definition(path: str) -> Dict[str, Any]:
    definition = read_json(path, "workflow")
    if isinstance(definition, dict) and "specification" in definition and "steps" not in definition:
        definition = definition["specification"]  # as the Roboflow app exports it
    if not isinstance(definition, dict):
        raise UsageError(f"workflow {path!r} must be a JSON object")
    return definition


def _parameters(args: argparse.Namespace, definition: Dict[str, Any]) -> Dict[str, Any]:
    from llama_vision_block.cli.engine import load_image

    parameters: Dict[str, Any] = {}
    images: Dict[str, List[Any]] = {}
    for name, path in args.image:
        images.setdefault(name, []).append(load_image(path).workflow_input)
    for name, batch in images.items():
        parameters[name] = batch if len(batch) > 1 else batch[0]
    for name, value in args.param:
        try:
            parameters[name] = json.loads(value)
        except json.JSONDecodeError:
            parameters[name] = value
    input_names = {item.get("name") for item in definition.get("inputs", []) if isinstance(item, dict)}
    if "api_key" in input_names and "api_key" not in parameters:
        key = workflow_api_key(definition, parameters)
        if key:
            parameters["api_key"] = key
    return parameters


def workflow_api_key(definition: Dict[str, Any], parameters: Optional[Dict[str, Any]] = None) -> Optional[str]:
    """The key for the workflow's `api_key` input: the variable of the one provider
    every Llama step of the workflow runs on; None when the steps run on several
    providers, on one that needs no key (where a workflow's own base_url could
    point anywhere), or the provider cannot be told before the run. Never the
    generic $LLAMA_VISION_API_KEY, which is `run`'s, for steps the user wrote."""
    from llama_vision_block.cli.options import key_env_for

    envs = {key_env_for(label) for label in llama_model_versions(definition, parameters or {})}
    if len(envs) != 1 or None in envs:
        return None
    return os.environ.get(envs.pop()) or None


def llama_model_versions(definition: Dict[str, Any], parameters: Dict[str, Any]) -> List[Any]:
    """The `model_version` of each step of this block in the workflow, with
    `$inputs.NAME` read from `parameters` or the input's default value."""
    from llama_vision_block.block_types import SEED_BLOCK_TYPE
    from llama_vision_block.model_versions import DEFAULT_MODEL_VERSION, SEED_DEFAULT_MODEL_VERSION

    defaults = {
        item.get("name"): item.get("default_value")
        for item in definition.get("inputs", [])
        if isinstance(item, dict)
    }
    labels = []
    for step in _llama_steps(definition):
        default = SEED_DEFAULT_MODEL_VERSION if step["type"] == SEED_BLOCK_TYPE else DEFAULT_MODEL_VERSION
        label = step.get("model_version", default)
        if isinstance(label, str) and label.startswith("$inputs."):
            name = label[len("$inputs."):]
            label = parameters.get(name, defaults.get(name))
        labels.append(label)
    return labels


def _llama_steps(definition: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The workflow's steps of this block, under either of its types."""
    from llama_vision_block.block_types import BLOCK_TYPE, SEED_BLOCK_TYPE

    steps = definition.get("steps", [])
    return [step for step in steps if isinstance(step, dict) and step.get("type") in (BLOCK_TYPE, SEED_BLOCK_TYPE)]


def workflow_command(args: argparse.Namespace) -> int:
    from llama_vision_block.cli.engine import compile_workflow
    from llama_vision_block.cli.serialize import save_images, to_json_value

    definition = _load_definition(args.workflow)
    parameters = _parameters(args, definition)
    args.secrets.extend(value for name, value in parameters.items() if "key" in name.lower() and isinstance(value, str))
    watched, watches = watch_llama_steps(definition)
    engine = compile_workflow(watched)
    outputs = engine.run(runtime_parameters=parameters, serialize_results=True)
    failures, all_failed = llama_failures(outputs, watches)
    printed = to_json_value(outputs)
    if args.save_images:
        printed = [save_images(result, args.save_images, f"{index}") for index, result in enumerate(printed)]
    json.dump(printed, sys.stdout, indent=args.indent or None, ensure_ascii=False)
    sys.stdout.write("\n")
    for failure in failures:
        sys.stderr.write(f"error: {failure}\n")
    if all_failed:
        sys.stderr.write(f"error: every image failed in step(s) {', '.join(all_failed)}\n")
        return 1
    return 0


# Outputs added to see every Llama step's errors, whatever the workflow outputs;
# taken out of the results before they are printed.
_WATCH = "__llama_vision_watch__"


def watch_llama_steps(definition: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[str, str]]:
    """The definition with an output of each Llama step's `error_message`, and
    which step each added output watches."""
    watches = {
        f"{_WATCH}{step['name']}": step["name"] for step in _llama_steps(definition) if isinstance(step.get("name"), str)
    }
    outputs = [*definition.get("outputs", [])] + [
        {"type": "JsonField", "name": name, "selector": f"$steps.{step}.error_message"} for name, step in watches.items()
    ]
    return {**definition, "outputs": outputs}, watches


def llama_failures(results: List[Dict[str, Any]], watches: Dict[str, str]) -> Tuple[List[str], List[str]]:
    """Takes the watched outputs out of `results`: a line for each image a Llama
    step answered with an error, and the steps that failed every image."""
    lines: List[str] = []
    messages: Dict[str, List[str]] = {step: [] for step in watches.values()}
    for index, result in enumerate(results):
        for name, step in watches.items():
            for message in _flat(result.pop(name, None)):
                messages[step].append(message)
                if message:
                    lines.append(f"step '{step}', image {index}: {message}")
    all_failed = [step for step, said in messages.items() if said and all(said)]
    return lines, all_failed


def _flat(value: Any) -> List[str]:
    """Error messages of a step's output, one per image however deeply nested
    (a step after a crop gives a list per input image)."""
    if isinstance(value, list):
        return [message for item in value for message in _flat(item)]
    return [] if value is None else [str(value)]
