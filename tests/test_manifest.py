"""The manifest against the seed block's reference page."""

import pytest
from pydantic import ValidationError

from llama_vision_block.manifest import BLOCK_TYPE, SEED_BLOCK_TYPE, BlockManifest
from llama_vision_block.model_versions import MODEL_VARIANTS
from llama_vision_block.tasks import TASK_TYPES

VALID = {
    "type": BLOCK_TYPE,
    "name": "llama",
    "images": "$inputs.image",
    "task_type": "unconstrained",
    "prompt": "my prompt",
    "api_key": "xxx-xxx",
}

# The seed page's "Refs" column: which properties accept selectors.
SELECTOR_PROPERTIES = [
    "prompt", "classes", "api_key", "model_version", "temperature",
    # issue 4's additions a user would want to feed from inputs
    "base_url", "served_model_name", "cloudflare_account_id",
    "top_p", "top_k", "seed", "repetition_penalty", "frequency_penalty", "presence_penalty",
    # issue 5's
    "model_path", "device",
]
LITERAL_ONLY_PROPERTIES = {
    "task_type": "$inputs.task",
    "output_structure": "$inputs.structure",
    "max_tokens": "$inputs.max_tokens",
    "max_concurrent_requests": "$inputs.concurrency",
}


def test_seed_example_step_json_validates():
    # The example from the seed reference page, with its placeholders filled in.
    manifest = BlockManifest.model_validate(
        {
            "name": "step",
            "type": SEED_BLOCK_TYPE,
            "images": "$inputs.image",
            "task_type": "structured-answering",
            "prompt": "my prompt",
            "output_structure": {"my_key": "description"},
            "classes": ["class-a", "class-b"],
            "api_key": "xxx-xxx",
            "model_version": "11B (Free) - OpenRouter",
            "max_tokens": 300,
            "temperature": 0.5,
            "max_concurrent_requests": 4,
        }
    )
    assert manifest.output_structure == {"my_key": "description"}
    assert manifest.max_concurrent_requests == 4


def test_defaults_match_the_seed_block():
    manifest = BlockManifest.model_validate({**VALID, "type": SEED_BLOCK_TYPE})
    assert manifest.model_version == "11B (Free) - OpenRouter"  # the seed's, so the route applies
    assert manifest.max_tokens == 500
    assert manifest.temperature == 0.1
    assert manifest.max_concurrent_requests is None


def test_new_steps_default_to_a_live_provider():
    assert BlockManifest.model_validate(VALID).model_version == "11B - Cloudflare Workers AI"


def test_an_openrouter_step_needs_no_key_when_routed_to_a_provider_that_needs_none(monkeypatch):
    without_key = {k: v for k, v in VALID.items() if k != "api_key"}
    step = {**without_key, "type": SEED_BLOCK_TYPE, "model_version": "90B (Regular) - OpenRouter"}
    with pytest.raises(ValidationError, match="OpenRouter needs your API key"):
        BlockManifest.model_validate(step)
    monkeypatch.setenv("LLAMA_VISION_OPENROUTER_ROUTE", "11B - Ollama")
    assert BlockManifest.model_validate(step).model_version == "90B (Regular) - OpenRouter"
    monkeypatch.setenv("LLAMA_VISION_OPENROUTER_ROUTE", "11B - Cloudflare Workers AI")
    with pytest.raises(ValidationError, match="Cloudflare Workers AI needs your API key"):
        BlockManifest.model_validate(step)


def test_a_route_to_an_unknown_label_fails_compilation_naming_the_variable(monkeypatch):
    monkeypatch.setenv("LLAMA_VISION_OPENROUTER_ROUTE", "11B - Nowhere")
    with pytest.raises(ValidationError, match=r"\$LLAMA_VISION_OPENROUTER_ROUTE '11B - Nowhere' is not known"):
        BlockManifest.model_validate({**VALID, "model_version": "11B (Free) - OpenRouter"})


@pytest.mark.parametrize("field", SELECTOR_PROPERTIES)
def test_properties_with_refs_accept_selectors(field):
    manifest = BlockManifest.model_validate(
        {**VALID, "task_type": "classification", "classes": ["a"], field: f"$inputs.{field}"}
    )
    assert getattr(manifest, field) == f"$inputs.{field}"


@pytest.mark.parametrize("field,selector", LITERAL_ONLY_PROPERTIES.items())
def test_properties_without_refs_reject_selectors(field, selector):
    with pytest.raises(ValidationError):
        BlockManifest.model_validate({**VALID, field: selector})


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_every_task_type_is_accepted_with_its_requirements(task_type):
    manifest = BlockManifest.model_validate(
        {
            **VALID,
            "task_type": task_type,
            "classes": ["a", "b"],
            "output_structure": {"k": "v"},
        }
    )
    assert manifest.task_type == task_type


