"""500 images through a provider that fails 30% of requests: every image answered once."""

from support.chat_server import reply_with_image_size
from support.faults import FaultInjector
from support.images import make_image
from support.workflows import run_workflow, single_step_workflow

IMAGES = 500


def _failures(key):
    # Image i (width 40 + i) fails once when i % 7 < 3: 216 faults in 716 requests, 30%.
    height, width = key
    return 1 if (width - 40) % 7 < 3 else 0


def test_soak_500_images_with_30_percent_transient_faults(chat_server):
    injector = FaultInjector(
        reply_with_image_size, key=lambda request: request.image().shape[:2], failures=_failures
    )
    chat_server.responder = injector
    step = {
        "type": "llama_vision_block/llama_3_2_vision@v1",
        "task_type": "caption",
        "api_key": "$inputs.api_key",
        "model_version": "11B (Regular) - OpenRouter",
        "max_concurrent_requests": 32,
        "request_timeout": 10,
    }
    images = [make_image(40 + i, 20, seed=i) for i in range(IMAGES)]

    result = run_workflow(
        single_step_workflow(step, [{"type": "WorkflowParameter", "name": "api_key"}]),
        {"image": images, "api_key": "k"},
    )

    outputs = [item["llama"] for item in result]
    assert [o["output"] for o in outputs] == [f"{40 + i}x20" for i in range(IMAGES)]
    assert not any(o["error_status"] for o in outputs)
    planned_faults = sum(_failures((20, 40 + i)) for i in range(IMAGES))
    assert injector.faults_sent == planned_faults == 216
    assert len(chat_server.requests) == IMAGES + planned_faults
    assert 0.29 < injector.faults_sent / len(chat_server.requests) < 0.31
    # Each image was answered exactly once by the server: nothing duplicated.
    assert len(injector.answered) == IMAGES and set(injector.answered.values()) == {1}
