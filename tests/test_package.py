"""The package's surface: a light import, lazy block attributes, one version."""

import importlib.metadata
import subprocess
import sys

import pytest

import llama_vision_block

HEAVY = ("inference", "torch", "cv2", "transformers")
PROBE = """
import sys, warnings
warnings.simplefilter("always")
import llama_vision_block, llama_vision_block.cli
from llama_vision_block.cli import main
code = main({argv!r})
print("HEAVY", sorted(m for m in {heavy!r} if m in sys.modules), code)
"""


@pytest.mark.parametrize(
    "argv", [["--help"], ["run", "--help"], ["workflow", "--help"], ["serve", "--help"], ["describe", "--help"], ["describe"]]
)
def test_the_package_every_help_and_describe_load_no_heavy_dependency(argv):
    probe = PROBE.format(argv=argv, heavy=HEAVY)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "HEAVY [] 0"
    assert "Warning" not in done.stderr  # no dependency's warning, even with every filter open


def test_a_providers_spec_is_plain_data_that_loads_no_transport_or_image_library():
    # A provider module declares its spec first; declaring one must not pull in
    # what only sending a request or preparing an image needs.
    probe = "import sys, llama_vision_block.providers.spec\n" + (
        "print(sorted(m for m in ('numpy', 'cv2', 'httpx', 'openai', 'inference') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_block_and_its_manifest_load_on_first_use():
    assert llama_vision_block.BlockManifest.__name__ == "BlockManifest"
    assert llama_vision_block.LlamaVisionBlockV1.get_manifest() is llama_vision_block.BlockManifest
    with pytest.raises(AttributeError):
        llama_vision_block.load_kinds  # noqa: B018 - inference probes plugins with hasattr


def test_the_version_lives_in_one_place():
    assert importlib.metadata.version("llama-vision-block") == llama_vision_block.__version__


def test_a_command_that_loads_inference_prints_none_of_its_warnings(tmp_path):
    env_free = "import os\nfor name in ('CLOUDFLARE_ACCOUNT_ID', 'LLAMA_VISION_BASE_URL', 'LLAMA_VISION_OLLAMA_BASE_URL', 'LLAMA_VISION_MODEL_PATH'): os.environ.pop(name, None)\n"
    probe = env_free + "import warnings\nwarnings.simplefilter('always')\nfrom llama_vision_block.cli import main\nprint('CODE', main(['run', '--task', 'caption', 'missing.jpg']))\n"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.stdout.splitlines()[-1] == "CODE 2", done.stderr
    assert "error: no --model-version given and no provider is set up" in done.stderr
    assert "Warning" not in done.stderr, done.stderr
