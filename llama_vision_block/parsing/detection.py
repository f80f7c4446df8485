"""Object-detection replies, as `sv.Detections` in pixels of the original image."""

from __future__ import annotations

import re
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
import supervision as sv

from llama_vision_block.parsing.coercion import (
    BOX_KEYS,
    CLASS_KEYS,
    CONFIDENCE_KEYS,
    NUMERIC,
    ClassMatcher,
    field_key,
    to_number,
)
from llama_vision_block.parsing.confidence import DEFAULT_CONFIDENCE, not_finite, percent_scale, to_confidence
from llama_vision_block.parsing.corrections import read_corrected
from llama_vision_block.parsing.json_text import pick
from llama_vision_block.parsing.lenient import Loaded
from llama_vision_block.parsing.result import DifferentAnswers, Parsed, ReplyParseError, failed

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
_CORNERS = (
    ("xmin", "ymin", "xmax", "ymax"),
    ("x1", "y1", "x2", "y2"),
    ("left", "top", "right", "bottom"),
)
_SIZES = (("x", "y", "width", "height"), ("x", "y", "w", "h"))
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
# One box on a line of a markdown list: a name, then four numbers in brackets.
_BOX_LINE = re.compile(
    r"^[ \t]*(?:[-*+\u2022]|\d{1,3}[.)])?[ \t]*(?P<name>[^\[\]:\n]{1,60}?)[ \t]*:?[ \t]*"
    r"(?P<box>\[[^\[\]\n]*\])(?P<rest>[^\n]*)$",
    re.MULTILINE,
)
_LINE_CONFIDENCE = re.compile(r"(?:confidence|score)\s*[:=]?\s*([-+]?\d*\.?\d+%?)", re.IGNORECASE)

# One detection before scaling: (name, class id, x1, y1, x2, y2, confidence, largest raw number).
_Raw = Tuple[str, int, float, float, float, float, float, float]
_Box = Tuple[Tuple[float, float, float, float], float]