@pytest.mark.parametrize("label", MODEL_VARIANTS)
def test_every_model_version_label_is_accepted(label):
    assert BlockManifest.model_validate({**VALID, "model_version": label}).model_version == label


@pytest.mark.parametrize(
    "change,message",
    [
        ({"task_type": "unconstrained", "prompt": None}, "`prompt` is required for task_type 'unconstrained'"),
        ({"task_type": "visual-question-answering", "prompt": None}, "`prompt` is required"),
        ({"task_type": "classification"}, "`classes` is required for task_type 'classification'"),
        ({"task_type": "multi-label-classification"}, "`classes` is required"),
        ({"task_type": "object-detection"}, "`classes` is required for task_type 'object-detection'"),
        ({"task_type": "structured-answering"}, "`output_structure` is required"),
        ({"task_type": "structured-answering", "output_structure": {}}, "`output_structure` is required"),
        ({"temperature": 2.5}, "`temperature` must be in the range 0.0-2.0; got 2.5"),
        ({"temperature": -0.1}, "`temperature` must be in the range 0.0-2.0"),
        ({"max_tokens": 1}, "greater than 1"),
        ({"max_concurrent_requests": 0}, "greater than or equal to 1"),
        ({"batch_size": 0}, "greater than or equal to 1"),
        ({"model_version": "7B - Nowhere"}, "model_version"),
        ({"top_p": 2.1}, "`top_p` must be in the range 0.0-2.0; got 2.1"),
        ({"top_k": 0}, "`top_k` must be in the range 1-50; got 0"),
        ({"top_k": 51}, "`top_k` must be in the range 1-50"),
        ({"seed": 0}, "`seed` must be in the range 1-9999999999"),
        ({"seed": 10_000_000_000}, "`seed` must be in the range 1-9999999999"),
        ({"repetition_penalty": -1}, "`repetition_penalty` must be in the range 0.0-2.0"),
        ({"frequency_penalty": 2.5}, "`frequency_penalty` must be in the range 0.0-2.0"),
        ({"presence_penalty": 3}, "`presence_penalty` must be in the range 0.0-2.0"),
        (
            {"api_key": None, "model_version": "11B (Free) - OpenRouter"},
            "`api_key` is required for model_version '11B (Free) - OpenRouter': OpenRouter needs your API key",
        ),
        (
            {"api_key": None, "model_version": "11B - Cloudflare Workers AI"},
            "`api_key` is required for model_version '11B - Cloudflare Workers AI': Cloudflare Workers AI needs",
        ),
        ({"task_type": "segmentation"}, "task_type"),
    ],
)
def test_invalid_steps_name_the_field(change, message):
    with pytest.raises(ValidationError) as caught:
        BlockManifest.model_validate({**VALID, **change})
    assert message in str(caught.value)


@pytest.mark.parametrize("label", ["11B - OpenAI-compatible server", "90B - OpenAI-compatible server", "$inputs.model"])
def test_api_key_is_optional_for_compatible_servers_and_selected_models(label):
    without_key = {k: v for k, v in VALID.items() if k != "api_key"}
    assert BlockManifest.model_validate({**without_key, "model_version": label}).api_key is None


def test_sampling_values_at_the_edges_are_accepted():
    manifest = BlockManifest.model_validate(
        {**VALID, "top_p": 0.0, "top_k": 50, "seed": 9_999_999_999, "repetition_penalty": 2.0,
         "frequency_penalty": 0, "presence_penalty": 2, "temperature": 2.0}
    )
    assert (manifest.top_k, manifest.seed, manifest.temperature) == (50, 9_999_999_999, 2.0)


def test_provider_properties_are_shown_for_their_model_versions():
    properties = BlockManifest.model_json_schema()["properties"]
    servers = ["11B - Ollama", "90B - Ollama", "Llama 4 Scout - Ollama", "11B - OpenAI-compatible server", "90B - OpenAI-compatible server",
               "Llama 4 Scout - OpenAI-compatible server", "Llama 4 Maverick - OpenAI-compatible server"]
    assert properties["base_url"]["relevant_for"]["model_version"]["values"] == servers
    assert properties["served_model_name"]["relevant_for"]["model_version"]["values"] == servers
    cloudflare = ["11B - Cloudflare Workers AI", "Llama 4 Scout - Cloudflare Workers AI"]
    assert properties["cloudflare_account_id"]["relevant_for"]["model_version"]["values"] == cloudflare
    assert properties["cloudflare_accept_llama_license"]["default"] is False
    local = ["11B - Local GPU (transformers)", "90B - Local GPU (transformers)", "Llama 4 Scout - Local GPU (transformers)"]
    for name in ("model_path", "device", "batch_size"):
        assert properties[name]["relevant_for"]["model_version"]["values"] == local


