"""Find the class labels in a parsed reply, whatever shape the model gave them."""

from __future__ import annotations

import re
from typing import Any, List, Optional, Tuple

from llama_vision_block.parsing.coercion import (
    BOX_KEYS,
    CLASS_KEYS,
    CONFIDENCE_KEYS,
    ClassMatcher,
    field_key,
    to_presence,
)
from llama_vision_block.parsing.lenient import Loaded

LIST_KEYS = (
    "predictedclasses", "classes", "labels", "predictions", "predictedlabels", "categories",
    "results",
)

# Keys an answer is wrapped under, beside other keys (a description of the image).
WRAPPER_KEYS = ("classification", "answer", "result", "prediction", "output", "response")
_NAME_LIST = re.compile(r"\s*(?:[,;]|\band\b)\s*")

# One label: (name, raw confidence or None, cut short by the end of the reply).
Label = Tuple[str, Any, bool]


def label_items(value: Any, matcher: ClassMatcher, single: bool = False) -> Optional[list]:
    """The list of label entries in `value`, or `None` when it holds none.

    Accepts a bare list, a list under a synonym of "predicted_classes", one
    labelled object, or a {class: confidence or true/false} map over the given
    classes; one wrapping key ({"result": {...}}) or a map under a synonym of
    "predicted_classes" is looked through. With `single`, an object's own class
    key wins over a list beside it (an echoed class list).
    """
    for _ in range(2):
        if isinstance(value, list):
            return value
        if isinstance(value, str):  # {"answer": "cat"}, only when it names a given class
            return [value] if matcher.match(value)[1] >= 0 else None
        if not isinstance(value, dict):
            return None
        labelled = field_key(value, CLASS_KEYS) is not None
        if single and labelled:
            return [value]
        key = field_key(value, LIST_KEYS)
        if key is not None and isinstance(value[key], list):
            return value[key]
        if key is not None and isinstance(value[key], dict):
            value = value[key]
            continue
        if key is not None and isinstance(value[key], str):  # {"predicted_classes": "cat, dog"}
            names = [name for name in _NAME_LIST.split(value[key]) if name.strip()]
            return names if names and all(matcher.match(name)[1] >= 0 for name in names) else None
        if labelled:
            return [value]
        if value and all(matcher.match(name)[1] >= 0 for name in value):
            return [[name, score] for name, score in value.items()]
        wrapper = field_key(value, WRAPPER_KEYS)  # {"image_description": ..., "classification": {...}}
        if wrapper is not None and isinstance(value[wrapper], (dict, list)):
            value = value[wrapper]
            continue
        if len(value) != 1:
            return None
        value = next(iter(value.values()))
    return None


def boxes_among(items: list) -> bool:
    """Whether `items` hold boxes: a detection answer, not labels."""
    return any(isinstance(item, dict) and field_key(item, BOX_KEYS) is not None for item in items)


def ruled_out(label: Label) -> bool:
    """Whether the label says its class is absent (`false`, "no")."""
    return to_presence(label[1]) is False


def read_labels(items: list, loaded: Optional[Loaded]) -> List[Label]:
    """The usable labels among `items`, each flagged if the reply was cut off in it."""
    labels = []
    for index, item in enumerate(items):
        label = _read_label(item, items, index, loaded)
        if label is not None:
            labels.append(label)
    return labels


def _read_label(item: Any, items: list, index: int, loaded: Optional[Loaded]) -> Optional[Label]:
    cut = loaded is not None and (loaded.cut_slot == (id(items), index) or loaded.is_cut(item))
    if isinstance(item, str):
        name, confidence = item, None
    elif isinstance(item, list) and len(item) == 2:
        name, confidence = item
    elif isinstance(item, dict):
        key = field_key(item, CLASS_KEYS)
        if key is None:
            return None
        name = item[key]
        if isinstance(name, list) and len(name) == 1:
            name = name[0]
        confidence_key = field_key(item, CONFIDENCE_KEYS)
        confidence = item[confidence_key] if confidence_key is not None else None
    else:
        return None
    if not isinstance(name, str) or not name.strip():
        return None
    return name, confidence, cut
