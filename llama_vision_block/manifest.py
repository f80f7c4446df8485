"""The step manifest: every property the Workflows editor shows and validates."""

from __future__ import annotations

from typing import Dict, List, Literal, Optional, Union

from inference.core.workflows.execution_engine.entities.base import OutputDefinition
from inference.core.workflows.execution_engine.entities.types import (
    BOOLEAN_KIND,
    CLASSIFICATION_PREDICTION_KIND,
    DICTIONARY_KIND,
    FLOAT_KIND,
    IMAGE_KIND,
    INFERENCE_ID_KIND,
    LANGUAGE_MODEL_OUTPUT_KIND,
    LIST_OF_VALUES_KIND,
    OBJECT_DETECTION_PREDICTION_KIND,
    SECRET_KIND,
    STRING_KIND,
    ImageInputField,
    Kind,
    Selector,
)
from inference.core.workflows.prototypes.block import WorkflowBlockManifest
from pydantic import ConfigDict, Field, field_validator, model_validator

from llama_vision_block.model_versions import DEFAULT_MODEL_VERSION, ModelVersion
from llama_vision_block.tasks import (
    CLASSIFICATION_TASKS,
    DETECTION_TASKS,
    RECOMMENDED_PARSERS,
    TASKS_METADATA,
    TASKS_REQUIRING_CLASSES,
    TASKS_REQUIRING_OUTPUT_STRUCTURE,
    TASKS_REQUIRING_PROMPT,
    TaskType,
)

BLOCK_TYPE = "llama_vision_block/llama_3_2_vision@v1"
# Workflow JSON written for inference's own (now deprecated) block keeps working.
SEED_BLOCK_TYPE = "roboflow_core/llama_3_2_vision@v1"
EXECUTION_ENGINE_COMPATIBILITY = ">=1.3.0,<2.0.0"

_TASKS_DOCS = "\n".join(
    f"* **{meta['name']}** (`{task}`) - {meta['description']}"
    for task, meta in TASKS_METADATA.items()
)

LONG_DESCRIPTION = f"""
Ask Llama 3.2 Vision about each image of a batch, with a prompt built for the task:

{_TASKS_DOCS}

Every image is sent as its own request; the requests of a batch run concurrently
(see `max_concurrent_requests`) and the results keep the order of the images.

The model is known to be unpredictable when asked for JSON (structured answering
and classification): its content filters sometimes refuse harmless images.

The model runs on [OpenRouter](https://openrouter.ai/), which needs an OpenRouter
API key and charges for the `Regular` variants. `11B` is faster and cheaper, `90B`
gives better answers.

This block also answers to `{SEED_BLOCK_TYPE}`, so workflows written for the
Llama 3.2 Vision block that ships with `inference` run unchanged.

Use of the model is subject to the
[Llama 3.2 Community License](https://github.com/meta-llama/llama-models/blob/main/models/llama3_2/LICENSE)
and Meta's [Acceptable Use Policy](https://www.llama.com/llama3_2/use-policy/).
"""


