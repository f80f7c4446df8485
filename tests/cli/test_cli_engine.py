"""Compiling workflows: `cli/engine.py`."""

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# A fresh process, so inference is imported for the first time by the threads.
FOUR_THREADS_COMPILE_AT_ONCE = textwrap.dedent("""
    import threading
    from llama_vision_block.cli.engine import compile_workflow

    step = {"type": "llama_vision_block/llama_3_2_vision@v1", "name": "llama", "images": "$inputs.image",
            "task_type": "caption", "model_version": "11B - OpenAI-compatible server",
            "base_url": "http://127.0.0.1:9/v1"}
    workflow = {"version": "1.0", "inputs": [{"type": "WorkflowImage", "name": "image"}], "steps": [step],
                "outputs": [{"type": "JsonField", "name": "caption", "selector": "$steps.llama.output"}]}
    failures, compiled = [], []

    def compile_one():
        try:
            compiled.append(compile_workflow(workflow))
        except Exception as error:
            failures.append(repr(error))

    threads = [threading.Thread(target=compile_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(len(compiled), failures)
""")


def test_workflows_compiled_from_several_threads_at_first_import_all_compile():
    finished = subprocess.run(
        [sys.executable, "-c", FOUR_THREADS_COMPILE_AT_ONCE], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert finished.stdout.strip().splitlines()[-1] == "4 []"
