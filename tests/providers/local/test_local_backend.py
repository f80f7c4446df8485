"""The local-transformers backend, end to end on CPU with a tiny random Mllama.

Every test loads the checkpoint through `create_backend`, the code path the block
uses. Tests that count loads, watch batches or wrap the model's `generate` work on
their own copy of the checkpoint, so they get their own cache entry and batcher.
"""

import io
import logging
import re
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch
from PIL import Image

from llama_vision_block.errors import ProviderError
from llama_vision_block.images import EncodedImage, encode_image
from llama_vision_block.prompts import Prompt
from llama_vision_block.tasks import TASK_TYPES, build_prompt
from llama_vision_block.providers.base import Generation, ProviderSettings, Reply, VisionRequest
from llama_vision_block.providers.local import backend as local_transformers
from llama_vision_block.providers.local.model_cache import MODEL_CACHE
from support.images import make_image
from support.tiny_mllama import SYSTEM_WITH_IMAGE_ERROR

MODEL = "meta-llama/Llama-3.2-11B-Vision-Instruct"
GREEDY = Generation(max_tokens=8, temperature=0.0)
SEEDED = Generation(max_tokens=8, temperature=1.0, top_k=50, seed=7)


def backend_for(path, batch_size=None):
    return local_transformers.create_backend(
        MODEL, ProviderSettings(options={"model_path": str(path), "device": "cpu", "batch_size": batch_size})
    )


def widen_gathering(backend):
    """Lets the batcher wait long enough for concurrent callers to surely meet."""
    backend.loaded.batcher.gather_idle_s = backend.loaded.batcher.gather_max_s = 0.5


def make_requests(count, generation=GREEDY):
    return [
        VisionRequest(
            prompt=Prompt(text=f"What is in picture {i}?" + (" Be brief." if i % 2 else "")),
            image=encode_image(make_image(40 + 9 * i, 30 + 4 * i, seed=i)),
            generation=generation,
        )
        for i in range(count)
    ]


def run_concurrently(backend, requests):
    """Calls `complete` from one thread per request, all released at once."""
    start = threading.Barrier(len(requests))

    def call(request):
        start.wait()
        try:
            return backend.complete(request)
        except ProviderError as error:
            return error

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        futures = [pool.submit(call, request) for request in requests]
        return [future.result(timeout=120) for future in futures]


def oom_when_batched(model, error):
    """Makes the model's `generate` raise `error` for any batch of more than one image."""
    real_generate = model.generate
    sizes = []

    def generate(**inputs):
        if inputs["input_ids"].shape[0] > 1:
            raise error
        sizes.append(inputs["input_ids"].shape[0])
        return real_generate(**inputs)

    model.generate = generate
    return sizes


def test_concurrent_requests_are_batched_and_each_caller_gets_its_own_reply(own_checkpoint):
    backend = backend_for(own_checkpoint, batch_size=4)
    requests = make_requests(6)
    alone = [backend.complete(request) for request in requests]
    assert backend.stats.batch_sizes == [1] * 6
    assert len(set(alone)) > 1, "the tiny model should answer different requests differently"
    widen_gathering(backend)

    together = run_concurrently(backend, requests)

    # Replies compare with their token counts: padding in a batch counts for no row.
    assert together == alone
    batches = backend.stats.batch_sizes[6:]
    assert sum(batches) == 6 and max(batches) <= 4 and max(batches) > 1
    assert backend.stats.images == 12 and backend.stats.new_tokens > 0


def test_a_reply_is_cut_off_exactly_when_it_hit_max_tokens(own_checkpoint):
    backend = backend_for(own_checkpoint)
    long_ones = []
    for request in make_requests(6, Generation(max_tokens=24, temperature=0.0)):
        before = backend.stats.new_tokens
        reply = backend.complete(request)
        generated = backend.stats.new_tokens - before
        assert 0 < generated <= 24
        assert reply.output_tokens == generated
        if generated < 24:
            assert not reply.cut_off
        if reply.cut_off:
            assert generated == 24
        if generated > 3:
            long_ones.append(request)
    assert long_ones
    short = VisionRequest(long_ones[0].prompt, long_ones[0].image, Generation(2, 0.0))
    assert backend.complete(short).cut_off


def test_greedy_decoding_is_deterministic(tiny_checkpoint):
    backend = backend_for(tiny_checkpoint)
    (request,) = make_requests(1)
    assert backend.complete(request) == backend.complete(request)


