import json

import pytest

from llama_vision_block.errors import ConfigurationError
from llama_vision_block.prompts import Prompt, to_chat_messages
from llama_vision_block.tasks import TASK_TYPES, build_prompt

ARGS = {"prompt": "How many cars?", "classes": ["car", "truck"], "output_structure": {"count": "number of cars"}}


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_every_task_is_one_user_turn_with_the_image_first_and_no_system_message(task_type):
    prompt = build_prompt(task_type, **ARGS)
    messages = to_chat_messages(prompt, "data:image/jpeg;base64,AAAA")
    (user,) = messages  # Meta's template refuses a system message beside an image
    assert user["role"] == "user"
    assert user["content"][0] == {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AAAA"}}
    assert user["content"][1] == {"type": "text", "text": prompt.text} and prompt.text.strip()


def test_unconstrained_sends_the_prompt_alone():
    assert build_prompt("unconstrained", prompt="Describe it") == Prompt(text="Describe it")


def test_vqa_asks_the_question_after_its_instructions():
    prompt = build_prompt("visual-question-answering", prompt="Is it raining?")
    assert prompt.text.startswith("Answer this question about the image.")
    assert prompt.text.endswith("\nQuestion: Is it raining?")


@pytest.mark.parametrize("task_type,words", [("ocr", "text"), ("caption", "one short sentence"), ("detailed-caption", "in detail")])
def test_fixed_prompts_state_the_task(task_type, words):
    assert words in build_prompt(task_type).text


def test_classification_lists_the_classes_and_asks_for_the_vlm_as_classifier_shape():
    text = build_prompt("classification", classes=["cat", "dog"]).text
    assert "\nClasses: cat, dog\n" in text and "exactly one class" in text
    assert '"class_name"' in text and '"confidence"' in text


def test_multi_label_asks_for_predicted_classes():
    text = build_prompt("multi-label-classification", classes=["cat", "dog"]).text
    assert "\nClasses: cat, dog\n" in text and '"predicted_classes"' in text


def test_object_detection_states_the_box_convention():
    text = build_prompt("object-detection", classes=["car", "sign"]).text
    assert "\nClasses: car, sign\n" in text
    assert '"detections"' in text and "[x_min, y_min, x_max, y_max]" in text
    assert "fractions of the image width and height" in text


def test_structured_answering_lists_the_fields():
    text = build_prompt("structured-answering", output_structure={"count": "number of cars", "color": "main colour"}).text
    fields = json.loads(text.split("Fields to return:\n", 1)[1])
    assert fields == {"count": "number of cars", "color": "main colour"}
    assert "every one of those keys" in text


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
