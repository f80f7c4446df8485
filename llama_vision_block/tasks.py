"""The task types the block offers and what each one needs from the step."""

from __future__ import annotations

from typing import Dict, FrozenSet, Literal, Tuple, get_args

TaskType = Literal[
    "unconstrained",
    "ocr",
    "visual-question-answering",
    "caption",
    "detailed-caption",
    "classification",
    "multi-label-classification",
    "structured-answering",
    "object-detection",
]

TASK_TYPES: Tuple[str, ...] = get_args(TaskType)

# Names and descriptions follow the ones the Workflows editor shows for every VLM block.
TASKS_METADATA: Dict[str, Dict[str, str]] = {
    "unconstrained": {
        "name": "Open Prompt",
        "description": "Use any prompt to generate a raw response",
    },
    "ocr": {
        "name": "Text Recognition (OCR)",
        "description": "Model recognizes text in the image",
    },
    "visual-question-answering": {
        "name": "Visual Question Answering",
        "description": "Model answers the question you submit in the prompt",
    },
    "caption": {
        "name": "Captioning (short)",
        "description": "Model provides a short description of the image",
    },
    "detailed-caption": {
        "name": "Captioning",
        "description": "Model provides a long description of the image",
    },
    "classification": {
        "name": "Single-Label Classification",
        "description": "Model classifies the image content as one of the provided classes",
    },
    "multi-label-classification": {
        "name": "Multi-Label Classification",
        "description": "Model classifies the image content as one or more of the provided classes",
    },
    "structured-answering": {
        "name": "Structured Output Generation",
        "description": "Model returns a JSON response with the specified fields",
    },
    "object-detection": {
        "name": "Object Detection",
        "description": "Model detects the provided classes and returns their bounding boxes",
    },
}

TASKS_REQUIRING_PROMPT: FrozenSet[str] = frozenset(
    {"unconstrained", "visual-question-answering"}
)
CLASSIFICATION_TASKS: FrozenSet[str] = frozenset(
    {"classification", "multi-label-classification"}
)
DETECTION_TASKS: FrozenSet[str] = frozenset({"object-detection"})
TASKS_REQUIRING_CLASSES: FrozenSet[str] = CLASSIFICATION_TASKS | DETECTION_TASKS
TASKS_REQUIRING_OUTPUT_STRUCTURE: FrozenSet[str] = frozenset({"structured-answering"})

RECOMMENDED_PARSERS: Dict[str, str] = {
    "structured-answering": "roboflow_core/json_parser@v1",
    "classification": "roboflow_core/vlm_as_classifier@v2",
    "multi-label-classification": "roboflow_core/vlm_as_classifier@v2",
}