class BlockManifest(WorkflowBlockManifest):
    model_config = ConfigDict(
        json_schema_extra={
            "name": "Llama 3.2 Vision",
            "version": "v1",
            "short_description": "Run Llama 3.2 Vision: OCR, captions, VQA, classification and JSON answers.",
            "long_description": LONG_DESCRIPTION,
            "license": "Llama 3.2 Community",
            "block_type": "model",
            "search_keywords": ["LMM", "VLM", "Llama", "Vision", "Meta", "OCR", "caption"],
            "is_vlm_block": True,
            "task_type_property": "task_type",
            "ui_manifest": {"section": "model", "icon": "far fa-brands fa-meta"},
        },
        protected_namespaces=(),
    )
    type: Literal[BLOCK_TYPE, SEED_BLOCK_TYPE]  # type: ignore[valid-type]
    images: Selector(kind=[IMAGE_KIND]) = ImageInputField
    task_type: TaskType = Field(
        default="unconstrained",
        description="Task type to be performed by model. Value determines required "
        "parameters and output response.",
        json_schema_extra={
            "values_metadata": TASKS_METADATA,
            "recommended_parsers": RECOMMENDED_PARSERS,
            "always_visible": True,
        },
    )
    prompt: Optional[Union[Selector(kind=[STRING_KIND]), str]] = Field(
        default=None,
        description="Text prompt to the Llama model",
        examples=["my prompt", "$inputs.prompt"],
        json_schema_extra={
            "relevant_for": {
                "task_type": {"values": sorted(TASKS_REQUIRING_PROMPT), "required": True},
            },
            "multiline": True,
        },
    )
    output_structure: Optional[Dict[str, str]] = Field(
        default=None,
        description="Dictionary with structure of expected JSON response",
        examples=[{"my_key": "description"}],
        json_schema_extra={
            "relevant_for": {
                "task_type": {
                    "values": sorted(TASKS_REQUIRING_OUTPUT_STRUCTURE),
                    "required": True,
                },
            },
        },
    )
    classes: Optional[Union[Selector(kind=[LIST_OF_VALUES_KIND]), List[str]]] = Field(
        default=None,
        description="List of classes to be used",
        examples=[["class-a", "class-b"], "$inputs.classes"],
        json_schema_extra={
            "relevant_for": {
                "task_type": {"values": sorted(TASKS_REQUIRING_CLASSES), "required": True},
            },
        },
    )
    api_key: Union[Selector(kind=[STRING_KIND, SECRET_KIND]), str] = Field(
        description="Your Llama Vision API key (dependent on provider, ex: OpenRouter API key)",
        examples=["xxx-xxx", "$inputs.llama_api_key"],
        private=True,
    )
    model_version: Union[Selector(kind=[STRING_KIND]), ModelVersion] = Field(
        default=DEFAULT_MODEL_VERSION,
        description="Model to be used",
        examples=[DEFAULT_MODEL_VERSION, "$inputs.llama_model"],
    )
    max_tokens: int = Field(
        default=500,
        description="Maximum number of tokens the model can generate in it's response.",
        gt=1,
    )
    temperature: Union[float, Selector(kind=[FLOAT_KIND])] = Field(
        default=0.1,
        description="Temperature to sample from the model - value in range 0.0-2.0, "
        'the higher - the more random / "creative" the generations are.',
    )
    max_concurrent_requests: Optional[int] = Field(
        default=None,
        description="Number of concurrent requests that can be executed by block when "
        "batch of input images provided. If not given - block defaults to value "
        "configured globally in Workflows Execution Engine. Please restrict if you "
        "hit limits.",
        ge=1,
    )

    @model_validator(mode="after")
    def check_task_requirements(self) -> "BlockManifest":
        task = self.task_type
        if task in TASKS_REQUIRING_PROMPT and self.prompt is None:
            raise ValueError(f"`prompt` is required for task_type '{task}'.")
        if task in TASKS_REQUIRING_CLASSES and self.classes is None:
            raise ValueError(f"`classes` is required for task_type '{task}'.")
        if task in TASKS_REQUIRING_OUTPUT_STRUCTURE and not self.output_structure:
            raise ValueError(
                f"`output_structure` is required for task_type '{task}': a dictionary "
                "of field name -> description."
            )
        return self

    @field_validator("temperature")
    @classmethod
    def check_temperature_range(cls, value: Union[float, str]) -> Union[float, str]:
        if isinstance(value, (int, float)) and not 0.0 <= value <= 2.0:
            raise ValueError(f"`temperature` must be in the range 0.0-2.0; got {value}.")
        return value

    @classmethod
    def get_parameters_accepting_batches(cls) -> List[str]:
        return ["images"]

    @classmethod
    def describe_outputs(cls) -> List[OutputDefinition]:
        return _outputs(
            prediction_kinds=[CLASSIFICATION_PREDICTION_KIND, OBJECT_DETECTION_PREDICTION_KIND]
        )

    def get_actual_outputs(self) -> List[OutputDefinition]:
        # Narrowed to what this step's task produces, so the editor only offers
        # connections that fit (boxes to box visualisers, classes to classifiers).
        if self.task_type in DETECTION_TASKS:
            return _outputs(prediction_kinds=[OBJECT_DETECTION_PREDICTION_KIND])
        if self.task_type in CLASSIFICATION_TASKS:
            return _outputs(prediction_kinds=[CLASSIFICATION_PREDICTION_KIND])
        return self.describe_outputs()

    @classmethod
    def get_execution_engine_compatibility(cls) -> Optional[str]:
        return EXECUTION_ENGINE_COMPATIBILITY


def _outputs(prediction_kinds: List[Kind]) -> List[OutputDefinition]:
    return [
        OutputDefinition(name="output", kind=[STRING_KIND, LANGUAGE_MODEL_OUTPUT_KIND]),
        OutputDefinition(name="classes", kind=[LIST_OF_VALUES_KIND]),
        OutputDefinition(name="structured_output", kind=[DICTIONARY_KIND]),
        OutputDefinition(name="predictions", kind=prediction_kinds),
        OutputDefinition(name="error_status", kind=[BOOLEAN_KIND]),
        OutputDefinition(name="error_message", kind=[STRING_KIND]),
        OutputDefinition(name="inference_id", kind=[INFERENCE_ID_KIND]),
    ]
