"""The GPU benchmark script, checked where it can be without a GPU.

No speed is asserted: the point is that a session lent a GPU finds a script that
runs the backend's real code path and builds the real 11B architecture.
"""

import importlib.util
import json
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def local_gpu():
    spec = importlib.util.spec_from_file_location("local_gpu", ROOT / "benchmarks" / "local_gpu.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_gpu_benchmark_builds_the_published_11b_architecture(local_gpu):
    from transformers import MllamaConfig, MllamaForConditionalGeneration

    config = MllamaConfig(**json.loads(json.dumps(local_gpu.LLAMA_32_11B_VISION)))
    with torch.device("meta"):  # shapes only: no memory, no weights
        model = MllamaForConditionalGeneration._from_config(config, dtype=torch.bfloat16)
    # meta-llama/Llama-3.2-11B-Vision-Instruct's safetensors hold 10,670,220,835.
    assert sum(parameter.numel() for parameter in model.parameters()) == 10_670_220_835


def test_the_gpu_benchmark_runs_the_backend_with_the_tiny_checkpoint(local_gpu, capsys):
    local_gpu.main(["--tiny", "--images", "4", "--batch-sizes", "2", "--max-new-tokens", "8"])
    printed = capsys.readouterr().out
    assert "| 1 (one at a time) | 4 |" in printed
    assert "| 2 | 4 |" in printed
    assert "- 1 (one at a time): generate calls by batch size: 1 x4" in printed
    # Batches of at most 2 that answer all 4 images (how they group depends on arrival).
    line = next(l for l in printed.splitlines() if l.startswith("- 2: generate calls"))
    groups = [part.split(" x") for part in line.split(": ")[-1].split(", ")]
    assert all(1 <= int(size) <= 2 for size, _ in groups)
    assert sum(int(size) * int(count) for size, count in groups) == 4


def test_the_constrained_decoding_benchmark_compares_like_with_like(capsys):
    spec = importlib.util.spec_from_file_location("constrained_decoding", ROOT / "benchmarks" / "constrained_decoding.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--tiny", "--images", "2", "--batch-size", "2", "--image-size", "64", "48"])
    printed = capsys.readouterr().out
    rows = [line for line in printed.splitlines() if line.startswith("| 1 |") or line.startswith("| 2 |")]
    assert len(rows) == 8  # 4 tasks, one at a time and batched
    for row in rows:
        constrained, free = (int(n) for n in row.split("|")[3].split(" / "))
        assert abs(constrained - free) <= 2  # the same tokens, up to the mean's rounding
    assert "| structured-answering |" in printed and "(again:" in printed


def test_the_load_benchmark_runs_workflows_at_once_against_a_limited_provider(capsys):
    spec = importlib.util.spec_from_file_location("load_benchmark", ROOT / "benchmarks" / "load.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    module.main(["--workflows", "3", "--images", "4", "--limit", "2", "--latency", "0.02", "--retry-after", "0.05",
                 "--repeats", "2", "--ways", "in one process", "--blocks", "this block"])
    printed = capsys.readouterr().out
    row = next(line for line in printed.splitlines() if line.startswith("| in one process | this block | 3 |"))
    cells = [cell.strip() for cell in row.split("|")[1:-1]]
    assert cells[3] == "0 of 12"  # no image lost
    assert int(cells[7]) <= 2  # the provider never served more than its limit
    assert "wall / ideal, cold / warm" in printed
