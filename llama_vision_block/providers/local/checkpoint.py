"""Checks that `model_path` holds a complete Llama 3.2 Vision checkpoint.

The checkpoint is a directory in Hugging Face format, as left by
`huggingface-cli download meta-llama/Llama-3.2-11B-Vision-Instruct --local-dir DIR`.
Everything missing is reported in one `ConfigurationError`, before any weight is
read, so a half-finished download fails fast and says what to fetch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import List

from llama_vision_block.errors import ConfigurationError
from llama_vision_block.families import FAMILIES, LLAMA_32_VISION, ModelFamily

WEIGHTS = "the weights (*.safetensors, model.safetensors.index.json or pytorch_model*.bin)"
TOKENIZER = "tokenizer.json (or tokenizer.model)"
PROCESSOR = "preprocessor_config.json (or processor_config.json)"


def check_checkpoint(path: Path, model: str, family: ModelFamily = FAMILIES[LLAMA_32_VISION]) -> None:
    """Raises one `ConfigurationError` naming `path` and everything it lacks, or
    the model it holds when that is not of `family`."""
    download = (
        f"download it with `huggingface-cli download {model} --local-dir {path}` "
        "(after accepting the model's license on the Hugging Face Hub)"
    )
    if not path.exists():
        raise ConfigurationError(f"`model_path` '{path}' does not exist; {download}.")
    if not path.is_dir():
        raise ConfigurationError(
            f"`model_path` '{path}' is a file, not a directory; point it at the "
            f"directory that holds config.json and the weights, or {download}."
        )
    missing = missing_files(path)
    if missing:
        raise ConfigurationError(
            f"`model_path` '{path}' is not a complete {family.name} checkpoint in "
            f"Hugging Face format; missing: {'; '.join(missing)}. Finish the "
            f"download or {download}."
        )
    model_type = _model_type(path)
    if model_type != family.model_type:
        raise ConfigurationError(
            f"`model_path` '{path}' holds a '{model_type}' model, not {family.name} "
            f"(config.json must say \"model_type\": \"{family.model_type}\"); choose "
            "the model_version of the model it holds."
        )


def missing_files(path: Path) -> List[str]:
    """What a loadable checkpoint needs and `path` does not have, in words."""
    missing: List[str] = []
    if not (path / "config.json").is_file():
        missing.append("config.json")
    missing.extend(_missing_weights(path))
    if not (path / "tokenizer_config.json").is_file():
        missing.append("tokenizer_config.json")
    if not _any_file(path, "tokenizer.json", "tokenizer.model"):
        missing.append(TOKENIZER)
    if not _any_file(path, "preprocessor_config.json", "processor_config.json"):
        missing.append(PROCESSOR)
    return missing


def _missing_weights(path: Path) -> List[str]:
    for index_name in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        index = path / index_name
        if index.is_file():
            shards = _index_shards(index)
            absent = sorted(name for name in shards if not (path / name).is_file())
            if absent:
                return [f"weight shards listed in {index_name}: {', '.join(absent)}"]
            return []
    if any(path.glob("*.safetensors")) or any(path.glob("pytorch_model*.bin")):
        return []
    return [WEIGHTS]


def _any_file(path: Path, *names: str) -> bool:
    return any((path / name).is_file() for name in names)


def _index_shards(index: Path) -> List[str]:
    try:
        weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        return sorted(set(weight_map.values()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ConfigurationError(
            f"`model_path` '{index.parent}': {index.name} cannot be read ({error}); "
            "download it again."
        ) from None


def _model_type(path: Path) -> str:
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigurationError(
            f"`model_path` '{path}': config.json cannot be read ({error}); "
            "download it again."
        ) from None
    return str(config.get("model_type")) if isinstance(config, dict) else "unknown"
