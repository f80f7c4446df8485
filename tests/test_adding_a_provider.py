"""The add-a-provider recipe of docs/architecture.md, done for real on a copy of the package.

A provider module with one property of its own (`tests/data/example_provider/`) goes
into `providers/remote/`, the registry gets its import and its line, and the two
generated files are written anew. Nothing else changes, and the provider then shows
everywhere a user meets providers: the manifest (with the editor's `relevant_for`),
the long description, the CLI's options, help and "no provider" message, the
reference page, and a run that reaches it.
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import cv2
import pytest

from support.chat_server import ChatServer, reply_with_image_size
from support.images import make_image

ROOT = Path(__file__).resolve().parents[1]
MODULE = Path(__file__).resolve().parent / "data" / "example_provider" / "example_cloud.py"
REGISTRY = Path("llama_vision_block/providers/registry.py")
IMPORT_LINE = "from llama_vision_block.providers.remote import cloudflare, ollama, openai_compatible, openrouter\n"
ENTRY_LINE = "        local_backend.SPEC,\n"
GENERATED = {Path("llama_vision_block/cli/block_description.json"), Path("docs/reference.md")}
LABEL = "11B - Example Cloud"


def _python(copy: Path, *argv: str, env: Dict[str, str]) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("EXAMPLE_CLOUD_", "CLOUDFLARE_", "LLAMA_VISION_"))}
    environ.update(PYTHONPATH=str(copy), **env)
    return subprocess.run([sys.executable, *argv], cwd=copy, env=environ, capture_output=True, text=True, timeout=300)


def _files(root: Path) -> List[Path]:
    return sorted(
        path.relative_to(root)
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    )


@pytest.fixture(scope="module")
def copy(tmp_path_factory) -> Path:
    """The package after the recipe: one module, its registry line, the files regenerated."""
    copy = tmp_path_factory.mktemp("added")
    shutil.copytree(ROOT / "llama_vision_block", copy / "llama_vision_block", ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "docs").mkdir()
    shutil.copy(ROOT / "docs" / "reference.md", copy / "docs" / "reference.md")
    shutil.copy(MODULE, copy / "llama_vision_block" / "providers" / "remote" / "example_cloud.py")
    registry = (copy / REGISTRY).read_text(encoding="utf-8")
    assert IMPORT_LINE in registry and ENTRY_LINE in registry, "the registry's lines moved: update this recipe"
    registry = registry.replace(IMPORT_LINE, IMPORT_LINE + "from llama_vision_block.providers.remote import example_cloud\n")
    registry = registry.replace(ENTRY_LINE, ENTRY_LINE + "        example_cloud.SPEC,\n")
    (copy / REGISTRY).write_text(registry, encoding="utf-8")
    for command in ("llama_vision_block.cli.describe", "llama_vision_block.reference"):
        done = _python(copy, "-m", command, env={})
        assert done.returncode == 0, done.stderr
    return copy


def test_only_the_module_the_registry_and_the_generated_files_changed(copy):
    before = {Path("llama_vision_block") / p for p in _files(ROOT / "llama_vision_block")} | {Path("docs/reference.md")}
    after = set(_files(copy))
    assert after - before == {Path("llama_vision_block/providers/remote/example_cloud.py")}
    changed = {path for path in before & after if not filecmp.cmp(ROOT / path, copy / path, shallow=False)}
    assert changed == {REGISTRY, *GENERATED}


def test_the_manifest_offers_its_label_and_its_property_for_that_label_only(copy):
    described = json.loads((copy / "llama_vision_block/cli/block_description.json").read_text(encoding="utf-8"))
    properties = described["schema"]["properties"]
    labels = [v for variant in properties["model_version"]["anyOf"] for v in variant.get("enum", [])]
    assert LABEL in labels
    region = properties["example_region"]
    assert [v for variant in region["anyOf"] for v in variant.get("enum", [])] == ["eu", "us"]
    assert region["relevant_for"] == {"model_version": {"values": [LABEL], "required": False}}
    long_description = described["schema"]["long_description"]
    assert "* **Example Cloud**: your Example Cloud key and region." in long_description
    assert "Required for OpenRouter, Cloudflare Workers AI and Example Cloud" in properties["api_key"]["description"]
    assert "in process with xgrammar and Example Cloud)" in properties["constrained_decoding"]["description"]


def test_the_reference_page_lists_it(copy):
    page = (copy / "docs" / "reference.md").read_text(encoding="utf-8")
    assert f"| `{LABEL}` | Example Cloud | `example/llama-3.2-11b-vision` |" in page
    assert "`example_region`" in page


def test_the_cli_offers_its_option_and_names_its_key_and_what_it_needs(copy):
    help_text = " ".join(_python(copy, "-m", "llama_vision_block.cli", "run", "--help", env={}).stdout.split())
    assert "--example-region VALUE" in help_text and "one of: eu, us" in help_text
    assert "$EXAMPLE_CLOUD_API_KEY (Example Cloud)" in help_text

    image = copy / "a.jpg"
    cv2.imwrite(str(image), make_image(32, 16))
    done = _python(copy, "-m", "llama_vision_block.cli", "run", "--task", "caption", str(image), env={})
    assert done.returncode == 2
    assert (
        f"Example Cloud (your Example Cloud key and region): set --api-key or $EXAMPLE_CLOUD_API_KEY "
        f"and --example-region or $EXAMPLE_CLOUD_REGION, or give --model-version '{LABEL}'"
    ) in done.stderr


def test_a_run_with_its_own_option_picks_it_and_reaches_its_region(copy):
    server = ChatServer(responder=reply_with_image_size).start()
    try:
        image = copy / "b.jpg"
        cv2.imwrite(str(image), make_image(40, 24))
        env = {"EXAMPLE_CLOUD_API_KEY": "example-key", "EXAMPLE_CLOUD_BASE_URL": server.origin}
        done = _python(copy, "-m", "llama_vision_block.cli", "run", "--task", "caption", "--example-region", "eu", str(image), env=env)
        assert done.returncode == 0, done.stderr
        (line,) = [json.loads(text) for text in done.stdout.splitlines()]
        assert line["output"] == "40x24" and line["error_status"] is False
        (request,) = server.requests
        assert request.path == "/eu/v1/chat/completions"
        assert request.headers["authorization"] == "Bearer example-key"
        assert request.body["model"] == "example/llama-3.2-11b-vision"

        refused = _python(copy, "-m", "llama_vision_block.cli", "run", "--task", "caption", "--example-region", "mars", str(image), env=env)
        assert refused.returncode == 2 and "invalid choice: 'mars'" in refused.stderr
        assert len(server.requests) == 1
    finally:
        server.stop()
