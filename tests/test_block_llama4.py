"""Llama 4 beside Llama 3.2 in inference's real engine: labels, route, images, adapters."""

import json

import pytest
from inference.core.workflows.errors import RuntimeInputError
from pydantic import ValidationError

from llama_vision_block.manifest import BlockManifest
from support.chat_server import ChatServer, chat_completion, image_size_text
from support.images import make_image
from support.tiny_llama4 import build_tiny_llama4
from support.workflows import run_workflow, single_step_workflow

SEED_STEP = {"type": "roboflow_core/llama_3_2_vision@v1", "task_type": "caption", "api_key": "$inputs.api_key"}
INPUTS = [{"type": "WorkflowParameter", "name": "api_key"}]


def test_a_seed_step_routed_to_llama_4_on_openrouter_keeps_its_openrouter_key(chat_server, monkeypatch):
    monkeypatch.setenv("LLAMA_VISION_OPENROUTER_ROUTE", "Llama 4 Scout - OpenRouter")
    chat_server.responder = lambda request: (200, chat_completion(image_size_text(request)))
    step = {**SEED_STEP, "model_version": "11B (Free) - OpenRouter"}

    result = run_workflow(single_step_workflow(step, INPUTS), {"image": make_image(64, 48), "api_key": "sk-or-seed-key-1"})

    assert result[0]["llama"]["output"] == "64x48"
    (request,) = chat_server.requests
    assert request.body["model"] == "meta-llama/llama-4-scout"
    assert request.headers["authorization"] == "Bearer sk-or-seed-key-1"


@pytest.mark.parametrize(
    "label,expected",
    [("11B (Regular) - OpenRouter", (1120, 630)), ("Llama 4 Maverick - OpenRouter", (1680, 945))],
)
def test_each_family_gets_the_image_its_processor_reads_and_no_more(chat_server, monkeypatch, label, expected):
    monkeypatch.delenv("LLAMA_VISION_OPENROUTER_ROUTE", raising=False)
    chat_server.responder = lambda request: (200, chat_completion(image_size_text(request)))
    step = {**SEED_STEP, "model_version": label}
    result = run_workflow(single_step_workflow(step, INPUTS), {"image": make_image(1920, 1080), "api_key": "sk-or-x-123"})
    assert result[0]["llama"]["output"] == "{}x{}".format(*expected)


def test_an_adapter_for_a_provider_that_cannot_apply_it_is_refused_when_the_workflow_compiles():
    step = {"type": "llama_vision_block/llama_3_2_vision@v1", "name": "s", "images": "$inputs.image",
            "task_type": "caption", "model_version": "11B - Ollama", "lora": "my-finetune"}
    with pytest.raises(ValidationError, match="`lora` is read by Cloudflare Workers AI only, and this step runs on Ollama"):
        BlockManifest.model_validate(step)
    with pytest.raises(ValidationError, match="served_model_name"):
        BlockManifest.model_validate({**step, "model_version": "11B - OpenAI-compatible server"})


def test_an_adapter_from_a_selector_is_refused_before_anything_is_sent(chat_server, monkeypatch):
    monkeypatch.setenv("LLAMA_VISION_OPENROUTER_ROUTE", "Llama 4 Scout - OpenRouter")
    step = {**SEED_STEP, "model_version": "11B (Free) - OpenRouter", "lora": "$inputs.lora"}
    inputs = [*INPUTS, {"type": "WorkflowParameter", "name": "lora"}]
    with pytest.raises(RuntimeInputError, match="regarding property lora") as raised:
        run_workflow(single_step_workflow(step, inputs), {"image": make_image(8, 8), "api_key": "k" * 12, "lora": "x"})
    assert "`lora` is read by Cloudflare Workers AI only" in str(raised.value.inner_error)
    assert chat_server.requests == []


def test_llama_4_runs_in_process_through_the_engine(tmp_path):
    checkpoint = build_tiny_llama4(tmp_path / "tiny-llama4")
    step = {"type": "llama_vision_block/llama_3_2_vision@v1", "task_type": "classification", "classes": ["car", "bus"],
            "model_version": "Llama 4 Scout - Local GPU (transformers)", "model_path": str(checkpoint),
            "device": "cpu", "temperature": 1.0, "seed": 3, "max_tokens": 120}
    result = run_workflow(single_step_workflow(step, []), {"image": [make_image(90, 60, seed=i) for i in range(2)]})
    for item in result:  # constrained by default: even a random Llama 4 answers with a class
        assert item["llama"]["error_status"] is False, item["llama"]["error_message"]
        assert item["llama"]["predictions"]["top"] in ("car", "bus")
        assert json.loads(item["llama"]["output"])["class_name"] in ("car", "bus")


@pytest.mark.parametrize(
    "label,model",
    [("Llama 4 Scout - OpenAI-compatible server", "meta-llama/Llama-4-Scout-17B-16E-Instruct"),
     ("Llama 4 Maverick - OpenAI-compatible server", "meta-llama/Llama-4-Maverick-17B-128E-Instruct")],
)
def test_a_compatible_server_gets_llama_4s_model_id_and_its_image_as_a_data_url(label, model):
    server = ChatServer(responder=lambda request: (200, chat_completion(image_size_text(request))), base_path="/v1").start()
    try:
        step = {"type": "llama_vision_block/llama_3_2_vision@v1", "task_type": "caption", "model_version": label,
                "base_url": "$inputs.base_url"}
        inputs = [{"type": "WorkflowParameter", "name": "base_url"}]
        result = run_workflow(single_step_workflow(step, inputs), {"image": make_image(4000, 3000), "base_url": server.base_url})
    finally:
        server.stop()
    assert result[0]["llama"]["output"] == "1344x1008"  # what Llama 4's processor reads of 4000x3000
    (request,) = server.requests
    assert request.body["model"] == model
    (message,) = request.body["messages"]
    assert [part["type"] for part in message["content"]] == ["image_url", "text"]
    assert "authorization" not in request.headers
