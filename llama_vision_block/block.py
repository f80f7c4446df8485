"""The workflow block: one request per image, concurrently, results in order."""

from __future__ import annotations

import contextlib
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple, Type

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

from llama_vision_block.access import check_step
from llama_vision_block.admission import GATES, EndpointGate
from llama_vision_block.concurrency import map_concurrently, prefetched
from llama_vision_block.errors import ConfigurationError, ImageError, ModelNotServed, StepError, redact
from llama_vision_block.families import FAMILIES
from llama_vision_block.images import PreparedImage, SizeLimit, preparer
from llama_vision_block.manifest import EXECUTION_ENGINE_COMPATIBILITY, BlockManifest
from llama_vision_block.model_versions import ModelVariant, live_labels, resolve_model_version
from llama_vision_block.prompts import Prompt
from llama_vision_block.providers.base import Backend, Generation, Reply, VisionRequest, from_step
from llama_vision_block.providers.registry import PROVIDERS, create_backend, ignored_setting_problem
from llama_vision_block.providers.spec import provider_settings
from llama_vision_block.results import Interpreter, failure_outputs, reply_outputs
from llama_vision_block.reachability import StepGate
from llama_vision_block.retries import RetryPolicy, call_with_retries
from llama_vision_block.schemas import ReplyCheck, ResponseSchema, check_reply, response_schema
from llama_vision_block.task_inputs import TaskInputs
from llama_vision_block.tasks import task_spec


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
        model_version: str,
        **properties: Any,
    ) -> BlockResult:
        """Asks about every image; `properties` are the manifest's other properties."""
        task = task_spec(task_type)
        variant = resolve_model_version(model_version)
        spec = PROVIDERS[variant.provider]
        problem = ignored_setting_problem(spec, properties)
        if problem:
            raise ConfigurationError(problem)
        generation = from_step(Generation, properties)
        api_key = properties["api_key"]
        settings = provider_settings(spec, properties, api_key=key_for(variant, api_key))
        check_step(spec, settings)  # what a caller may name on the server's side
        inputs = TaskInputs.from_step(properties)
        constraint = response_schema(task.json_schema, properties["constrained_decoding"], inputs, generation.max_tokens)
        retry_policy = RetryPolicy(max_retries=properties["max_retries"])
        backend = create_backend(variant, settings, generation)
        # Remote endpoints admit requests through one gate per process (in process: none).
        admission = None if backend.endpoint is None else GATES.for_endpoint(spec, backend.endpoint, settings.api_key)
        ask = ImageQuestion(
            backend=backend,
            gate=StepGate(backend.endpoint, connect_timeout_s=settings.request_timeout),
            admission=admission,
            time_bound_s=retry_policy.time_bound(settings.request_timeout),
            prompt=task.build_prompt(inputs),
            generation=generation,
            constraint=constraint,
            retry_policy=retry_policy,
            fail_fast=properties["fail_fast"],
            interpret=task.interpret,
            inputs=inputs,
            secret=api_key,
        )
        workers = (
            properties["max_concurrent_requests"]
            or environment.WORKFLOWS_REMOTE_EXECUTION_MAX_STEP_CONCURRENT_REQUESTS
        )
        names = [f"images[{index}]" for index in range(len(images))]
        # Images are prepared ahead, on one thread per core, so a worker whose
        # reply arrives finds its next image ready and sends it at once.
        prepare = preparer(spec.image_form)
        family = FAMILIES[variant.family]
        limit = SizeLimit(family.tile, family.max_tiles, properties["max_image_side"])
        using = admission.step(workers) if admission else contextlib.nullcontext()
        with using, prefetched(lambda item: prepare(item[0], item[1], limit), list(zip(images, names))) as prepared:
            try:
                return map_concurrently(ask, list(zip(names, images, prepared)), max_workers=workers)
            except ModelNotServed as error:  # the provider cannot know what runs elsewhere
                raise error.with_labels(live_labels()) from None


def key_for(variant: ModelVariant, api_key: Optional[str]) -> Optional[str]:
    """The step's key, unless the operator routed an OpenRouter step to a provider
    that needs none: that key was written for another provider, and goes nowhere."""
    if variant.routed and not PROVIDERS[variant.provider].needs_key:
        return None
    return api_key


@dataclass(frozen=True)
class ImageQuestion:
    """Asks the step's question about one image and returns that image's outputs."""

    backend: Backend
    # One image checks a new endpoint can be reached; unreachable, the rest fail at once.
    gate: StepGate
    prompt: Prompt
    generation: Generation
    constraint: Optional[ResponseSchema]
    retry_policy: RetryPolicy
    fail_fast: bool
    interpret: Optional[Interpreter]
    inputs: TaskInputs
    admission: Optional[EndpointGate] = None
    time_bound_s: float = float("inf")  # the most one image may take, waiting included
    # The step's key: a server that echoes it in a reply must not put it in an output.
    secret: Optional[str] = field(default=None, repr=False)

    def __call__(
        self, item: Tuple[str, WorkflowImageData, "Future[PreparedImage]"]
    ) -> Dict[str, Any]:
        name, image, prepared = item
        started = time.monotonic()  # the image's turn: its latency counts from here
        deadline = started + self.time_bound_s
        try:
            request = VisionRequest(
                prompt=self.prompt,
                image=prepared.result(),
                generation=self.generation,
                response_schema=self.constraint,
            )
            reply = self.gate.ask(
                name, lambda policy: call_with_retries(lambda: self._send(request, deadline), policy), self.retry_policy
            )
        except StepError:
            raise
        except ImageError as error:
            if self.fail_fast:
                raise
            return failure_outputs(error.for_image(name), self.inputs.classes, _seconds_since(started))
        text = redact(reply.text, self.secret)
        return reply_outputs(
            self.interpret,
            text,
            image,
            self.inputs,
            sent=request.image,
            cut_off_at=self.generation.max_tokens if reply.cut_off else None,
            input_tokens=reply.input_tokens,
            output_tokens=reply.output_tokens,
            check=ReplyCheck() if self.constraint is None else check_reply(text, self.constraint),
            latency_s=_seconds_since(started),
        )

    def _send(self, request: VisionRequest, deadline: float) -> Reply:
        """One attempt, admitted by the endpoint's gate where there is one."""
        if self.admission is None:
            return self.backend.complete(request)
        return self.admission.call(lambda: self.backend.complete(request), deadline)


def _seconds_since(start: float) -> float:
    """Seconds from `start` (the monotonic clock) to now, to the millisecond."""
    return round(time.monotonic() - start, 3)
