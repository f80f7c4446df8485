"""What a step gives its task: one frozen value, built once per step.

Prompt builders, schema builders and interpreters take it whole, so a task reads
its inputs by attribute: a misspelled name is an error, not a keyword silently
swallowed by `**_`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence


@dataclass(frozen=True)
class TaskInputs:
    """The step's prompt (or question), classes and output structure; None where unset."""

    prompt: Optional[str] = None
    classes: Optional[Sequence[str]] = None
    output_structure: Optional[Mapping[str, str]] = None

    @classmethod
    def from_step(cls, properties: Mapping[str, Any]) -> "TaskInputs":
        """The inputs among a step's properties (the manifest's field names)."""
        return cls(
            prompt=properties.get("prompt"),
            classes=properties.get("classes"),
            output_structure=properties.get("output_structure"),
        )