def test_seeded_sampling_is_reproducible_even_when_requests_overlap(own_checkpoint):
    backend = backend_for(own_checkpoint, batch_size=4)
    widen_gathering(backend)
    request = make_requests(1, SEEDED)[0]
    first = backend.complete(request)

    assert run_concurrently(backend, [request] * 3) == [first] * 3
    # A seeded, sampled request runs alone, so its batch-mates cannot change it.
    assert set(backend.stats.batch_sizes) == {1}
    other_seeds = {
        backend.complete(VisionRequest(request.prompt, request.image, Generation(8, 1.0, top_k=50, seed=s)))
        for s in range(8, 12)
    }
    assert other_seeds - {first}, "different seeds should sample differently"


def test_the_model_is_loaded_once_for_every_step_and_run(own_checkpoint):
    start = threading.Barrier(3)

    def create(batch_size):
        start.wait()
        return backend_for(own_checkpoint, batch_size=batch_size)

    with ThreadPoolExecutor(max_workers=3) as pool:
        backends = list(pool.map(create, [1, 2, 4]))
    key = backends[0].loaded.key
    (request,) = make_requests(1)
    replies = {backend.complete(request) for backend in backends}
    later = backend_for(own_checkpoint)

    assert MODEL_CACHE.load_count(key) == 1
    assert all(backend.loaded is later.loaded for backend in backends)
    assert len(replies) == 1 and later.complete(request) in replies
    assert key.device == "cpu" and key.dtype == "float32"


