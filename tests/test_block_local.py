"""The in-process backend through inference's real engine, with a tiny random Mllama."""

import json

import pytest

from llama_vision_block import schemas
from llama_vision_block.providers.local.model_cache import MODEL_CACHE
from llama_vision_block.task_inputs import TaskInputs
from llama_vision_block.tasks import TASK_TYPES, TASKS
from support.images import make_image
from support.tiny_mllama import build_tiny_mllama
from support.workflows import run_workflow, single_step_workflow

INPUTS = [{"type": "WorkflowParameter", "name": "model_path"}]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return build_tiny_mllama(tmp_path_factory.mktemp("tiny-mllama"))


def _step(**extra):
    return {
        "type": "roboflow_core/llama_3_2_vision@v1",
        "task_type": "caption",
        "model_version": "11B - Local GPU (transformers)",
        "model_path": "$inputs.model_path",
        "device": "cpu",
        "temperature": 0.0,
        "max_tokens": 6,
        **extra,
    }


def test_local_model_answers_every_image_in_order_and_loads_once(checkpoint):
    workflow = single_step_workflow(_step(batch_size=3, max_concurrent_requests=4), INPUTS)
    images = [make_image(40 + 10 * i, 30, seed=i) for i in range(5)]
    loads_before = MODEL_CACHE.load_count()

    first = [item["llama"] for item in run_workflow(workflow, {"image": images, "model_path": str(checkpoint)})]
    second = [item["llama"] for item in run_workflow(workflow, {"image": images, "model_path": str(checkpoint)})]

    assert len(first) == 5
    assert all(isinstance(o["output"], str) for o in first)
    # A random model rarely ends its turn: a reply that stops at max_tokens says so.
    cut_off = "the reply was cut off at max_tokens=6; raise `max_tokens` for complete answers"
    # It may also write only special tokens, which decode to nothing: never a success.
    empty = "the model answered with an empty reply"
    assert {o["error_message"] for o in first} <= {"", cut_off, empty, f"{empty}; {cut_off}"}
    assert all(o["error_status"] == bool(o["error_message"]) for o in first)
    assert all(o["error_status"] or o["output"].strip() for o in first)
    assert [o["output"] for o in first] == [o["output"] for o in second]  # greedy: deterministic
    assert MODEL_CACHE.load_count() - loads_before <= 1  # the second run reused the model


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_every_task_type_answers_with_a_checkpoint_that_enforces_metas_template(checkpoint, task_type):
    settings = {"prompt": "How many cars?", "classes": ["car", "bus"], "output_structure": {"count": "cars"}}
    workflow = single_step_workflow(_step(task_type=task_type, batch_size=2, **settings), INPUTS)
    images = [make_image(48, 40, seed=i) for i in range(2)]

    outputs = [item["llama"] for item in run_workflow(workflow, {"image": images, "model_path": str(checkpoint)})]

    for image in outputs:
        # Generated: any error left is about reading a random model's reply as
        # JSON, never the template refusing the prompt.
        assert "Local GPU (transformers)" not in image["error_message"], image["error_message"]
        assert isinstance(image["output"], str)
        assert image["input_tokens"] > 0 and 0 < image["output_tokens"] <= 6


def test_each_image_gets_its_own_reply_not_a_neighbours(checkpoint):
    workflow = single_step_workflow(_step(batch_size=4, max_concurrent_requests=4), INPUTS)
    images = [make_image(64, 48, seed=s) for s in (11, 22, 33)]
    together = [item["llama"]["output"] for item in run_workflow(workflow, {"image": images, "model_path": str(checkpoint)})]
    alone = [
        run_workflow(workflow, {"image": [image], "model_path": str(checkpoint)})[0]["llama"]["output"]
        for image in images
    ]
    assert together == alone


def test_missing_model_path_stops_the_step_naming_the_path(tmp_path):
    from inference.core.workflows.errors import StepExecutionError

    missing = tmp_path / "nowhere"
    with pytest.raises(StepExecutionError) as caught:
        run_workflow(single_step_workflow(_step(), INPUTS), {"image": make_image(8, 8), "model_path": str(missing)})
    assert str(missing) in str(caught.value)



