"""The step manifest: every property the Workflows editor shows and validates."""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional, Tuple, Union

from inference.core.workflows.execution_engine.entities.base import OutputDefinition
from inference.core.workflows.execution_engine.entities.types import (
    BOOLEAN_KIND,
    CLASSIFICATION_PREDICTION_KIND,
    FLOAT_KIND,
    IMAGE_KIND,
    INTEGER_KIND,
    LIST_OF_VALUES_KIND,
    OBJECT_DETECTION_PREDICTION_KIND,
    SECRET_KIND,
    STRING_KIND,
    ImageInputField,
    Kind,
    Selector,
)
from inference.core.workflows.prototypes.block import WorkflowBlockManifest
from pydantic import ConfigDict, Field, ValidationInfo, create_model, field_validator, model_validator

from llama_vision_block.block_types import BLOCK_TYPE, SEED_BLOCK_TYPE
from llama_vision_block.errors import ConfigurationError
from llama_vision_block.model_versions import (
    DEFAULT_MODEL_VERSION,
    MODEL_VARIANTS,
    SEED_DEFAULT_MODEL_VERSION,
    PROVIDER_NAMES,
    PROVIDERS_REQUIRING_API_KEY,
    ModelVersion,
    resolve_model_version,
)
from llama_vision_block.prompts import class_list_problem, prompt_length_problem
from llama_vision_block.provider_texts import constraining_providers, keyed_providers, routed_labels, where_it_runs
from llama_vision_block.providers.registry import (
    PROVIDERS,
    STEP_SETTINGS,
    ignored_setting_problem,
    providers_reading,
)
from llama_vision_block.providers.spec import StepSetting, kind_problem
from llama_vision_block.results import OUTPUT_KINDS
from llama_vision_block.sampling import MAX_TOKENS_LIMIT, SAMPLING_RANGES, check_sampling_value
from llama_vision_block.schemas import DecodingMode, response_schema
from llama_vision_block.task_inputs import TaskInputs, missing_input_problem
from llama_vision_block.tasks import (
    DETECTION_MAX_TOKENS,
    SEED_MAX_TOKENS,
    TASKS,
    TaskType,
    tasks_needing,
    tasks_with_schema,
)

EXECUTION_ENGINE_COMPATIBILITY = ">=1.3.0,<2.0.0"


_SETTING_KINDS: Dict[str, Tuple[type, Kind]] = {
    "string": (str, STRING_KIND),
    "boolean": (bool, BOOLEAN_KIND),
    "integer": (int, INTEGER_KIND),
}


def _field(setting: StepSetting) -> Tuple[Any, Any]:
    """A provider's own property as a manifest field: typed by its spec, described
    with each provider's note on it, and shown only for its providers' labels."""
    readers = providers_reading(setting.name)
    value_type, kind = _SETTING_KINDS[setting.kind]
    if setting.choices:  # the editor offers them as a list
        value_type = Literal[setting.choices]  # type: ignore[valid-type]
    annotation: Any = Union[Selector(kind=[kind]), value_type] if setting.selector else value_type
    if setting.default is None:
        annotation = Optional[annotation]
    notes = [spec.setting_notes[setting.name] for spec in readers if setting.name in spec.setting_notes]
    labels = [label for spec in readers for label in spec.labels]
    return annotation, Field(
        default=setting.default,
        description=" ".join([setting.description, *notes]),
        examples=list(setting.examples) or None,
        ge=setting.minimum,
        le=setting.maximum,
        json_schema_extra={"relevant_for": {"model_version": {"values": labels, "required": False}}},
    )


_TASKS_DOCS = "\n".join(
    f"* **{spec.name}** (`{task}`) - {spec.description}" for task, spec in TASKS.items()
)
# The kinds of the `predictions` output, by what a task's entry says it produces.
_PREDICTION_KINDS = {
    "classification": CLASSIFICATION_PREDICTION_KIND,
    "object-detection": OBJECT_DETECTION_PREDICTION_KIND,
}

LONG_DESCRIPTION = f"""
Ask Llama 3.2 Vision about each image of a batch, with a prompt built for the task:

{_TASKS_DOCS}

Every image is sent as its own request; the requests of a batch run concurrently
(see `max_concurrent_requests`) and the results keep the order of the images.

The model is known to be unpredictable when asked for JSON (structured answering
and classification): its content filters sometimes refuse harmless images.

{where_it_runs()}

This block also answers to `{SEED_BLOCK_TYPE}`, so workflows written for the
Llama 3.2 Vision block that ships with `inference` compile unchanged; that block's
labels are {PROVIDERS[MODEL_VARIANTS[SEED_DEFAULT_MODEL_VERSION].provider].name}'s.

Use of the models is subject to the
[Llama 3.2 Community License](https://github.com/meta-llama/llama-models/blob/main/models/llama3_2/LICENSE)
(Llama 4: the [Llama 4 Community License](https://github.com/meta-llama/llama-models/blob/main/models/llama4/LICENSE))
and Meta's [Acceptable Use Policy](https://www.llama.com/llama3_2/use-policy/).
"""


