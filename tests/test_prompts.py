import json

import pytest

from llama_vision_block.errors import ConfigurationError
from llama_vision_block.prompts import PROMPT_BUILDERS, Prompt, build_prompt, to_chat_messages
from llama_vision_block.tasks import TASK_TYPES

ARGS = {"prompt": "How many cars?", "classes": ["car", "truck"], "output_structure": {"count": "number of cars"}}


def test_there_is_one_builder_per_task_type():
    assert set(PROMPT_BUILDERS) == set(TASK_TYPES)


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_every_builder_gives_text_after_the_image(task_type):
    prompt = build_prompt(task_type, **ARGS)
    messages = to_chat_messages(prompt, "data:image/jpeg;base64,AAAA")
    user = messages[-1]
    assert user["role"] == "user"
    assert user["content"][0] == {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AAAA"}}
    assert user["content"][1]["type"] == "text" and user["content"][1]["text"].strip()


def test_unconstrained_sends_the_prompt_alone():
    assert build_prompt("unconstrained", prompt="Describe it") == Prompt(system=None, text="Describe it")
    assert [m["role"] for m in to_chat_messages(build_prompt("unconstrained", prompt="x"), "u")] == ["user"]


def test_vqa_asks_the_question():
    prompt = build_prompt("visual-question-answering", prompt="Is it raining?")
    assert prompt.text == "Question: Is it raining?"
    assert "answer" in prompt.system.lower()


@pytest.mark.parametrize("task_type,word", [("ocr", "text"), ("caption", "short"), ("detailed-caption", "detail")])
def test_fixed_prompts_state_the_task(task_type, word):
    prompt = build_prompt(task_type)
    assert word in prompt.system.lower()
    assert [m["role"] for m in to_chat_messages(prompt, "u")] == ["system", "user"]


def test_classification_asks_for_the_vlm_as_classifier_shape():
    prompt = build_prompt("classification", classes=["cat", "dog"])
    assert prompt.text == "Classes: cat, dog"
    assert '"class_name"' in prompt.system and '"confidence"' in prompt.system


def test_multi_label_asks_for_predicted_classes():
    prompt = build_prompt("multi-label-classification", classes=["cat", "dog"])
    assert prompt.text == "Classes: cat, dog"
    assert '"predicted_classes"' in prompt.system


def test_object_detection_states_the_box_convention():
    prompt = build_prompt("object-detection", classes=["car", "sign"])
    assert prompt.text == "Classes: car, sign"
    assert '"detections"' in prompt.system and "[x_min, y_min, x_max, y_max]" in prompt.system
    assert "fractions of the image width and height" in prompt.system


def test_structured_answering_lists_the_fields():
    prompt = build_prompt("structured-answering", output_structure={"count": "number of cars", "color": "main colour"})
    fields = json.loads(prompt.text.split("\n", 1)[1])
    assert fields == {"count": "number of cars", "color": "main colour"}
    assert "every one of those keys" in prompt.system


@pytest.mark.parametrize(
    "task_type,kwargs,message",
    [
        ("unconstrained", {"prompt": None}, "`prompt` must be a non-empty string for task_type 'unconstrained'"),
        ("visual-question-answering", {"prompt": "   "}, "`prompt` must be a non-empty string"),
        ("classification", {"classes": []}, "`classes` must be a non-empty list"),
        ("multi-label-classification", {"classes": "cat"}, "`classes` must be a non-empty list"),
        ("structured-answering", {"output_structure": {}}, "`output_structure` must be a non-empty dictionary"),
        ("segmentation", {}, "`task_type` 'segmentation' is not supported"),
    ],
)
def test_runtime_values_are_checked(task_type, kwargs, message):
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(")):
        build_prompt(task_type, **kwargs)