@pytest.mark.parametrize("task_type", ["classification", "multi-label-classification", "structured-answering", "object-detection"])
def test_json_tasks_answer_validly_by_default_in_process(checkpoint, task_type):
    """Constrained decoding is on by default: even a random model's answers read."""
    classes = ["car", "bus", "traffic light"]
    settings = {"classes": classes, "output_structure": {"count": "cars", "colour": "main colour"}}
    step = _step(
        type="llama_vision_block/llama_3_2_vision@v1", task_type=task_type, temperature=1.0, seed=7,
        max_tokens=500, **settings,
    )
    images = [make_image(48 + 8 * i, 40, seed=i) for i in range(4)]

    outputs = [item["llama"] for item in run_workflow(single_step_workflow(step, INPUTS), {"image": images, "model_path": str(checkpoint)})]

    for image in outputs:
        assert image["error_status"] is False, image["error_message"]
        if task_type == "structured-answering":
            assert set(image["structured_output"]) == {"count", "colour"}
        elif task_type == "object-detection":
            assert set(image["predictions"].data["class_name"]) <= set(classes)
        elif task_type == "classification":
            assert image["predictions"]["top"] in classes
        else:
            assert set(image["predictions"]["predicted_classes"]) <= set(classes)


@pytest.mark.parametrize(
    "task_type, classes, max_tokens, key",
    [
        ("object-detection", ["car", "bus"], 100, "detections"),
        ("multi-label-classification", ["car", "bus", "truck", "bike", "person"], 90, "predicted_classes"),
    ],
)
def test_a_constrained_list_that_fills_its_bound_keeps_its_answer_and_is_flagged(
    checkpoint, task_type, classes, max_tokens, key
):
    # xgrammar holds the random model to the schema: at this max_tokens the list
    # has room for one entry, fewer than the answer could need.
    bound = schemas.budget_item_limits(TASKS[task_type].json_schema(TaskInputs(classes=classes), max_tokens))[key]
    step = _step(task_type=task_type, classes=classes, max_tokens=max_tokens, temperature=1.0, seed=7,
                 constrained_decoding="required", batch_size=4)
    images = [make_image(48, 40, seed=i) for i in range(4)]

    outputs = [item["llama"] for item in run_workflow(single_step_workflow(step, INPUTS), {"image": images, "model_path": str(checkpoint)})]

    flagged = 0
    for image in outputs:
        entries = len(json.loads(image["output"])[key])
        at_bound = (
            f"the answer holds {entries} entries in '{key}', the most that max_tokens leaves room for, "
            "so more may have been left out; raise `max_tokens` for a complete list"
        )
        assert (entries >= bound) == (at_bound in image["error_message"]), image
        assert image["error_status"] is bool(image["error_message"])
        assert image["predictions"] is not None  # the answer is kept
        flagged += entries >= bound
    assert flagged  # the random model filled its list on at least one image


@pytest.mark.parametrize("task_type", ["classification", "multi-label-classification", "structured-answering", "object-detection"])
def test_an_answer_stopped_at_max_tokens_is_flagged_in_every_json_task(checkpoint, task_type):
    # The backend knows a row hit max_tokens when it holds no end-of-turn token.
    settings = {"classes": ["car", "bus"], "output_structure": {"count": "cars"}}
    step = _step(task_type=task_type, max_tokens=2, constrained_decoding="off", batch_size=2, **settings)
    images = [make_image(48, 40, seed=i) for i in range(3)]

    outputs = [item["llama"] for item in run_workflow(single_step_workflow(step, INPUTS), {"image": images, "model_path": str(checkpoint)})]

    cut = [image for image in outputs if image["error_message"].startswith("the reply was cut off at max_tokens=2")]
    assert cut  # a random model rarely ends its turn within 2 tokens
    assert all(image["error_status"] is True and image["output_tokens"] == 2 for image in cut)
    # One that did end (its end-of-turn token counts) is read as its task reads any reply.
    ended = [image for image in outputs if image not in cut]
    assert all("cut off" not in image["error_message"] for image in ended)
