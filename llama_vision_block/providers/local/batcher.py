"""The micro-batcher: one worker thread per loaded model turns concurrent
`complete()` calls into batched `generate` calls.

Callers queue a `Job` and wait on its future. The worker takes the oldest job
and runs ONE `generate` for up to `job.batch_limit` queued jobs that share its
key (identical `Generation` settings and batch limit), in arrival order. When
fewer are queued, it waits for company while requests keep arriving (gaps under
`GATHER_IDLE_S`), never longer than `GATHER_MAX_S`. Each caller gets the text
decoded from its own new tokens. A job may carry a JSON schema: its row of the
batch is constrained to it (`grammar.py`), the others are not.

A CUDA out-of-memory error halves the batch and retries each half, down to one
image; any other failure is delivered, as a `ProviderError`, to every caller of
that batch. Every job taken from the queue is answered exactly once.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Deque, Hashable, List, Optional

import logging

from llama_vision_block.errors import ProviderError, StepProviderError
from llama_vision_block.providers.base import Generation, Reply
from llama_vision_block.providers.local.generation import generate_replies, is_out_of_memory
from llama_vision_block.providers.local.grammar import INSTALL_HINT, Grammars, xgrammar_module
from llama_vision_block.schemas import ResponseSchema

logger = logging.getLogger(__name__)

PROVIDER = "Local GPU (transformers)"
# A partial batch waits while requests keep coming (at most this long apart)...
GATHER_IDLE_S = 0.025
# ...but never longer than this: small next to one `generate` call on a GPU.
GATHER_MAX_S = 0.1
# How many recent batch sizes `BatchStats.batch_sizes` remembers.
STATS_HISTORY = 4096


@dataclass(eq=False)
class Job:
    """One image waiting for its reply; `text` is the prompt after the chat template."""

    text: str
    image: Any  # PIL.Image.Image, RGB
    generation: Generation
    batch_limit: int
    constraint: Optional[ResponseSchema] = None  # the schema its reply must match
    future: "Future[Reply]" = field(default_factory=Future)

    @property
    def key(self) -> Hashable:
        return (self.generation, self.batch_limit)


class BatchStats:
    """What the worker has done; read by tests and the benchmark.

    `batch_sizes`: the number of images each `generate` call received (out-of-memory
    retries included), most recent last. `images`: replies delivered.
    `new_tokens`: generated tokens, end-of-turn included, padding excluded. `out_of_memory`: batches that
    ran out of memory and were split (or failed, when down to one image).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sizes: Deque[int] = deque(maxlen=STATS_HISTORY)
        self.images = 0
        self.new_tokens = 0
        self.out_of_memory = 0

    @property
    def batch_sizes(self) -> List[int]:
        with self._lock:
            return list(self._sizes)

    def record_call(self, size: int) -> None:
        with self._lock:
            self._sizes.append(size)


class MicroBatcher:
    """Owns the queue and the worker thread of one loaded model."""

    def __init__(self, model: Any, processor: Any, device: str, name: str = "model") -> None:
        self.model = model
        self.processor = processor
        self.device = device
        self.gather_idle_s = GATHER_IDLE_S
        self.gather_max_s = GATHER_MAX_S
        self._last_arrival = 0.0
        self.stats = BatchStats()
        self._pending: List[Job] = []
        self._wake = threading.Condition()
        self._closed = False
        self._grammars: Optional[Grammars] = None
        self._grammar_lock = threading.Lock()
        self._said_no_grammar = False
        self._thread = threading.Thread(
            target=self._serve, name=f"llama-vision-batcher[{name}]", daemon=True
        )
        self._thread.start()

    def submit(self, job: Job) -> "Future[Reply]":
        """Queues `job`; its future holds the `Reply` or a `ProviderError`."""
        with self._wake:
            if self._closed or not self._thread.is_alive():
                raise StepProviderError(PROVIDER, "the model's batching thread has stopped")
            self._pending.append(job)
            self._last_arrival = time.monotonic()
            self._wake.notify()
        return job.future

    def grammars(self) -> Optional[Grammars]:
        """The model's compiled grammars; None (said once in the log) where xgrammar
        is not installed."""
        with self._grammar_lock:
            if self._grammars is None:
                if xgrammar_module() is None:
                    if not self._said_no_grammar:
                        self._said_no_grammar = True
                        logger.warning(
                            "%s: answers are not constrained to their JSON schema, since "
                            "xgrammar is not installed: %s.", PROVIDER, INSTALL_HINT,
                        )
                    return None
                self._grammars = Grammars.for_model(self.model, self.processor.tokenizer)
            return self._grammars

    def close(self) -> None:
        """Stops the worker after its current batch; queued jobs fail."""
        with self._wake:
            self._closed = True
            self._wake.notify_all()
        self._thread.join(timeout=60)

    def _serve(self) -> None:
        try:
            while True:
                batch = self._next_batch()
                if batch is None:
                    return
                try:
                    self._run(batch)
                except BaseException as error:  # noqa: BLE001 - answered below
                    _fail(batch, f"unexpected failure: {_describe(error)}")
                finally:
                    _fail(batch, "the batch ended without a reply for this image")
        finally:
            with self._wake:
                self._closed = True
                left, self._pending = self._pending, []
            _fail(left, "the model's batching thread has stopped")

    def _next_batch(self) -> Optional[List[Job]]:
        with self._wake:
            while not self._pending and not self._closed:
                self._wake.wait()
            if self._closed:
                return None
            head = self._pending[0]
            latest = time.monotonic() + self.gather_max_s
            while self._matching(head) < head.batch_limit and not self._closed:
                deadline = min(latest, self._last_arrival + self.gather_idle_s)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._wake.wait(remaining)
            batch = [job for job in self._pending if job.key == head.key][: head.batch_limit]
            taken = set(map(id, batch))
            self._pending = [job for job in self._pending if id(job) not in taken]
            return batch

    def _matching(self, head: Job) -> int:
        return sum(1 for job in self._pending if job.key == head.key)

    def _run(self, batch: List[Job]) -> None:
        try:
            constraints = [job.constraint for job in batch]
            mask = self.grammars().mask(constraints) if any(constraints) else None
            replies, new_tokens = generate_replies(
                self.model, self.processor, self.device,
                [job.text for job in batch], [job.image for job in batch],
                batch[0].generation, on_generate=self.stats.record_call,
                logits_processors=[mask] if mask is not None else [],
            )
        except Exception as error:  # noqa: BLE001 - every caller gets an answer
            if not is_out_of_memory(error):
                _fail(batch, f"generation failed: {_describe(error)}")
                return
        else:
            for job, reply in zip(batch, replies):
                job.future.set_result(reply)
            self.stats.images += len(batch)
            self.stats.new_tokens += new_tokens
            return
        # Out of memory. Outside the `except` block the traceback, and with it
        # the batch's tensors, is released before the cache is emptied.
        self.stats.out_of_memory += 1
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.empty_cache()
        if len(batch) > 1:
            half = len(batch) // 2
            self._run(batch[:half])
            self._run(batch[half:])
            return
        _fail(batch, (
            f"out of memory on {self.device} even for a single image "
            f"(max_tokens={batch[0].generation.max_tokens}); lower `batch_size` or "
            "`max_tokens`, free the GPU of other work, or use a GPU with more memory."
        ))


def _fail(jobs: List[Job], message: str) -> None:
    for job in jobs:
        if not job.future.done():
            job.future.set_exception(ProviderError(PROVIDER, message))


def _describe(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
