"""One image's outputs: the reply as text, and parsed into what its task needs."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple
from uuid import uuid4

import numpy as np
import supervision as sv
from inference.core.workflows.core_steps.common.utils import (
    attach_parents_coordinates_to_sv_detections,
)
from inference.core.workflows.execution_engine.constants import (
    DETECTION_ID_KEY,
    IMAGE_DIMENSIONS_KEY,
    INFERENCE_ID_KEY,
    PREDICTION_TYPE_KEY,
)
from inference.core.workflows.execution_engine.entities.base import WorkflowImageData

from llama_vision_block.images import PreparedImage
from llama_vision_block.parsing import (
    Parsed,
    build_multi_label_prediction,
    build_single_label_prediction,
    parse_detections,
    parse_multi_label,
    parse_single_label,
    parse_structured,
)


# Reads a reply for a task: (the output it fills, what parsing gave).
Interpreter = Callable[..., Tuple[str, Parsed]]


def reply_outputs(
    interpret: Optional[Interpreter],
    reply: str,
    image: WorkflowImageData,
    classes: Optional[List[str]],
    output_structure: Optional[Mapping[str, str]],
    sent: Optional[PreparedImage] = None,
    cut_off_at: Optional[int] = None,
    input_tokens: Optional[int] = None,
    output_tokens: Optional[int] = None,
    constraint_problem: Optional[str] = None,
) -> Dict[str, Any]:
    """The outputs for a reply: a task with an interpreter (those that ask for JSON)
    gets it parsed.

    `sent` is the image as the model saw it (its sizes, before and after any
    downscale, spare decoding `image` again); `cut_off_at` is `max_tokens` when
    the reply stopped there; the token counts are the provider's (`None` where
    it did not say); `constraint_problem` says what is wrong with a reply to a
    constrained request (`schemas.constraint_problem`): such a reply is not read.
    """
    outputs = _empty_outputs(output=reply, classes=classes)
    outputs.update(input_tokens=input_tokens, output_tokens=output_tokens)
    problems = []
    if not reply.strip():  # never an empty answer that claims success
        problems.append("the model answered with an empty reply")
    held = ""
    if constraint_problem is not None:
        problems.append(constraint_problem)  # and no answer read from such a reply
    elif interpret is not None:
        image_size = sent.source_size if sent else _decoded_size(image)
        name, parsed = interpret(
            reply,
            image=image,
            classes=classes,
            output_structure=output_structure,
            inference_id=outputs["inference_id"],
            image_size=image_size,
            sent_size=(sent.width, sent.height) if sent else image_size,
        )
        if parsed.ok:
            outputs[name] = parsed.value
            held = _size_of(parsed.value, output_structure)
        problems.extend(problem for problem in (parsed.error, parsed.warning) if problem)
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


def failure_outputs(message: str, classes: Optional[List[str]]) -> Dict[str, Any]:
    """The outputs for an image whose request failed for good."""
    outputs = _empty_outputs(output="", classes=classes)
    outputs.update(error_status=True, error_message=message)
    return outputs


def _empty_outputs(output: str, classes: Optional[List[str]]) -> Dict[str, Any]:
    return {
        "output": output,
        "classes": classes,
        "structured_output": None,
        "predictions": None,
        "error_status": False,
        "error_message": "",
        "inference_id": str(uuid4()),
        "input_tokens": None,
        "output_tokens": None,
    }


def _decoded_size(image: WorkflowImageData) -> Tuple[int, int]:
    height, width = image.numpy_image.shape[:2]
    return width, height


def structured(reply: str, output_structure, **_: Any) -> Tuple[str, Parsed]:
    """`structured-answering`: the object with every requested key."""
    return "structured_output", parse_structured(reply, output_structure)


def _classification(parse: Callable, build: Callable) -> Interpreter:
    """An interpreter that parses a classification reply and shapes it like
    `roboflow_core/vlm_as_classifier@v2` does."""

    def interpret(
        reply: str, image, classes, inference_id: str, image_size: Tuple[int, int], **_: Any
    ) -> Tuple[str, Parsed]:
        parsed = parse(reply, classes)
        if not parsed.ok:
            return "predictions", parsed
        width, height = image_size
        parent_id = image.parent_metadata.parent_id
        prediction = build(parsed.value, classes, width, height, inference_id, parent_id)
        return "predictions", Parsed(prediction, warning=parsed.warning)

    return interpret


def object_detection(
    reply: str,
    image,
    classes,
    inference_id: str,
    image_size: Tuple[int, int],
    sent_size: Tuple[int, int],
    **_: Any,
) -> Tuple[str, Parsed]:
    # Parse in the size the model saw (a reply in pixels means those pixels),
    # then scale to the original image.
    parsed = parse_detections(reply, classes, sent_size)
    if not parsed.ok:
        return "predictions", parsed
    detections = parsed.value
    width, height = image_size
    scale = np.array([width / sent_size[0], height / sent_size[1]] * 2, dtype=np.float32)
    detections.xyxy = (detections.xyxy * scale).astype(np.float32)
    return "predictions", Parsed(
        _with_workflow_metadata(detections, image, image_size, inference_id), warning=parsed.warning
    )


def _with_workflow_metadata(
    detections: sv.Detections,
    image: WorkflowImageData,
    image_size: Tuple[int, int],
    inference_id: str,
) -> sv.Detections:
    # The fields every detection model in Workflows attaches, so visualisers,
    # trackers and sinks downstream treat these boxes like any other.
    count = len(detections)
    width, height = image_size
    detections.data[DETECTION_ID_KEY] = np.array([str(uuid4()) for _ in range(count)])
    detections.data[IMAGE_DIMENSIONS_KEY] = np.array([[height, width]] * count).reshape(-1, 2)
    detections.data[INFERENCE_ID_KEY] = np.array([inference_id] * count)
    detections.data[PREDICTION_TYPE_KEY] = np.array(["object-detection"] * count)
    return attach_parents_coordinates_to_sv_detections(detections=detections, image=image)


single_label = _classification(parse_single_label, build_single_label_prediction)
multi_label = _classification(parse_multi_label, build_multi_label_prediction)
