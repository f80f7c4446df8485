"""Object-detection replies, as `sv.Detections` in pixels of the original image."""

from __future__ import annotations

import re
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
import supervision as sv

from llama_vision_block.parsing.coercion import (
    CLASS_KEYS,
    CONFIDENCE_KEYS,
    DEFAULT_CONFIDENCE,
    ClassMatcher,
    field_key,
    to_confidence,
    to_number,
)
from llama_vision_block.parsing.corrections import read_corrected
from llama_vision_block.parsing.json_text import pick
from llama_vision_block.parsing.lenient import Loaded
from llama_vision_block.parsing.result import Parsed, ReplyParseError, failed

# Above this, a reply's coordinates are pixels rather than fractions of the image.
PIXEL_THRESHOLD = 1.5
# How far, as a fraction of the image's width or height, a box may run past an
# edge and still be clipped: as far as a fraction may read before it counts as
# pixels. A box further out, or wholly outside, was written on some other scale
# (0-1000 is common): clipping or dropping it would be a silent wrong answer.
EDGE_TOLERANCE = PIXEL_THRESHOLD - 1.0
LIST_KEYS = (
    "detections", "objects", "predictions", "boxes", "boundingboxes", "bboxes", "results",
    "annotations",
)
BOX_KEYS = (
    "box", "bbox", "boundingbox", "xyxy", "box2d", "bbox2d", "coordinates", "coords", "rect",
    "bndbox",
)
_CORNERS = (
    ("xmin", "ymin", "xmax", "ymax"),
    ("x1", "y1", "x2", "y2"),
    ("left", "top", "right", "bottom"),
)
_SIZES = (("x", "y", "width", "height"), ("x", "y", "w", "h"))
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")

# One detection before scaling: (name, class id, x1, y1, x2, y2, confidence, largest raw number).
_Raw = Tuple[str, int, float, float, float, float, float, float]
_Box = Tuple[Tuple[float, float, float, float], float]


def parse_detections(
    text: str, classes: Sequence[str], image_size: Tuple[int, int]
) -> Parsed[sv.Detections]:
    """The boxes in the reply, in pixels of an image of `image_size` (width, height).

    Boxes are `[x_min, y_min, x_max, y_max]` as fractions of the image, origin
    top-left; if any coordinate in the reply exceeds 1.5, all of that reply's
    coordinates are read as pixels instead. Boxes are clipped to the image; a
    box with no area is dropped; a missing confidence is 1.0. A box wholly
    outside the image, or reaching more than half its size past an edge
    (`EDGE_TOLERANCE`), makes the reply an error: its coordinate scale is
    unclear. A reply that corrects itself gives its corrected boxes.
    """
    if not isinstance(text, str):
        return failed(f"expected the reply as str, got {type(text).__name__}")
    try:
        width, height = float(image_size[0]), float(image_size[1])
    except (TypeError, ValueError, IndexError):
        return failed(f"image_size must be (width, height) in pixels, got {image_size!r}")
    matcher = ClassMatcher(classes or ())
    return read_corrected(text, lambda reply: _detections(reply, matcher, width, height))


def _detections(
    text: str, matcher: ClassMatcher, width: float, height: float
) -> Parsed[sv.Detections]:
    def interpret(candidate: Loaded) -> Tuple[int, Parsed[sv.Detections]]:
        items = _detection_items(candidate.value, matcher)
        if items is None:
            return 0, failed("no list of detections found in the JSON reply")
        raw, cut = _read_all(items, candidate, matcher)
        if items and not raw:
            reason = "reply was cut off before the first detection was complete"
            if not cut:
                reason = f"none of the {len(items)} detections had a class and a box"
            return 0, failed(reason)
        # Boxes outside the image still make this the answer: its error is the result.
        score = 3 if any(entry[1] >= 0 for entry in raw) else 2 if raw else 1
        return score, _to_detections(raw, width, height)

    try:
        return pick(text, interpret, enough=3)
    except ReplyParseError as error:
        return failed(str(error))


def _detection_items(value: Any, matcher: ClassMatcher) -> Optional[list]:
    for _ in range(2):
        if isinstance(value, list):
            return value
        if not isinstance(value, dict):
            return None
        key = field_key(value, LIST_KEYS)
        if key is not None and isinstance(value[key], list):
            return value[key]
        if _read_box(value) is not None:
            return [value]
        if value and all(matcher.match(name)[1] >= 0 for name in value):
            return [item for name, boxes in value.items() for item in _class_boxes(name, boxes)]
        if len(value) != 1:
            return None
        value = next(iter(value.values()))
    return None


