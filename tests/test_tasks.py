"""The task table: every task type is one complete entry, and the manifest reads it."""

import pytest

from llama_vision_block.errors import ConfigurationError
from llama_vision_block.manifest import BlockManifest
from llama_vision_block.tasks import TASKS, TaskType, build_prompt, task_spec, tasks_needing
from inference.core.workflows.core_steps.common.vlms import VLM_TASKS_METADATA

SETTINGS = {"prompt": "How many cars?", "classes": ["car", "bus"], "output_structure": {"count": "cars"}}


def test_the_literal_and_the_table_agree():
    assert TaskType.__args__ == tuple(TASKS)


@pytest.mark.parametrize("task", TASKS)
def test_every_entry_builds_its_prompt_from_what_it_needs(task):
    spec = TASKS[task]
    assert spec.needs <= {"prompt", "classes", "output_structure"}
    given = {name: value for name, value in SETTINGS.items() if name in spec.needs}
    assert build_prompt(task, **given).text
    for missing in spec.needs:
        with pytest.raises(ConfigurationError, match=f"`{missing}`"):
            build_prompt(task, **{**given, missing: None})


def test_the_editor_wording_is_inferences_where_it_has_the_task_with_our_meaning():
    for task in ("unconstrained", "ocr", "visual-question-answering", "caption", "detailed-caption", "classification", "multi-label-classification"):
        assert (TASKS[task].name, TASKS[task].description) == tuple(VLM_TASKS_METADATA[task].values())
    # inference's "object-detection" is unprompted; ours finds the given classes.
    assert TASKS["object-detection"].name != VLM_TASKS_METADATA["object-detection"]["name"]


def test_json_tasks_interpret_their_replies_and_text_tasks_do_not():
    parsed = {task for task, spec in TASKS.items() if spec.interpret is not None}
    assert parsed == {"classification", "multi-label-classification", "structured-answering", "object-detection"}


def test_the_manifest_reads_the_table():
    schema = BlockManifest.model_json_schema()["properties"]
    assert set(schema["task_type"]["values_metadata"]) == set(TASKS)
    assert schema["classes"]["relevant_for"]["task_type"]["values"] == sorted(tasks_needing("classes"))
    assert schema["task_type"]["recommended_parsers"]["structured-answering"] == "roboflow_core/json_parser@v1"


def test_an_unknown_task_lists_the_known_ones():
    with pytest.raises(ConfigurationError, match="`task_type` 'segmentation' is not supported; use one of: unconstrained"):
        task_spec("segmentation")


@pytest.mark.parametrize(
    "task,outputs,summary",
    [
        ("classification", {"predictions": {"top": "car", "confidence": 0.9}}, "car (0.90)"),
        ("multi-label-classification", {"predictions": {"predicted_classes": []}}, "(no class)"),
        ("structured-answering", {"structured_output": {"a": 1}}, '{"a": 1}'),
        ("caption", {"output": "a car"}, None),
    ],
)
def test_each_task_says_what_an_annotated_image_shows(task, outputs, summary):
    assert TASKS[task].summary(outputs) == summary
