"""One image's outputs: the reply as text, and parsed into what its task needs."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple
from uuid import uuid4

import supervision as sv
from inference.core.workflows.core_steps.common.vlm_decoding import (
    build_detections,
    parse_multi_class_classification_results,
    parse_multi_label_classification_results,
)
from inference.core.workflows.execution_engine.entities.base import WorkflowImageData
from inference.core.workflows.execution_engine.entities.types import (
    BOOLEAN_KIND,
    DICTIONARY_KIND,
    FLOAT_KIND,
    INFERENCE_ID_KIND,
    INTEGER_KIND,
    LANGUAGE_MODEL_OUTPUT_KIND,
    LIST_OF_VALUES_KIND,
    STRING_KIND,
    Kind,
)

from llama_vision_block.images import PreparedImage
from llama_vision_block.schemas import ReplyCheck
from llama_vision_block.task_inputs import TaskInputs
from llama_vision_block.parsing import (
    MultiLabel,
    Parsed,
    SingleLabel,
    parse_detections,
    parse_multi_label,
    parse_single_label,
    parse_structured,
)


# Reads a reply for a task: (reply, image, inputs, inference id, the size the model
# saw) -> (the output it fills, what parsing gave).
Interpreter = Callable[[str, WorkflowImageData, TaskInputs, str, Tuple[int, int]], Tuple[str, Parsed]]


def reply_outputs(
    interpret: Optional[Interpreter],
    reply: str,
    image: WorkflowImageData,
    inputs: TaskInputs,
    sent: Optional[PreparedImage] = None,
    cut_off_at: Optional[int] = None,
    input_tokens: Optional[int] = None,
    output_tokens: Optional[int] = None,
    check: ReplyCheck = ReplyCheck(),
    latency_s: Optional[float] = None,
) -> Dict[str, Any]:
    """The outputs for a reply: a task with an interpreter (those that ask for JSON)
    gets it parsed.

    `sent` is the image as the model saw it (its sizes, before and after any
    downscale, spare decoding `image` again); `cut_off_at` is `max_tokens` when
    the reply stopped there; the token counts are the provider's (`None` where
    it did not say); `check` is what a reply to a constrained request says of
    itself (`schemas.check_reply`): one the provider did not constrain under
    "required" is not read; one at its bound is read, and flagged.
    """
    outputs = _empty_outputs(output=reply, classes=inputs.classes)
    outputs.update(input_tokens=input_tokens, output_tokens=output_tokens, latency_s=latency_s)
    problems = []
    if not reply.strip():  # never an empty answer that claims success
        problems.append("the model answered with an empty reply")
    held = ""
    if check.ignored is not None:
        problems.append(check.ignored)  # and no answer read from such a reply
    elif interpret is not None:
        name, parsed = interpret(
            reply, image, inputs, outputs["inference_id"], (sent.width, sent.height) if sent else _decoded_size(image)
        )
        if parsed.ok:
            outputs[name] = parsed.value
            held = _size_of(parsed.value, inputs.output_structure)
        problems.extend(problem for problem in (parsed.error, parsed.warning, check.at_bound) if problem)
    if cut_off_at is not None:
        # The answer read so far is kept; the message says how much of it there is.
        problems.insert(0,
            f"the reply was cut off at max_tokens={cut_off_at}{held}; raise `max_tokens` "
            "for complete answers"
        )
    if problems:
        outputs.update(error_status=True, error_message="; ".join(problems))
    return outputs


def _size_of(value: Any, output_structure: Optional[Mapping[str, str]]) -> str:
    """How much of an answer was read, as the cut-off message says it."""
    if isinstance(value, sv.Detections):
        return f" with {len(value)} detection(s) read"
    if isinstance(value, dict) and "predicted_classes" in value:
        return f" with {len(value['predicted_classes'])} class(es) read"
    if isinstance(value, dict) and output_structure:
        filled = sum(value.get(key) is not None for key in output_structure)
        return f" with {filled} of {len(output_structure)} requested keys read"
    return ""


def failure_outputs(message: str, classes: Optional[List[str]], latency_s: Optional[float] = None) -> Dict[str, Any]:
    """The outputs for an image whose request failed for good."""
    outputs = _empty_outputs(output="", classes=classes)
    outputs.update(error_status=True, error_message=message, latency_s=latency_s)
    return outputs


# The block's outputs, each with its kinds; "predictions" takes the kinds of the
# task's prediction (the manifest's to say). The one list of output names.
OUTPUT_KINDS: Dict[str, Optional[List[Kind]]] = {
    "output": [STRING_KIND, LANGUAGE_MODEL_OUTPUT_KIND],
    "classes": [LIST_OF_VALUES_KIND],
    "structured_output": [DICTIONARY_KIND],
    "predictions": None,
    "error_status": [BOOLEAN_KIND],
    "error_message": [STRING_KIND],
    "inference_id": [INFERENCE_ID_KIND],
    "input_tokens": [INTEGER_KIND],
    "output_tokens": [INTEGER_KIND],
    "latency_s": [FLOAT_KIND],
}


def _empty_outputs(output: str, classes: Optional[Sequence[str]]) -> Dict[str, Any]:
    outputs: Dict[str, Any] = dict.fromkeys(OUTPUT_KINDS)
    outputs.update(output=output, classes=classes, error_status=False, error_message="", inference_id=str(uuid4()))
    return outputs


def _decoded_size(image: WorkflowImageData) -> Tuple[int, int]:
    height, width = image.numpy_image.shape[:2]
    return width, height


def structured(
    reply: str, image: WorkflowImageData, inputs: TaskInputs, inference_id: str, sent_size: Tuple[int, int]
) -> Tuple[str, Parsed]:
    """`structured-answering`: the object with every requested key."""
    return "structured_output", parse_structured(reply, inputs.output_structure)


def _classification(parse: Callable, answer: Callable, build: Callable) -> Interpreter:
    """An interpreter that parses a classification reply and shapes it with
    inference's own builder, the one its VLM blocks and
    `roboflow_core/vlm_as_classifier@v2` use: the parser reads what Llama wrote,
    inference owns the shape of the prediction."""

    def interpret(
        reply: str, image: WorkflowImageData, inputs: TaskInputs, inference_id: str, sent_size: Tuple[int, int]
    ) -> Tuple[str, Parsed]:
        parsed = parse(reply, inputs.classes)
        if not parsed.ok:
            return "predictions", parsed
        error, prediction = build(image=image, results=answer(parsed.value), classes=inputs.classes, inference_id=inference_id)
        if error:
            return "predictions", Parsed(None, error="the answer could not be made into a classification prediction")
        return "predictions", Parsed(prediction, warning=parsed.warning)

    return interpret


def object_detection(
    reply: str, image: WorkflowImageData, inputs: TaskInputs, inference_id: str, sent_size: Tuple[int, int]
) -> Tuple[str, Parsed]:
    """`object-detection`: boxes parsed in the size the model saw (a reply in
    pixels means those pixels), made into detections of the original image by
    inference's own builder (the metadata every detection model attaches, so
    visualisers, trackers and sinks treat them like any other)."""
    classes = inputs.classes
    parsed = parse_detections(reply, classes, sent_size)
    if not parsed.ok:
        return "predictions", parsed
    found = parsed.value
    entries = [
        {"box_2d": [float(value) for value in box], "label": str(name), "confidence": float(confidence)}
        for box, name, confidence in zip(found.xyxy, found.data["class_name"], found.confidence)
    ]
    detections = build_detections(
        parsed_data=entries, box_format=_PIXELS_OF_THE_SENT_IMAGE, image=image, classes=classes,
        inference_id=inference_id, upload_width=sent_size[0], upload_height=sent_size[1],
    )
    return "predictions", Parsed(detections, warning=parsed.warning)


# inference's box format for pixels of the image as uploaded, scaled to the original.
_PIXELS_OF_THE_SENT_IMAGE = "xyxy_absolute"


def _single_label_answer(value: SingleLabel) -> Dict[str, Any]:
    return {"class_name": value.class_name, "confidence": value.confidence}


def _multi_label_answer(value: MultiLabel) -> Dict[str, Any]:
    return {"predicted_classes": [{"class": name, "confidence": score} for name, score in value.confidences.items()]}


single_label = _classification(parse_single_label, _single_label_answer, parse_multi_class_classification_results)
multi_label = _classification(parse_multi_label, _multi_label_answer, parse_multi_label_classification_results)
