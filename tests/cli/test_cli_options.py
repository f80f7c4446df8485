"""Options mirror the manifest; bad values are one `error:` line naming the field."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import cv2
import pytest

import llama_vision_block.cli.describe as describe_module
import llama_vision_block.manifest as manifest_module
from llama_vision_block.cli import build_parser, main
from llama_vision_block.cli.options import step_properties
from llama_vision_block.manifest import BlockManifest
from support.images import make_image


@pytest.fixture
def image(tmp_path: Path) -> str:
    path = tmp_path / "a.jpg"
    cv2.imwrite(str(path), make_image(32, 32))
    return str(path)


@pytest.fixture(autouse=True)
def no_keys_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LLAMA_VISION_API_KEY", "OPENROUTER_API_KEY", "CLOUDFLARE_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def run_help(capsys) -> str:
    assert main(["run", "--help"]) == 0
    return capsys.readouterr().out


def test_every_manifest_property_has_an_option(capsys) -> None:
    help_text = run_help(capsys)
    properties = set(BlockManifest.model_fields) - {"type", "name", "images"}
    assert properties  # the manifest still has properties to mirror
    for prop in properties:
        option = "--task" if prop == "task_type" else "--" + prop.replace("_", "-")
        assert option in help_text, f"no option for `{prop}`"
    assert "examples:" in help_text


def test_a_property_added_to_the_manifest_becomes_an_option(monkeypatch, capsys) -> None:
    class Extended(BlockManifest):
        new_knob: Optional[int] = None

    monkeypatch.setattr(manifest_module, "BlockManifest", Extended)
    # The options read the manifest's snapshot; regenerated, it holds the new property.
    monkeypatch.setattr(describe_module, "description", describe_module.live_description)
    assert "--new-knob" in run_help(capsys)
    args = build_parser().parse_args(["run", "--task", "ocr", "--new-knob", "7", "x.jpg"])
    assert step_properties(args) == {"task_type": "ocr", "new_knob": 7}


def test_option_values_become_step_properties() -> None:
    args = build_parser().parse_args([
        "run", "--task", "structured-answering", "--output-structure", '{"street": "the street"}',
        "--classes", "a,b", "--classes", "c", "--temperature", "0", "--top-k", "5", "--fail-fast",
        "--no-cloudflare-accept-llama-license", "--model-version", "11B - OpenAI-compatible server",
        "--base-url", "http://127.0.0.1:1/v1", "--max-concurrent-requests", "2", "--api-key", "secret", "x.jpg",
    ])
    assert step_properties(args) == {
        "task_type": "structured-answering",
        "output_structure": {"street": "the street"},
        "classes": ["a", "b", "c"],
        "temperature": 0.0,
        "top_k": 5,
        "fail_fast": True,
        "cloudflare_accept_llama_license": False,
        "model_version": "11B - OpenAI-compatible server",
        "base_url": "http://127.0.0.1:1/v1",
        "max_concurrent_requests": 2,
    }  # the key travels as a workflow input, never in the step


@pytest.mark.parametrize(
    "argv, code, field",
    [
        (["--task", "structured-answering", "--output-structure", "{not json"], 2, "--output-structure"),
        (["--task", "structured-answering", "--output-structure", "[1, 2]"], 2, "--output-structure"),
        (["--task", "unconstrained", "--api-key", "k"], 2, "`prompt`"),
        (["--task", "classification", "--api-key", "k"], 2, "`classes`"),
        (["--task", "caption", "--api-key", "k", "--temperature", "3"], 2, "`temperature`"),
        (["--task", "caption"], 2, "`api_key`"),
        (["--task", "no-such-task"], 2, "--task"),
        (["--task", "caption", "--api-key", "k", "--chunk-size", "0"], 2, "--chunk-size"),
    ],
)
def test_bad_options_are_one_error_line(argv, code, field, image, capsys) -> None:
    assert main(["run", "--model-version", "11B - Cloudflare Workers AI", *argv, image]) == code
    captured = capsys.readouterr()
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1, captured.err
    assert field in captured.err
    assert "Traceback" not in captured.err


def test_usage_without_a_command(capsys) -> None:
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().err


# --- Which provider `run` picks with no --model-version -------------------------------

PROVIDER_ENV = ("CLOUDFLARE_ACCOUNT_ID", "LLAMA_VISION_BASE_URL", "LLAMA_VISION_OLLAMA_BASE_URL", "LLAMA_VISION_MODEL_PATH")
CLOUDFLARE_ACCOUNT = "0123456789abcdef0123456789abcdef"


def picked(monkeypatch, argv, **environ) -> str:
    from llama_vision_block.cli.options import default_model_version

    for name in PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return default_model_version(build_parser().parse_args(["run", *argv, "x.jpg"]))


def test_an_option_of_a_providers_own_beats_credentials_in_the_environment(monkeypatch) -> None:
    cloudflare = dict(CLOUDFLARE_API_TOKEN="t", CLOUDFLARE_ACCOUNT_ID=CLOUDFLARE_ACCOUNT)
    assert picked(monkeypatch, [], **cloudflare) == "11B - Cloudflare Workers AI"
    assert picked(monkeypatch, ["--base-url", "http://127.0.0.1:9/v1"], **cloudflare) == "11B - OpenAI-compatible server"
    assert picked(monkeypatch, ["--model-path", "/models/x"], **cloudflare) == "11B - Local GPU (transformers)"
    # A key alone may be any provider's: it does not choose Cloudflare over --base-url.
    assert picked(monkeypatch, ["--api-key", "k", "--base-url", "http://127.0.0.1:9/v1"], CLOUDFLARE_ACCOUNT_ID=CLOUDFLARE_ACCOUNT) == (
        "11B - OpenAI-compatible server"
    )


def test_each_provider_is_picked_by_what_its_spec_needs(monkeypatch) -> None:
    assert picked(monkeypatch, ["--api-key", "k"], CLOUDFLARE_ACCOUNT_ID=CLOUDFLARE_ACCOUNT) == "11B - Cloudflare Workers AI"
    assert picked(monkeypatch, [], LLAMA_VISION_OLLAMA_BASE_URL="http://127.0.0.1:9/v1") == "11B - Ollama"
    assert picked(monkeypatch, [], LLAMA_VISION_BASE_URL="http://127.0.0.1:9/v1") == "11B - OpenAI-compatible server"
    assert picked(monkeypatch, [], LLAMA_VISION_MODEL_PATH="/models/x") == "11B - Local GPU (transformers)"
    # Half of Cloudflare's needs is not enough; OpenRouter's key never picks it.
    from llama_vision_block.cli.errors import UsageError

    for environ in ({"CLOUDFLARE_ACCOUNT_ID": CLOUDFLARE_ACCOUNT}, {"OPENROUTER_API_KEY": "k"}):
        with pytest.raises(UsageError, match="no provider is set up"):
            picked(monkeypatch, [], **environ)


def test_the_api_key_help_names_every_providers_variable(capsys) -> None:
    text = " ".join(run_help(capsys).split())
    assert "default $LLAMA_VISION_API_KEY, else $OPENROUTER_API_KEY (OpenRouter) or $CLOUDFLARE_API_TOKEN (Cloudflare Workers AI)" in text
