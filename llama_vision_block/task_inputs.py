"""What a step gives its task: one frozen value, built once per step.

Prompt builders, schema builders and interpreters take it whole, so a task reads
its inputs by attribute: a misspelled name is an error, not a keyword silently
swallowed by `**_`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Mapping, Optional, Sequence


@dataclass(frozen=True)
class TaskInputs:
    """The step's prompt (or question), classes and output structure; None where unset."""

    # `what`: how a message asks for the input when a task needs it and the step has none.
    prompt: Optional[str] = field(default=None, metadata={"what": "the prompt text"})
    classes: Optional[Sequence[str]] = field(default=None, metadata={"what": "a list of class names"})
    output_structure: Optional[Mapping[str, str]] = field(
        default=None, metadata={"what": "a dictionary of field name -> description"}
    )

    @classmethod
    def from_step(cls, properties: Mapping[str, Any]) -> "TaskInputs":
        """The inputs among a step's properties (the manifest's field names)."""
        return cls(
            prompt=properties.get("prompt"),
            classes=properties.get("classes"),
            output_structure=properties.get("output_structure"),
        )


def missing_input_problem(task: str, needs: Sequence[str], given: Mapping[str, Any]) -> Optional[str]:
    """Why a step cannot run `task`: one of the inputs it needs is unset (or an empty
    dictionary), or None. `needs` comes from the task's entry in the task table."""
    what = {item.name: item.metadata["what"] for item in fields(TaskInputs)}
    for name in needs:
        value = given.get(name)
        if value is None or value == {}:
            return f"`{name}` is required for task_type '{task}': {what[name]}."
    return None
