"""The task table: each task type of the block is one entry.

An entry says everything about its task: its name and description in the editor
(inference's own `VLM_TASKS_METADATA` where inference has the task with the same
meaning), the step properties it needs, its prompt (`prompts.py`), how its reply
becomes outputs (`results.py`), the kind of prediction it produces, what an
annotated image says of an answer, and the parser block the editor recommends.
The manifest, the block and the CLI read the table; adding a task is one entry
(and its prompt builder, and its interpreter when it asks for JSON).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Dict, FrozenSet, Literal, Mapping, Optional, Sequence, Tuple

from llama_vision_block import prompts, results, schemas
from llama_vision_block.errors import ConfigurationError
from llama_vision_block.prompts import Prompt
from llama_vision_block.task_inputs import TaskInputs

# The editor's wording, shared by every VLM block of inference.
from inference.core.workflows.core_steps.common.vlms import VLM_TASKS_METADATA

Outputs = Dict[str, Any]
# The seed block's max_tokens: what a step that sets none gets, so seed workflows
# keep their behaviour.
SEED_MAX_TOKENS = 500
# Object detection's answers are long: this leaves a constrained answer room for
# at least 50 boxes of class names up to 50 characters (docs/block.md has the table).
DETECTION_MAX_TOKENS = 6144


@dataclass(frozen=True)
class TaskSpec:
    """One task type of the block."""

    name: str
    description: str
    # Step properties the task cannot do without: "prompt", "classes", "output_structure".
    needs: FrozenSet[str]
    build_prompt: Callable[[TaskInputs], Prompt]
    # Turns the reply into outputs; None for tasks whose answer is the text itself.
    interpret: Optional[results.Interpreter] = None
    # "classification" or "object-detection" for tasks that fill `predictions`.
    prediction: Optional[str] = None
    # The one line an annotated image shows for an answer, or None to show the text.
    summary: Callable[[Outputs], Optional[str]] = lambda outputs: None
    recommended_parser: Optional[str] = None
    # The JSON schema its answer must match, from the step's classes or
    # output_structure and max_tokens (`schemas.py`); None where it is free text.
    json_schema: Optional[Callable[[TaskInputs, int], Mapping[str, Any]]] = None
    # `max_tokens` for a step that sets none.
    default_max_tokens: int = SEED_MAX_TOKENS


def _editor(task: str) -> Tuple[str, str]:
    meta = VLM_TASKS_METADATA[task]
    return meta["name"], meta["description"]


def _top_class(outputs: Outputs) -> Optional[str]:
    predictions = outputs.get("predictions")
    if isinstance(predictions, dict) and "top" in predictions:
        return f"{predictions['top']} ({float(predictions.get('confidence') or 0.0):.2f})"
    return None


def _predicted_classes(outputs: Outputs) -> Optional[str]:
    predictions = outputs.get("predictions")
    if isinstance(predictions, dict):
        return ", ".join(map(str, predictions.get("predicted_classes", []))) or "(no class)"
    return None


def _structured(outputs: Outputs) -> Optional[str]:
    value = outputs.get("structured_output")
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _detections(outputs: Outputs) -> Optional[str]:
    predictions = outputs.get("predictions")
    return None if predictions is None else f"{len(predictions)} detection(s)"


TASKS: Dict[str, TaskSpec] = {
    "unconstrained": TaskSpec(*_editor("unconstrained"), frozenset({"prompt"}), prompts.unconstrained),
    "ocr": TaskSpec(*_editor("ocr"), frozenset(), prompts.ocr),
    "visual-question-answering": TaskSpec(
        *_editor("visual-question-answering"), frozenset({"prompt"}), prompts.visual_question_answering
    ),
    "caption": TaskSpec(*_editor("caption"), frozenset(), prompts.caption),
    "detailed-caption": TaskSpec(*_editor("detailed-caption"), frozenset(), prompts.detailed_caption),
    "classification": TaskSpec(
        *_editor("classification"), frozenset({"classes"}), prompts.classification,
        interpret=results.single_label, prediction="classification", summary=_top_class,
        recommended_parser="roboflow_core/vlm_as_classifier@v2", json_schema=schemas.classification,
    ),
    "multi-label-classification": TaskSpec(
        *_editor("multi-label-classification"), frozenset({"classes"}), prompts.multi_label_classification,
        interpret=results.multi_label, prediction="classification", summary=_predicted_classes,
        recommended_parser="roboflow_core/vlm_as_classifier@v2", json_schema=schemas.multi_label_classification,
    ),
    # inference has no "Structured Output Generation" in its table.
    "structured-answering": TaskSpec(
        "Structured Output Generation", "Model returns a JSON response with the specified fields",
        frozenset({"output_structure"}), prompts.structured_answering,
        interpret=results.structured, summary=_structured, recommended_parser="roboflow_core/json_parser@v1",
        json_schema=schemas.structured_answering,
    ),
    # inference's "object-detection" means unprompted detection; this one finds the
    # given classes, as inference's open-vocabulary task does.
    "object-detection": TaskSpec(
        "Object Detection", "Model detects the provided classes and returns their bounding boxes",
        frozenset({"classes"}), prompts.object_detection,
        interpret=results.object_detection, prediction="object-detection", summary=_detections,
        json_schema=schemas.object_detection, default_max_tokens=DETECTION_MAX_TOKENS,
    ),
}

TaskType = Literal[tuple(TASKS)]  # type: ignore[valid-type]
TASK_TYPES: Tuple[str, ...] = tuple(TASKS)


def task_spec(task_type: str) -> TaskSpec:
    """The table's entry for `task_type`, or an error that lists the task types."""
    spec = TASKS.get(task_type) if isinstance(task_type, str) else None
    if spec is None:
        raise ConfigurationError(
            f"`task_type` '{task_type}' is not supported; use one of: {', '.join(TASKS)}."
        )
    return spec


def build_prompt(
    task_type: str,
    prompt: Optional[str] = None,
    classes: Optional[Sequence[str]] = None,
    output_structure: Optional[Mapping[str, str]] = None,
) -> Prompt:
    """Builds the prompt for `task_type`, checking the values it needs at run time."""
    return task_spec(task_type).build_prompt(TaskInputs(prompt=prompt, classes=classes, output_structure=output_structure))


def tasks_with_schema() -> Tuple[str, ...]:
    """The task types whose answer has a JSON schema (constrained decoding applies)."""
    return tuple(task for task, spec in TASKS.items() if spec.json_schema is not None)


def tasks_needing(value: str) -> Tuple[str, ...]:
    """The task types that need the step property `value`."""
    return tuple(task for task, spec in TASKS.items() if value in spec.needs)