class _StepInputs(WorkflowBlockManifest):
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
            "values_metadata": {
                task: {"name": spec.name, "description": spec.description}
                for task, spec in TASKS.items()
            },
            "recommended_parsers": {
                task: spec.recommended_parser
                for task, spec in TASKS.items()
                if spec.recommended_parser
            },
            "always_visible": True,
        },
    )
    prompt: Optional[Union[Selector(kind=[STRING_KIND]), str]] = Field(
        default=None,
        description="Text prompt to the Llama model",
        examples=["my prompt", "$inputs.prompt"],
        json_schema_extra={
            "relevant_for": {
                "task_type": {"values": sorted(tasks_needing("prompt")), "required": True},
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
                    "values": sorted(tasks_needing("output_structure")),
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
                "task_type": {"values": sorted(tasks_needing("classes")), "required": True},
            },
        },
    )
    api_key: Optional[Union[Selector(kind=[STRING_KIND, SECRET_KIND]), str]] = Field(
        default=None,
        description="Your Llama Vision API key (dependent on provider). Required for "
        f"{keyed_providers()}; optional for the others (a server "
        "you run gets it when given). It goes only to the provider of `model_version`.",
        examples=["xxx-xxx", "$inputs.llama_api_key"],
        private=True,
        repr=False,  # keeps the key out of logs that print the manifest
    )
    model_version: Union[Selector(kind=[STRING_KIND]), ModelVersion] = Field(
        default=DEFAULT_MODEL_VERSION,
        description="Model to be used, and where it runs. New steps default to "
        f"'{DEFAULT_MODEL_VERSION}'; a `{SEED_BLOCK_TYPE}` step that names none keeps "
        f"the seed's '{SEED_DEFAULT_MODEL_VERSION}'. {routed_labels()}",
        examples=[DEFAULT_MODEL_VERSION, "$inputs.llama_model"],
    )


# Each provider's own step properties, declared in its spec and shown for its labels.
_WithProviderProperties = create_model(
    "_WithProviderProperties",
    __base__=_StepInputs,
    **{name: _field(setting) for name, setting in STEP_SETTINGS.items()},
)