def test_loading_never_touches_the_network(own_checkpoint, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the local backend tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    (request,) = make_requests(1)
    assert isinstance(backend_for(own_checkpoint).complete(request), Reply)


def test_cpu_warning_is_logged_once_per_loaded_model(own_checkpoint, caplog):
    caplog.set_level(logging.WARNING)
    (request,) = make_requests(1)
    for _ in range(2):
        backend_for(own_checkpoint).complete(request)
    cpu_warnings = [r for r in caplog.records if "runs on the CPU" in r.getMessage()]
    assert len(cpu_warnings) == 1


def test_ignored_penalties_are_warned_about_once_per_run(tiny_checkpoint, caplog):
    from llama_vision_block.model_versions import MODEL_VARIANTS
    from llama_vision_block.providers.registry import create_backend

    caplog.set_level(logging.WARNING)
    generation = Generation(max_tokens=4, temperature=0.0, frequency_penalty=0.5, presence_penalty=0.3)
    settings = ProviderSettings(options={"model_path": str(tiny_checkpoint), "device": "cpu"})
    backend = create_backend(MODEL_VARIANTS["11B - Local GPU (transformers)"], settings, generation)
    (request,) = make_requests(1, generation)
    assert backend.complete(request) == backend.complete(request)
    ignored = [r.getMessage() for r in caplog.records if "ignored" in r.getMessage()]
    assert sorted(ignored) == sorted(local_transformers.PARAMETER_NOTES.values())


def test_repetition_penalty_top_p_and_top_k_reach_generate(tiny_checkpoint):
    backend = backend_for(tiny_checkpoint)
    (plain,) = make_requests(1)
    penalised = VisionRequest(plain.prompt, plain.image, Generation(8, 0.0, repetition_penalty=1.9))
    # transformers' own repetition penalty fails on the <|image|> id; ours runs.
    assert isinstance(backend.complete(penalised), Reply)
    sampled = VisionRequest(plain.prompt, plain.image, Generation(8, 0.7, top_p=0.5, top_k=3, seed=1))
    assert backend.complete(sampled) == backend.complete(sampled)


@pytest.mark.parametrize(
    "error",
    [
        torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        RuntimeError("CUDA error: out of memory"),
    ],
    ids=["OutOfMemoryError", "RuntimeError"],
)
def test_out_of_memory_splits_the_batch_down_to_single_images(own_checkpoint, error):
    backend = backend_for(own_checkpoint, batch_size=4)
    requests = make_requests(6)
    alone = [backend.complete(request) for request in requests]
    widen_gathering(backend)
    succeeded = oom_when_batched(backend.loaded.model, error)

    assert run_concurrently(backend, requests) == alone

    assert succeeded == [1] * 6  # every request ran exactly once
    assert backend.stats.out_of_memory >= 1
    assert max(backend.stats.batch_sizes[6:]) > 1


def test_a_single_image_that_runs_out_of_memory_is_a_provider_error(own_checkpoint):
    backend = backend_for(own_checkpoint, batch_size=4)
    widen_gathering(backend)
    model = backend.loaded.model

    def generate(**inputs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    model.generate = generate
    replies = run_concurrently(backend, make_requests(3))

    for reply in replies:
        assert isinstance(reply, ProviderError)
        assert reply.provider == "Local GPU (transformers)"
        assert "out of memory" in str(reply) and "even for a single image" in str(reply)
        assert "`batch_size`" in str(reply) and "`max_tokens`" in str(reply)


def test_any_other_failure_reaches_every_caller_of_the_batch(own_checkpoint):
    backend = backend_for(own_checkpoint, batch_size=4)
    widen_gathering(backend)
    calls = []

    def generate(**inputs):
        calls.append(inputs["input_ids"].shape[0])
        raise ValueError("the weights are haunted")

    backend.loaded.model.generate = generate
    replies = run_concurrently(backend, make_requests(4))

    assert calls == [4]  # not retried: only out-of-memory errors split a batch
    assert all(isinstance(reply, ProviderError) for reply in replies)
    assert all("ValueError: the weights are haunted" in str(reply) for reply in replies)
    del backend.loaded.model.generate
    (request,) = make_requests(1)
    assert isinstance(backend.complete(request), Reply), "the batcher keeps serving"


def test_model_path_from_the_environment(tiny_checkpoint, monkeypatch):
    monkeypatch.setenv(local_transformers.MODEL_PATH_ENV, str(tiny_checkpoint))
    backend = local_transformers.create_backend(MODEL, ProviderSettings(options={"device": "cpu"}))
    assert backend.loaded.key.path == str(tiny_checkpoint.resolve())
    assert backend.batch_size == local_transformers.DEFAULT_BATCH_SIZE_CPU


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_every_task_renders_in_metas_prompt_format(tiny_checkpoint, task_type):
    processor = backend_for(tiny_checkpoint).loaded.processor
    prompt = build_prompt(task_type, prompt="How many cars?", classes=["car", "bus"], output_structure={"count": "cars"})
    rendered = local_transformers.render_prompt(processor, prompt)
    # Meta's documented format for Llama 3.2 Vision: one user turn, the image
    # first, then the instructions; no system turn.
    assert rendered == (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n"
        f"<|image|>{prompt.text}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
    )


def test_the_test_checkpoint_refuses_a_system_message_beside_an_image_as_metas_does(tiny_checkpoint):
    processor = backend_for(tiny_checkpoint).loaded.processor
    messages = [
        {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What?"}]},
    ]
    with pytest.raises(Exception, match=re.escape(SYSTEM_WITH_IMAGE_ERROR)):
        processor.apply_chat_template(messages, add_generation_prompt=True)
    text_only = [messages[0], {"role": "user", "content": [{"type": "text", "text": "What?"}]}]
    assert "<|start_header_id|>system" in processor.apply_chat_template(text_only, add_generation_prompt=True)


def test_a_template_that_refuses_the_prompt_stops_the_step_with_its_message(own_checkpoint):
    backend = backend_for(own_checkpoint)
    backend.loaded.processor.chat_template = "{{ raise_exception('This checkpoint takes no images.') }}"
    with pytest.raises(ProviderError, match="the checkpoint's chat template refused the prompt: This checkpoint takes no images.") as caught:
        backend.complete(make_requests(1)[0])
    assert caught.value.fails_every_request


def test_input_tokens_count_the_rendered_prompt(tiny_checkpoint):
    backend = backend_for(tiny_checkpoint)
    (request,) = make_requests(1)
    text = local_transformers.render_prompt(backend.loaded.processor, request.prompt)
    expected = len(backend.loaded.processor.tokenizer(text, add_special_tokens=False)["input_ids"])
    reply = backend.complete(request)
    assert reply.input_tokens == expected > 5
    assert 0 < reply.output_tokens <= GREEDY.max_tokens


def test_images_are_decoded_upright_in_rgb():
    pixels = make_image(30, 20)
    pixels[:, :, :] = (255, 0, 0)  # BGR: pure blue
    decoded = local_transformers.decode_image(encode_image(pixels))
    assert decoded.mode == "RGB" and decoded.size == (30, 20)
    red, green, blue = decoded.getpixel((15, 10))
    assert blue > 200 and red < 60 and green < 60

    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    buffer = io.BytesIO()
    Image.new("RGB", (30, 20)).save(buffer, format="JPEG", exif=exif)
    rotated = local_transformers.decode_image(EncodedImage(30, 20, None, data=buffer.getvalue()))
    assert rotated.size == (20, 30)


def test_an_undecodable_image_is_a_provider_error():
    with pytest.raises(ProviderError, match="the image could not be decoded"):
        local_transformers.decode_image(EncodedImage(1, 1, None, data=b"not a jpeg"))
