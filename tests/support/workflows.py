"""Compiling and running workflow JSON through inference's real ExecutionEngine."""

from __future__ import annotations

from typing import Any, Dict, List

from llama_vision_block.cli.engine import compile_workflow

# A caption step on OpenRouter with the key from `$inputs.api_key`; tests add to it.
CAPTION_STEP = {
    "type": "llama_vision_block/llama_3_2_vision@v1",
    "task_type": "caption",
    "api_key": "$inputs.api_key",
    "model_version": "11B (Regular) - OpenRouter",
}
API_KEY_INPUT = [{"type": "WorkflowParameter", "name": "api_key"}]


def run_workflow(
    definition: Dict[str, Any], runtime_parameters: Dict[str, Any]
) -> List[Dict[str, Any]]:
    return compile_workflow(definition).run(runtime_parameters=runtime_parameters)


def single_step_workflow(step: Dict[str, Any], inputs: List[Dict[str, Any]] = ()) -> Dict[str, Any]:
    """A workflow with one image input and the given step; output `llama` holds all its outputs."""
    return {
        "version": "1.0",
        "inputs": [{"type": "WorkflowImage", "name": "image"}, *inputs],
        "steps": [{"name": "llama", "images": "$inputs.image", **step}],
        "outputs": [{"type": "JsonField", "name": "llama", "selector": "$steps.llama.*"}],
    }