def parse_detections(
    text: str, classes: Sequence[str], image_size: Tuple[int, int]
) -> Parsed[sv.Detections]:
    """The boxes in the reply, in pixels of an image of `image_size` (width, height).

    Boxes are `[x_min, y_min, x_max, y_max]` as fractions of the image, origin
    top-left (corners in the other order are put in order); if any coordinate
    in the reply exceeds 1.5, all of that reply's coordinates are read as pixels
    instead. Boxes are clipped to the image; a box with no area is dropped; a
    missing confidence is 1.0, and a NaN or infinite one leaves its box out and
    flags the answer (`Parsed.warning`). Two different lists of boxes with no
    correction between them are an error. A box wholly
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
        raw, cut, unreadable = _read_all(items, candidate, matcher)
        if items and not raw:
            reason = "reply was cut off before the first detection was complete"
            if unreadable:
                reason = _not_finite(unreadable)
            elif not cut:
                reason = f"none of the {len(items)} detections had a class and a box"
            return 0, failed(reason)
        # Boxes outside the image still make this the answer: its error is the result.
        score = 3 if any(entry[1] >= 0 for entry in raw) else 2 if raw else 1
        parsed = _to_detections(raw, width, height)
        if unreadable and parsed.ok:
            parsed = Parsed(parsed.value, warning=_not_finite(unreadable) + "; those boxes are left out")
        return score, parsed

    def answer(parsed: Parsed[sv.Detections]) -> Optional[str]:
        return _describe(parsed.value) if parsed.ok else None

    try:
        parsed = pick(text, interpret, enough=3, answer=answer)
    except DifferentAnswers as error:
        return failed(str(error))
    except ReplyParseError as error:
        parsed = failed(str(error))
    if parsed.ok:
        return parsed
    # A markdown list of boxes rather than JSON: only lines that name a given class.
    lines = [item for item in _text_items(text) if matcher.match(item["class"])[1] >= 0]
    return interpret(Loaded(lines, 0, len(text)))[1] if lines else parsed


def _text_items(text: str) -> List[dict]:
    """Detections written one a line: `* **Person**: [0.1, 0.2, 0.3, 0.9] (confidence: 0.9)`."""
    items = []
    for line in _BOX_LINE.finditer(text.replace("**", "")):
        confidence = _LINE_CONFIDENCE.search(line.group("rest"))
        items.append({
            "class": line.group("name").strip(),
            "box": line.group("box"),
            "confidence": confidence.group(1) if confidence else None,
        })
    return items


def _describe(detections: sv.Detections) -> str:
    """The boxes, in a form that tells two answers apart and quotes one."""
    boxes = sorted(
        f"{name} {' '.join(f'{value:.0f}' for value in box)}"
        for name, box in zip(detections.data["class_name"], detections.xyxy)
    )
    return "[" + ", ".join(boxes) + "]"


def _not_finite(unreadable: List[str]) -> str:
    return f"the confidence of {len(unreadable)} detection(s) ({', '.join(unreadable)}) is not a finite number"


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


def _read_all(items: list, loaded: Loaded, matcher: ClassMatcher) -> Tuple[List[_Raw], bool, List[str]]:
    """The detections that could be read, whether the end cut one short, and the
    classes of those whose confidence is NaN or infinite."""
    entries = []
    cut = False
    for item in items:
        if not isinstance(item, dict):
            continue
        if loaded.is_cut(item):  # its box or confidence may be incomplete
            cut = True
            continue
        boxes = _read_boxes(item)
        name_key = field_key(item, CLASS_KEYS)
        name = item[name_key] if name_key is not None else None
        if name is None and len(matcher.classes) == 1:
            name = matcher.classes[0]
        if not boxes or not isinstance(name, str) or not name.strip():
            continue
        confidence_key = field_key(item, CONFIDENCE_KEYS)
        confidence = item[confidence_key] if confidence_key is not None else None
        entries.extend((name, box, confidence) for box in boxes)
    percent = percent_scale(confidence for _, _, confidence in entries)
    raw: List[_Raw] = []
    unreadable: List[str] = []
    for name, box, confidence in entries:
        class_name, class_id = matcher.match(name)
        if not_finite(confidence):
            unreadable.append(f"{class_name}: {confidence}")
            continue
        raw.append((class_name, class_id, *box[0], to_confidence(confidence, DEFAULT_CONFIDENCE, percent), box[1]))
    return raw, cut, unreadable


def _read_boxes(item: dict) -> List[_Box]:
    """The boxes of one entry: one, or several under one class ({"box": [[...], [...]]})."""
    key = field_key(item, BOX_KEYS)
    value = item[key] if key is not None else None
    if isinstance(value, list) and len(value) > 1 and all(isinstance(box, list) and len(box) == 4 for box in value):
        boxes = [_read_box({"box": box}) for box in value]
        return [box for box in boxes if box is not None]
    box = _read_box(item)
    return [] if box is None else [box]


def _read_box(item: dict) -> Optional[_Box]:
    """`((x1, y1, x2, y2), largest number written)` from a box list, a box
    string, or coordinate keys."""
    key = field_key(item, BOX_KEYS)
    source = item[key] if key is not None else item
    if isinstance(source, str):
        suffix = "%" if "%" in source else ""  # "10%, 40%, 55%, 95%"
        source = [number + suffix for number in _NUMBER.findall(source)]
    if isinstance(source, list):
        if len(source) == 2 and all(isinstance(pair, list) and len(pair) == 2 for pair in source):
            source = source[0] + source[1]  # [[x1, y1], [x2, y2]]
        numbers = [_coordinate(value) for value in source]
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


def _coordinate(value: Any) -> Optional[float]:
    """A coordinate: a number, or a percentage of the image ("10%") as a fraction."""
    if isinstance(value, str):
        match = NUMERIC.fullmatch(value)
        if match is not None and match.group(2) == "%":
            return float(match.group(1)) / 100.0
    return to_number(value)


def _numbers_at(source: dict, names: Tuple[str, ...]) -> Optional[List[float]]:
    numbers = []
    for name in names:
        key = field_key(source, (name,))
        number = _coordinate(source[key]) if key is not None else None
        if number is None:
            return None
        numbers.append(number)
    return numbers


def _to_detections(raw: List[_Raw], width: float, height: float) -> Parsed[sv.Detections]:
    if not raw:
        return Parsed(_empty())
    size = np.array([width, height, width, height])
    corners = np.array([entry[2:6] for entry in raw], dtype=np.float64)
    # Corners written in the wrong order ([x2, y2, x1, y1]) still name one box.
    xyxy = np.concatenate(
        [np.minimum(corners[:, :2], corners[:, 2:]), np.maximum(corners[:, :2], corners[:, 2:])], axis=1
    )
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
            xyxy=clipped[keep],
            confidence=np.array([entry[6] for entry in kept], dtype=np.float64),
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
        xyxy=np.zeros((0, 4), dtype=np.float64),
        confidence=np.zeros(0, dtype=np.float64),
        class_id=np.zeros(0, dtype=int),
        data={"class_name": np.array([], dtype=str)},
    )