class BlockManifest(_WithProviderProperties):
    max_tokens: int = Field(
        default=SEED_MAX_TOKENS,
        description="Maximum number of tokens the model can generate in it's response; "
        f"2-{MAX_TOKENS_LIMIT}. A step that sets none gets {SEED_MAX_TOKENS}, and "
        f"object-detection {DETECTION_MAX_TOKENS}: room for at least 50 boxes (see "
        "docs/block.md). A list answer that fills what max_tokens leaves room for is flagged.",
        gt=1,
        le=MAX_TOKENS_LIMIT,
    )
    temperature: Union[float, Selector(kind=[FLOAT_KIND])] = Field(
        default=0.1,
        description="Temperature to sample from the model - value in range 0.0-2.0, "
        'the higher - the more random / "creative" the generations are.',
    )
    top_p: Optional[Union[float, Selector(kind=[FLOAT_KIND])]] = Field(
        default=None,
        description="Nucleus sampling: only the most likely tokens whose probabilities "
        "add up to top_p are considered; 0.0-2.0.",
    )
    top_k: Optional[Union[int, Selector(kind=[INTEGER_KIND])]] = Field(
        default=None, description="Only the k most likely tokens are considered; 1-50."
    )
    seed: Optional[Union[int, Selector(kind=[INTEGER_KIND])]] = Field(
        default=None,
        description="Random seed, for reproducible sampling; 1-9999999999.",
    )
    repetition_penalty: Optional[Union[float, Selector(kind=[FLOAT_KIND])]] = Field(
        default=None, description="Penalty for repeated tokens; 0.0-2.0."
    )
    frequency_penalty: Optional[Union[float, Selector(kind=[FLOAT_KIND])]] = Field(
        default=None,
        description="Lowers the chance of repeating the same lines verbatim; 0.0-2.0.",
    )
    presence_penalty: Optional[Union[float, Selector(kind=[FLOAT_KIND])]] = Field(
        default=None,
        description="Raises the chance of the model introducing new topics; 0.0-2.0.",
    )
    constrained_decoding: DecodingMode = Field(
        default="auto",
        description="For tasks that answer in JSON (classification, multi-label "
        "classification, structured answering, object detection): 'auto' asks the "
        "provider to constrain the answer to the task's JSON schema where it can "
        f"({constraining_providers()}) and reads the answer leniently where it cannot; 'required' fails an image rather than "
        "accept an answer that was not constrained; 'off' never asks. The schema is "
        "sized to fit max_tokens (see docs/block.md).",
        json_schema_extra={
            "relevant_for": {
                "task_type": {"values": sorted(tasks_with_schema()), "required": False},
            },
        },
    )
    max_retries: int = Field(
        default=3,
        description="How many times a request that failed for a transient reason (rate "
        "limit, overload, timeout, dropped connection) is retried, with exponential "
        "backoff, before the image is given up on.",
        ge=0,
        le=10,
    )
    request_timeout: float = Field(
        default=120.0,
        description="Seconds one attempt may take, all of it (connecting, sending, "
        "receiving), before it counts as failed (and is retried). An image takes at most "
        "(max_retries + 1) x request_timeout plus the waits between attempts (each at "
        "most 120 s); see docs/security.md.",
        gt=0,
        le=900,
    )
    fail_fast: bool = Field(
        default=False,
        description="When an image's request fails for good, stop the step with an error "
        "instead of reporting it in that image's `error_status` / `error_message`.",
    )
    max_image_side: Optional[int] = Field(
        default=None,
        description="Images are downscaled before sending, keeping the aspect ratio, to "
        "what the model reads: Llama 3.2 Vision at most 4 tiles of 560 px (1120x1120, "
        "or 560x2240 for a strip), Llama 4 at most 16 tiles of 336 px (about 1.8 MP); "
        "more only costs bytes and time. Set this to cap the long side lower.",
        ge=28,
        le=8192,
    )
    max_concurrent_requests: Optional[int] = Field(
        default=None,
        description="Number of concurrent requests that can be executed by block when "
        "batch of input images provided. If not given - block defaults to value "
        "configured globally in Workflows Execution Engine. Please restrict if you "
        "hit limits.",
        ge=1,
    )

    @model_validator(mode="before")
    @classmethod
    def keep_the_seed_default(cls, data: Any) -> Any:
        # A seed step without model_version meant the seed block's default.
        if isinstance(data, dict) and data.get("type") == SEED_BLOCK_TYPE:
            data = {"model_version": SEED_DEFAULT_MODEL_VERSION, **data}
        return data

    @model_validator(mode="before")
    @classmethod
    def fill_the_task_default_max_tokens(cls, data: Any) -> Any:
        # Long answers (object detection) get room for them when the step sets none.
        if isinstance(data, dict) and data.get("max_tokens") is None and data.get("task_type") in TASKS:
            data = {**data, "max_tokens": TASKS[data["task_type"]].default_max_tokens}
        return data

    @model_validator(mode="after")
    def check_task_requirements(self) -> "BlockManifest":
        task, needs = self.task_type, TASKS[self.task_type].needs
        given = {name: getattr(self, name) for name in needs}
        problem = missing_input_problem(task, needs, given) or prompt_length_problem(self.prompt)
        if not problem and "classes" in needs and isinstance(self.classes, list):  # not a selector
            problem = class_list_problem(self.classes)
        if problem:
            raise ValueError(problem)
        required = self.constrained_decoding == "required"  # "auto" never refuses a size
        if required and ("classes" not in needs or isinstance(self.classes, list)):  # not a selector
            try:  # the answer's schema must fit max_tokens
                inputs = TaskInputs(classes=self.classes, output_structure=self.output_structure)
                response_schema(TASKS[task].json_schema, self.constrained_decoding, inputs, self.max_tokens)
            except ConfigurationError as error:
                raise ValueError(str(error)) from None
        if self.model_version in MODEL_VARIANTS:  # not a selector
            try:
                variant = resolve_model_version(self.model_version)
            except ConfigurationError as error:  # a bad route names its variable
                raise ValueError(str(error)) from None
            literal = {k: v for k, v in self.model_dump().items() if not (isinstance(v, str) and v.startswith("$"))}
            problem = ignored_setting_problem(PROVIDERS[variant.provider], literal)  # selectors: at run time
            if problem:
                raise ValueError(problem)
            if variant.provider in PROVIDERS_REQUIRING_API_KEY and not self.api_key:
                raise ValueError(
                    f"`api_key` is required for model_version '{self.model_version}': "
                    f"{PROVIDER_NAMES[variant.provider]} needs your API key."
                )
        return self

    @field_validator(*STEP_SETTINGS)
    @classmethod
    def check_provider_property(cls, value: Any, info: ValidationInfo) -> Any:
        # Choices and forms the field's type does not hold; a selector's value is
        # checked when the step runs (`provider_settings`).
        if value is None or (isinstance(value, str) and value.startswith("$")):
            return value
        problem = kind_problem(STEP_SETTINGS[info.field_name], value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator(*SAMPLING_RANGES)
    @classmethod
    def check_sampling_range(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str):  # a selector, checked when the step runs
            return value
        try:
            return check_sampling_value(info.field_name, value)
        except ConfigurationError as error:
            raise ValueError(str(error)) from None

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
        prediction = TASKS[self.task_type].prediction
        if prediction is None:
            return self.describe_outputs()
        return _outputs(prediction_kinds=[_PREDICTION_KINDS[prediction]])

    @classmethod
    def get_execution_engine_compatibility(cls) -> Optional[str]:
        return EXECUTION_ENGINE_COMPATIBILITY


def _outputs(prediction_kinds: List[Kind]) -> List[OutputDefinition]:
    return [OutputDefinition(name=name, kind=kinds or prediction_kinds) for name, kinds in OUTPUT_KINDS.items()]