def _class_boxes(name: str, boxes: Any) -> List[dict]:
    """{"dog": [x1, y1, x2, y2]} or {"dog": [[...], [...]]} as detection entries."""
    if not isinstance(boxes, list):
        return []
    if boxes and all(isinstance(box, (list, dict)) for box in boxes):
        return [{"class": name, "box": box} for box in boxes]
    return [{"class": name, "box": boxes}]


def _read_all(items: list, loaded: Loaded, matcher: ClassMatcher) -> Tuple[List[_Raw], bool]:
    raw: List[_Raw] = []
    cut = False
    for item in items:
        if not isinstance(item, dict):
            continue
        if loaded.is_cut(item):  # its box or confidence may be incomplete
            cut = True
            continue
        box = _read_box(item)
        name_key = field_key(item, CLASS_KEYS)
        name = item[name_key] if name_key is not None else None
        if name is None and len(matcher.classes) == 1:
            name = matcher.classes[0]
        if box is None or not isinstance(name, str) or not name.strip():
            continue
        class_name, class_id = matcher.match(name)
        confidence_key = field_key(item, CONFIDENCE_KEYS)
        raw_confidence = item[confidence_key] if confidence_key is not None else None
        confidence = to_confidence(raw_confidence, DEFAULT_CONFIDENCE)
        raw.append((class_name, class_id, *box[0], confidence, box[1]))
    return raw, cut


def _read_box(item: dict) -> Optional[_Box]:
    """`((x1, y1, x2, y2), largest number written)` from a box list, a box
    string, or coordinate keys."""
    key = field_key(item, BOX_KEYS)
    source = item[key] if key is not None else item
    if isinstance(source, str):
        source = _NUMBER.findall(source)
    if isinstance(source, list):
        if len(source) == 2 and all(isinstance(pair, list) and len(pair) == 2 for pair in source):
            source = source[0] + source[1]  # [[x1, y1], [x2, y2]]
        numbers = [to_number(value) for value in source]
        if len(numbers) != 4 or None in numbers:
            return None
        return tuple(numbers), max(numbers)
    if not isinstance(source, dict):
        return None
    for names in _CORNERS:
        numbers = _numbers_at(source, names)
        if numbers is not None:
            return tuple(numbers), max(numbers)
    for names in _SIZES:
        numbers = _numbers_at(source, names)
        if numbers is not None:
            x, y, w, h = numbers  # (x, y) is the top-left corner
            return (x, y, x + w, y + h), max(numbers)
    return None


def _numbers_at(source: dict, names: Tuple[str, ...]) -> Optional[List[float]]:
    numbers = []
    for name in names:
        key = field_key(source, (name,))
        number = to_number(source[key]) if key is not None else None
        if number is None:
            return None
        numbers.append(number)
    return numbers


def _to_detections(raw: List[_Raw], width: float, height: float) -> Parsed[sv.Detections]:
    if not raw:
        return Parsed(_empty())
    size = np.array([width, height, width, height])
    xyxy = np.array([entry[2:6] for entry in raw], dtype=np.float64)
    if max(entry[7] for entry in raw) <= PIXEL_THRESHOLD:
        xyxy = xyxy * size
    clipped = np.clip(xyxy, 0.0, size)
    keep = _has_area(clipped)
    margin = EDGE_TOLERANCE * size
    far_out = ((xyxy < -margin) | (xyxy > size + margin)).any(axis=1)
    # A box with an area as written but none inside the image lies wholly outside it.
    outside = int((far_out | (_has_area(xyxy) & ~keep)).sum())
    if outside:
        return _outside_error(outside, len(raw), width, height)
    if not keep.any():
        return Parsed(_empty())
    kept = [entry for entry, flag in zip(raw, keep) if flag]
    return Parsed(
        sv.Detections(
            xyxy=clipped[keep].astype(np.float32),
            confidence=np.array([entry[6] for entry in kept], dtype=np.float32),
            class_id=np.array([entry[1] for entry in kept], dtype=int),
            data={"class_name": np.array([entry[0] for entry in kept], dtype=str)},
        )
    )


def _has_area(xyxy: np.ndarray) -> np.ndarray:
    return (xyxy[:, 2] > xyxy[:, 0]) & (xyxy[:, 3] > xyxy[:, 1])


def _outside_error(outside: int, total: int, width: float, height: float) -> Parsed:
    boxes = "box" if total == 1 else "boxes"
    verb = "lies" if outside == 1 else "lie"
    return failed(
        f"{outside} of {total} {boxes} {verb} outside the {width:g}x{height:g} image;"
        " the coordinate scale is unclear"
    )


def _empty() -> sv.Detections:
    return sv.Detections(
        xyxy=np.zeros((0, 4), dtype=np.float32),
        confidence=np.zeros(0, dtype=np.float32),
        class_id=np.zeros(0, dtype=int),
        data={"class_name": np.array([], dtype=str)},
    )
