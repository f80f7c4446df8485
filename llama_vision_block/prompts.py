"""One prompt builder per task type.

A builder returns a provider-neutral `Prompt`: an optional system message and the
user text that follows the image. Providers render it into their own wire format
(`to_chat_messages` gives the OpenAI chat form used by OpenRouter and compatible
servers).

The image always comes before the user text: Llama 3.2 Vision reads the image
through cross-attention, and the image only attends to the text tokens that come
after it in the prompt.

The JSON shapes asked for by the classification and structured tasks are the
ones `roboflow_core/vlm_as_classifier@v2` and `roboflow_core/json_parser@v1`
read, so the block's `output` keeps feeding those parsers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Optional, Sequence

from llama_vision_block.errors import ConfigurationError

# The seed API's limit on a message's content (Workers AI's schema); applied to
# every provider so a workflow behaves the same wherever it runs.
MAX_MESSAGE_CHARS = 131_072


@dataclass(frozen=True)
class Prompt:
    """What the model is told: a system message (optional) and the user's text."""

    system: Optional[str]
    text: str


def build_prompt(
    task_type: str,
    prompt: Optional[str] = None,
    classes: Optional[Sequence[str]] = None,
    output_structure: Optional[Mapping[str, str]] = None,
) -> Prompt:
    """Builds the prompt for `task_type`, checking the values it needs at run time."""
    builder = PROMPT_BUILDERS.get(task_type)
    if builder is None:
        raise ConfigurationError(
            f"`task_type` '{task_type}' is not supported; use one of: "
            f"{', '.join(PROMPT_BUILDERS)}."
        )
    return builder(prompt=prompt, classes=classes, output_structure=output_structure)


def to_chat_messages(prompt: Prompt, image_url: str) -> List[dict]:
    """Renders a prompt in the OpenAI chat-completions form, image first."""
    messages: List[dict] = []
    if prompt.system:
        messages.append({"role": "system", "content": prompt.system})
    messages.append(
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": image_url}},
                {"type": "text", "text": prompt.text},
            ],
        }
    )
    return messages


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


def _unconstrained(prompt: Optional[str], **_: object) -> Prompt:
    return Prompt(system=None, text=_require_prompt(prompt, "unconstrained"))


def _ocr(**_: object) -> Prompt:
    return Prompt(
        system=(
            "You are an OCR engine. Read every piece of text visible in the image and "
            "return it, keeping its reading order and splitting paragraphs the way "
            "they are laid out. Return only the recognised text: no comments, no "
            "descriptions, no formatting."
        ),
        text="Read the text in this image.",
    )


def _visual_question_answering(prompt: Optional[str], **_: object) -> Prompt:
    question = _require_prompt(prompt, "visual-question-answering")
    return Prompt(
        system=(
            "You answer questions about the image. Answer open questions in a few "
            "sentences. For multiple-choice questions answer with the letter or "
            "label of the chosen option only."
        ),
        text=f"Question: {question}",
    )


def _caption(**_: object) -> Prompt:
    return Prompt(
        system="You write image captions. Describe the image in one short sentence.",
        text="Write a short caption for this image.",
    )


def _detailed_caption(**_: object) -> Prompt:
    return Prompt(
        system=(
            "You write image captions. Describe the image in detail: the scene, the "
            "main objects, their attributes and positions, and any visible text."
        ),
        text="Write a detailed description of this image.",
    )


def _classification(classes: Optional[Sequence[str]], **_: object) -> Prompt:
    names = _require_classes(classes, "classification")
    return Prompt(
        system=(
            "You are a single-label image classifier. Choose exactly one class from "
            "the user's list: the one that best describes the image. Reply with one "
            "JSON object inside ```json markers and nothing else, shaped like "
            '{"class_name": "<one of the classes>", "confidence": 0.8}, where '
            "confidence is a number from 0.0 to 1.0."
        ),
        text=f"Classes: {', '.join(names)}",
    )


def _multi_label_classification(
    classes: Optional[Sequence[str]], **_: object
) -> Prompt:
    names = _require_classes(classes, "multi-label-classification")
    return Prompt(
        system=(
            "You are a multi-label image classifier. From the user's list, choose "
            "every class that is visible in the image. Reply with one JSON object "
            "inside ```json markers and nothing else, shaped like "
            '{"predicted_classes": [{"class": "<class>", "confidence": 0.9}]}, '
            "where confidence is a number from 0.0 to 1.0. Use an empty list when "
            "no class is visible."
        ),
        text=f"Classes: {', '.join(names)}",
    )


def _structured_answering(
    output_structure: Optional[Mapping[str, str]], **_: object
) -> Prompt:
    fields = _require_output_structure(output_structure)
    return Prompt(
        system=(
            "You extract information from images as JSON. The user gives a "
            "dictionary whose keys are the fields to return and whose values "
            "describe each field. Reply with one JSON object inside ```json markers "
            "that has every one of those keys, and nothing else."
        ),
        text=f"Fields to return:\n{json.dumps(dict(fields), indent=2)}",
    )


def _object_detection(classes: Optional[Sequence[str]], **_: object) -> Prompt:
    names = _require_classes(classes, "object-detection")
    return Prompt(
        system=(
            "You are an object detector. Find every instance of the user's classes in "
            "the image. Reply with one JSON object inside ```json markers and nothing "
            'else, shaped like {"detections": [{"class": "<class>", "box": '
            '[x_min, y_min, x_max, y_max], "confidence": 0.9}]}. Box coordinates are '
            "fractions of the image width and height, from 0.0 to 1.0, measured from "
            "the top-left corner. Use an empty list when no class is visible."
        ),
        text=f"Classes: {', '.join(names)}",
    )


PROMPT_BUILDERS: Dict[str, Callable[..., Prompt]] = {
    "unconstrained": _unconstrained,
    "ocr": _ocr,
    "visual-question-answering": _visual_question_answering,
    "caption": _caption,
    "detailed-caption": _detailed_caption,
    "classification": _classification,
    "multi-label-classification": _multi_label_classification,
    "structured-answering": _structured_answering,
    "object-detection": _object_detection,
}
