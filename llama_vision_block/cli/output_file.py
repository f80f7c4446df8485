"""A run's JSON Lines output: one line per image, resumed until every image is answered.

Each line carries the settings that change an image's answer, so a file is only
ever continued with the same ones. A rerun over the same file sends the images
not in it yet and every image whose line says `error_status` true; the new line
replaces the old one in place. Lines are appended (and flushed) as they come, so
an interrupted run loses nothing; when the run ends, however it ends, the file is
rewritten with one line per image, in order, through a temporary file and an
atomic rename. A file with two lines for an image (a run killed before that
rewrite) is read with its last line winning.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any, Dict, Iterable, List, Mapping

from llama_vision_block.cli.errors import UsageError

# The step properties that change an image's answer (where it is sent, how long
# a request may take or how often it is retried do not).
ANSWER_SETTINGS = (
    "task_type", "prompt", "classes", "output_structure", "model_version", "served_model_name", "lora",
    "max_tokens", "temperature", "top_p", "top_k", "seed", "repetition_penalty", "frequency_penalty",
    "presence_penalty", "constrained_decoding", "max_image_side",
)
SETTINGS_FIELD = "settings"


def answer_settings(step: Mapping[str, Any]) -> Dict[str, Any]:
    """The settings of `step` that change an image's answer, as a line records them."""
    return {name: step[name] for name in ANSWER_SETTINGS if step.get(name) is not None}


class OutputFile:
    """The output of a run over `path`, holding the last line of each image."""

    def __init__(self, path: str, settings: Dict[str, Any], force: bool = False) -> None:
        self.path = path
        self.settings = settings
        self.lines: Dict[str, Dict[str, Any]] = {} if force else _read(path)
        _check_settings(path, self.lines.values(), settings)
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        self._compact()  # one line per image from the start; --force empties the file
        self._file = open(path, "a", encoding="utf-8")

    def pending(self, images: Iterable[str]) -> List[str]:
        """The images to send: not in the file yet, or failed there."""
        return [image for image in images if image not in self.lines or self.lines[image].get("error_status")]

    def failed_before(self, images: Iterable[str]) -> int:
        """How many of `images` have a line that says they failed."""
        return sum(bool(self.lines.get(image, {}).get("error_status")) for image in images)

    def write(self, line: Dict[str, Any]) -> None:
        """Records an image's line (appended now, in its place at `close`)."""
        self.lines[line["image"]] = line
        self._file.write(json.dumps(line, ensure_ascii=False) + "\n")

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        """Rewrites the file with one line per image, in order, atomically."""
        self._file.close()
        self._compact()

    def _compact(self) -> None:
        directory = os.path.dirname(os.path.abspath(self.path))
        handle, temporary = tempfile.mkstemp(prefix=".llama-vision-", suffix=".jsonl", dir=directory)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                for line in self.lines.values():
                    file.write(json.dumps(line, ensure_ascii=False) + "\n")
            os.replace(temporary, self.path)
        except BaseException:
            os.unlink(temporary)
            raise


def _read(path: str) -> Dict[str, Dict[str, Any]]:
    """Each image's last line in `path`, in the order images first appear;
    unreadable lines (one cut short by an interruption) are left out."""
    lines: Dict[str, Dict[str, Any]] = {}
    if not os.path.exists(path):
        return lines
    with open(path, encoding="utf-8") as file:
        for text in file:
            try:
                line = json.loads(text)
            except json.JSONDecodeError:
                continue
            if isinstance(line, dict) and isinstance(line.get("image"), str):
                lines[line["image"]] = line
    return lines


def _check_settings(path: str, lines: Iterable[Dict[str, Any]], settings: Dict[str, Any]) -> None:
    for line in lines:
        recorded = line.get(SETTINGS_FIELD)
        if recorded == settings:
            continue
        if not isinstance(recorded, dict):
            difference = "its lines do not record the settings that made them (an older llama-vision wrote it)"
        else:
            names = [name for name in ANSWER_SETTINGS if recorded.get(name) != settings.get(name)]
            difference = "; ".join(
                f"{name}: {json.dumps(recorded.get(name))} there, {json.dumps(settings.get(name))} now" for name in names
            )
        raise UsageError(
            f"{path} holds answers made with other settings ({difference}); a run only continues a file "
            "with the settings that wrote it. Pass --force to start the file anew, or choose another --output."
        )
