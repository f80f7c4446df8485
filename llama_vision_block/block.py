"""The workflow block: one request per image, concurrently, results in order."""

from __future__ import annotations

from typing import Dict, List, Optional, Type

from inference.core.workflows import environment
from inference.core.workflows.execution_engine.entities.base import (
    Batch,
    WorkflowImageData,
)
from inference.core.workflows.prototypes.block import (
    BlockResult,
    WorkflowBlock,
    WorkflowBlockManifest,
)

from llama_vision_block.concurrency import map_concurrently
from llama_vision_block.images import encode_image
from llama_vision_block.manifest import EXECUTION_ENGINE_COMPATIBILITY, BlockManifest
from llama_vision_block.model_versions import resolve_model_version
from llama_vision_block.prompts import build_prompt
from llama_vision_block.providers import ProviderSettings, VisionRequest, create_backend


class LlamaVisionBlockV1(WorkflowBlock):
    @classmethod
    def get_manifest(cls) -> Type[WorkflowBlockManifest]:
        return BlockManifest

    @classmethod
    def get_execution_engine_compatibility(cls) -> Optional[str]:
        return EXECUTION_ENGINE_COMPATIBILITY

    def run(
        self,
        images: Batch[WorkflowImageData],
        task_type: str,
        prompt: Optional[str],
        output_structure: Optional[Dict[str, str]],
        classes: Optional[List[str]],
        api_key: str,
        model_version: str,
        max_tokens: int,
        temperature: float,
        max_concurrent_requests: Optional[int],
    ) -> BlockResult:
        variant = resolve_model_version(model_version)
        llama_prompt = build_prompt(
            task_type, prompt=prompt, classes=classes, output_structure=output_structure
        )
        backend = create_backend(variant.provider, ProviderSettings(api_key=api_key))

        def ask(indexed_image: tuple) -> str:
            # Encoding happens here, inside the worker, so the first request
            # leaves while later images are still being encoded.
            index, image = indexed_image
            request = VisionRequest(
                prompt=llama_prompt,
                image=encode_image(image.numpy_image, name=f"images[{index}]"),
                model=variant.model,
                max_tokens=max_tokens,
                temperature=temperature,
            )
            return backend.complete(request)

        workers = (
            max_concurrent_requests
            or environment.WORKFLOWS_REMOTE_EXECUTION_MAX_STEP_CONCURRENT_REQUESTS
        )
        replies = map_concurrently(ask, list(enumerate(images)), max_workers=workers)
        return [{"output": reply, "classes": classes} for reply in replies]
