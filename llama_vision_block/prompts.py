"""The prompt builders of the task types (`tasks.py` says which task uses which).

A builder returns a provider-neutral `Prompt`: the text of the one user turn,
which follows the image. Providers render it into their own wire format
(`to_chat_messages` gives the OpenAI chat form used by OpenRouter and compatible
servers).

There is no system message. Meta's chat template for Llama 3.2 Vision refuses one
beside an image ("Prompting with images is incompatible with system messages."),
and vLLM, SGLang, `transformers serve` and the in-process processor all apply
that template; so each task's instructions go in the user turn, after the image,
as Meta's prompt-format guide for the vision models recommends. The image comes
first because Llama 3.2 Vision reads it through cross-attention, and the image
only attends to the text tokens that come after it.

The JSON shapes asked for by the classification and structured tasks are the
ones `roboflow_core/vlm_as_classifier@v2` and `roboflow_core/json_parser@v1`
read, so the block's `output` keeps feeding those parsers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import List, Mapping, Optional, Sequence

from llama_vision_block.errors import ConfigurationError
from llama_vision_block.task_inputs import TaskInputs

# The seed API's limit on a message's content (Workers AI's schema); applied to
# every provider so a workflow behaves the same wherever it runs.
MAX_MESSAGE_CHARS = 131_072


@dataclass(frozen=True)
class Prompt:
    """What the model is told: the text of the user turn that follows the image."""

    text: str


def to_chat_messages(prompt: Prompt, image_url: str) -> List[dict]:
    """Renders a prompt in the OpenAI chat-completions form: one user turn, image first."""
    return [
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": image_url}},
                {"type": "text", "text": prompt.text},
            ],
        }
    ]


def _require_prompt(prompt: Optional[str], task_type: str) -> str:
    if not isinstance(prompt, str) or not prompt.strip():
        raise ConfigurationError(
            f"`prompt` must be a non-empty string for task_type '{task_type}'; "
            f"set the step's `prompt` (or the input it points to)."
        )
    problem = prompt_length_problem(prompt)
    if problem:
        raise ConfigurationError(problem)
    return prompt


def prompt_length_problem(prompt: object) -> Optional[str]:
    """Why `prompt` is too long, or None; shared by compile- and run-time checks."""
    if isinstance(prompt, str) and len(prompt) > MAX_MESSAGE_CHARS:
        return (
            f"`prompt` is {len(prompt)} characters; the model takes at most "
            f"{MAX_MESSAGE_CHARS}. Shorten it."
        )
    return None


def class_list_problem(classes: object) -> Optional[str]:
    """Why `classes` cannot be used, or None; shared by compile- and run-time checks."""
    if isinstance(classes, str) or not isinstance(classes, (list, tuple)) or not classes:
        return f"`classes` must be a non-empty list of class names; got {classes!r}."
    names = [str(name).strip() for name in classes]
    if not all(names):
        return "`classes` contains an empty class name; remove it."
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        return f"`classes` lists {', '.join(map(repr, repeated))} more than once; give each class once."
    return None


def _require_classes(classes: Optional[Sequence[str]], task_type: str) -> List[str]:
    problem = class_list_problem(classes)
    if problem:
        raise ConfigurationError(f"{problem} (task_type '{task_type}')")
    return [str(name).strip() for name in classes]


def _require_output_structure(
    output_structure: Optional[Mapping[str, str]],
) -> Mapping[str, str]:
    if not isinstance(output_structure, Mapping) or not output_structure:
        raise ConfigurationError(
            "`output_structure` must be a non-empty dictionary of field name -> "
            "description for task_type 'structured-answering'."
        )
    return output_structure


def unconstrained(inputs: TaskInputs) -> Prompt:
    return Prompt(text=_require_prompt(inputs.prompt, "unconstrained"))


def ocr(inputs: TaskInputs) -> Prompt:
    return Prompt(
        text=(
            "Read every piece of text visible in this image and write it out, keeping "
            "its reading order and splitting paragraphs the way they are laid out. "
            "Reply with the recognised text only: no comments, no descriptions, no "
            "formatting."
        )
    )


def visual_question_answering(inputs: TaskInputs) -> Prompt:
    question = _require_prompt(inputs.prompt, "visual-question-answering")
    return Prompt(
        text=(
            "Answer this question about the image. Answer an open question in a few "
            "sentences; for a multiple-choice question, answer with the letter or "
            f"label of the chosen option only.\nQuestion: {question}"
        )
    )


def caption(inputs: TaskInputs) -> Prompt:
    return Prompt(text="Write a caption for this image: describe it in one short sentence.")


def detailed_caption(inputs: TaskInputs) -> Prompt:
    return Prompt(
        text=(
            "Describe this image in detail: the scene, the main objects, their "
            "attributes and positions, and any visible text."
        )
    )


def classification(inputs: TaskInputs) -> Prompt:
    names = _require_classes(inputs.classes, "classification")
    return Prompt(
        text=(
            "Classify this image: choose exactly one class from the list below, the "
            f"one that best describes the image.\nClasses: {', '.join(names)}\n"
            "Reply with one JSON object inside ```json markers and nothing else, "
            'shaped like {"class_name": "<one of the classes>", "confidence": 0.8}, '
            "where confidence is a number from 0.0 to 1.0."
        )
    )


def multi_label_classification(inputs: TaskInputs) -> Prompt:
    names = _require_classes(inputs.classes, "multi-label-classification")
    return Prompt(
        text=(
            "Classify this image: choose every class from the list below that is "
            f"visible in the image.\nClasses: {', '.join(names)}\n"
            "Reply with one JSON object inside ```json markers and nothing else, "
            'shaped like {"predicted_classes": [{"class": "<class>", "confidence": '
            "0.9}]}, where confidence is a number from 0.0 to 1.0. Use an empty list "
            "when no class is visible."
        )
    )


def structured_answering(inputs: TaskInputs) -> Prompt:
    fields = _require_output_structure(inputs.output_structure)
    return Prompt(
        text=(
            "Extract information from this image as JSON. The dictionary below lists "
            "the fields to return, each with a description of its value. Reply with "
            "one JSON object inside ```json markers that has every one of those keys, "
            "and nothing else.\nFields to return:\n"
            f"{json.dumps(dict(fields), indent=2)}"
        )
    )


def object_detection(inputs: TaskInputs) -> Prompt:
    names = _require_classes(inputs.classes, "object-detection")
    return Prompt(
        text=(
            "Find every instance of the classes below in this image.\n"
            f"Classes: {', '.join(names)}\n"
            "Reply with one JSON object inside ```json markers and nothing else, "
            'shaped like {"detections": [{"class": "<class>", "box": [x_min, y_min, '
            'x_max, y_max], "confidence": 0.9}]}. Box coordinates are fractions of the '
            "image width and height, from 0.0 to 1.0, measured from the top-left "
            "corner. Use an empty list when no class is visible."
        )
    )