def test_schema_declares_what_the_editor_needs():
    schema = BlockManifest.model_json_schema()
    assert schema["name"] == "Llama 3.2 Vision"
    assert schema["version"] == "v1"
    assert schema["block_type"] == "model"
    assert schema["license"] == "Llama 3.2 Community"
    assert "Llama" in schema["search_keywords"]
    assert schema["short_description"] and schema["long_description"]
    properties = schema["properties"]
    assert properties["type"]["enum"] == [BLOCK_TYPE, SEED_BLOCK_TYPE]
    assert properties["api_key"]["private"] is True
    task_type = properties["task_type"]
    assert set(task_type["values_metadata"]) == set(TASK_TYPES)
    assert task_type["recommended_parsers"]["classification"] == "roboflow_core/vlm_as_classifier@v2"
    assert properties["prompt"]["relevant_for"]["task_type"] == {
        "values": ["unconstrained", "visual-question-answering"],
        "required": True,
    }
    assert properties["classes"]["relevant_for"]["task_type"]["required"] is True
    assert properties["output_structure"]["relevant_for"]["task_type"]["values"] == [
        "structured-answering"
    ]


def _kinds(outputs):
    return {o.name: [k.name for k in o.kind] for o in outputs}


def test_outputs_and_batch_input():
    assert _kinds(BlockManifest.describe_outputs()) == {
        "output": ["string", "language_model_output"],
        "classes": ["list_of_values"],
        "structured_output": ["dictionary"],
        "predictions": ["classification_prediction", "object_detection_prediction"],
        "error_status": ["boolean"],
        "error_message": ["string"],
        "inference_id": ["inference_id"],
        "input_tokens": ["integer"],
        "output_tokens": ["integer"],
        "latency_s": ["float"],
    }
    assert BlockManifest.get_parameters_accepting_batches() == ["images"]


@pytest.mark.parametrize(
    "task_type,prediction_kinds",
    [
        ("classification", ["classification_prediction"]),
        ("multi-label-classification", ["classification_prediction"]),
        ("object-detection", ["object_detection_prediction"]),
        ("ocr", ["classification_prediction", "object_detection_prediction"]),
    ],
)
def test_actual_outputs_narrow_predictions_to_the_task(task_type, prediction_kinds):
    manifest = BlockManifest.model_validate({**VALID, "task_type": task_type, "classes": ["a"]})
    assert _kinds(manifest.get_actual_outputs())["predictions"] == prediction_kinds


def test_constrained_decoding_defaults_to_auto_and_is_shown_for_the_json_tasks():
    assert BlockManifest.model_validate(VALID).constrained_decoding == "auto"
    shown = BlockManifest.model_json_schema()["properties"]["constrained_decoding"]["relevant_for"]
    assert shown["task_type"]["values"] == sorted(
        ["classification", "multi-label-classification", "structured-answering", "object-detection"]
    )
    with pytest.raises(ValidationError, match="constrained_decoding"):
        BlockManifest.model_validate({**VALID, "constrained_decoding": "strict"})


def test_a_required_schema_that_cannot_fit_max_tokens_fails_compilation_and_auto_does_not():
    step = {**VALID, "task_type": "object-detection", "classes": ["car"], "max_tokens": 60}
    with pytest.raises(ValidationError, match="`max_tokens` 60 is too small for a constrained object-detection answer"):
        BlockManifest.model_validate({**step, "constrained_decoding": "required"})
    assert BlockManifest.model_validate(step).max_tokens == 60  # as before: answered unconstrained


@pytest.mark.parametrize("step_type", [BLOCK_TYPE, SEED_BLOCK_TYPE])
def test_a_step_without_max_tokens_gets_its_tasks_default(step_type):
    detection = BlockManifest.model_validate({**VALID, "type": step_type, "task_type": "object-detection", "classes": ["car"]})
    seed_task = BlockManifest.model_validate({**VALID, "type": step_type, "task_type": "classification", "classes": ["car"]})
    chosen = BlockManifest.model_validate(
        {**VALID, "type": step_type, "task_type": "object-detection", "classes": ["car"], "max_tokens": 300}
    )
    assert detection.max_tokens == 6144  # room for at least 50 boxes
    assert seed_task.max_tokens == 500  # the seed block's, for the seed's task types
    assert chosen.max_tokens == 300
