"""One gate per provider endpoint: pauses, order, time bounds and the operator's limit.

The gate's own behaviour is driven directly with threads; the last tests run
workflows in inference's engine against a provider that turns away what exceeds
its limit. No timing is asserted: only order, counts and messages.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from llama_vision_block.admission import GATES, MAX_HOLD_S, EndpointGate, Limits, operator_limits
from llama_vision_block.errors import ConfigurationError, LimitWaitExpired, provider_error
from llama_vision_block.providers.registry import PROVIDERS
from support.chat_server import ChatServer, reply_with_image_size
from support.faults import ConcurrencyLimited
from support.images import make_image
from support.workflows import compile_workflow, single_step_workflow


def soon(seconds: float = 0.3) -> float:
    return time.monotonic() + seconds


def run_at_once(step, images, workflows: int):
    """`workflows` copies of a one-step workflow, compiled here and run at the same time."""
    engines = [compile_workflow(single_step_workflow(step)) for _ in range(workflows)]
    with ThreadPoolExecutor(workflows) as pool:
        return list(pool.map(lambda engine: engine.run(runtime_parameters={"image": images}), engines))


def wait_until(condition, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "the condition never held"
        time.sleep(0.005)


def test_a_retry_after_pauses_every_steps_requests_to_that_endpoint_only():
    spec = PROVIDERS["openai-compatible"]
    one = GATES.for_endpoint(spec, "http://127.0.0.1:1/v1", "key-a")
    other = GATES.for_endpoint(spec, "http://127.0.0.1:2/v1", "key-a")
    with one.step(4), other.step(4):
        one.release(one.acquire(soon()), overloaded=True, retry_after=60)  # step A's request was turned away
        with pytest.raises(TimeoutError):  # step B, same endpoint, waits out the pause
            one.acquire(soon(0.2))
        other.release(other.acquire(soon()))  # another endpoint does not wait on it


def test_the_key_tells_accounts_apart_and_the_same_account_shares_a_gate():
    spec = PROVIDERS["openai-compatible"]
    assert GATES.for_endpoint(spec, "http://127.0.0.1:3/v1", "k1") is GATES.for_endpoint(spec, "http://127.0.0.1:3/v1", "k1")
    assert GATES.for_endpoint(spec, "http://127.0.0.1:3/v1", "k1") is not GATES.for_endpoint(spec, "http://127.0.0.1:3/v1", "k2")


def test_waiting_requests_are_admitted_in_arrival_order_across_steps():
    gate = EndpointGate("Test")
    admitted = []
    with gate.step(1), gate.step(1):  # the window starts at one: the others queue
        holder = gate.acquire(soon())
        threads = []
        for index in range(6):
            def request(index=index):
                ticket = gate.acquire(soon(30))
                admitted.append(index)
                gate.release(ticket)

            thread = threading.Thread(target=request)
            thread.start()
            threads.append(thread)
            wait_until(lambda: gate.waiting == index + 1)  # arrival order is known
        gate.release(holder)
        for thread in threads:
            thread.join(30)
    assert admitted == list(range(6))


def test_a_request_whose_time_bound_passes_while_waiting_names_the_limit():
    gate = EndpointGate("Example Provider")
    turned_away = provider_error("Example Provider", "Too many requests in flight", 429, retry_after=60)

    def send():
        raise turned_away

    with gate.step(2):
        busy = gate.acquire(soon())  # another request in flight: contention, not a fault
        with pytest.raises(LimitWaitExpired) as expired:
            gate.call(send, soon(0.3))
        gate.release(busy)
    message = str(expired.value)
    assert "Example Provider" in message and "rate or concurrency limit" in message
    assert "Too many requests in flight" in message and "max_concurrent_requests" in message
    assert gate.in_flight == 0


def test_a_429_to_a_request_alone_waits_its_turn_again_without_spending_a_retry():
    gate = EndpointGate("Example Provider")
    sent = []

    def send():  # another server on the same account holds the limit, then lets go
        sent.append(1)
        if len(sent) < 3:
            raise provider_error("Example Provider", "Too many requests", 429, retry_after=0)
        return "answer"

    with gate.step(4):
        assert gate.call(send, soon(30)) == "answer"
    assert len(sent) == 3


def test_a_503_to_a_request_alone_is_a_fault_that_spends_a_retry():
    gate = EndpointGate("Example Provider")
    sent = []

    def send():
        sent.append(1)
        raise provider_error("Example Provider", "Service Unavailable", 503)

    with gate.step(4), pytest.raises(Exception) as raised:
        gate.call(send, soon(30))
    assert raised.value.retryable and len(sent) == 1  # back to call_with_retries at once


class Clock:
    """A clock the test moves by hand. A request that may not go at once is given
    a deadline of now, so a wrong answer fails (TimeoutError) instead of waiting
    on a clock that never moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_refusal_halves_the_window_which_regrows_to_what_the_provider_took_then_holds_then_probes():
    clock = Clock()
    gate = EndpointGate("Test", clock=clock)
    with gate.step(8):
        assert gate.window == 8
        first_burst = [gate.acquire(clock.now) for _ in range(6)]
        gate.release(first_burst[5], overloaded=True, retry_after=0)  # it had 5 others in flight
        gate.release(first_burst[4], overloaded=True, retry_after=0)  # the same round trip: one cut
        assert gate.window == 4
        for ticket in first_burst[:4]:
            gate.release(ticket)  # the provider took 4 at once: the window goes back there, not past
        assert gate.window == 4
        for _ in range(50):
            gate.release(gate.acquire(clock.now))
        assert gate.window == 4  # held while the refusal is recent
        clock.now += 60
        for _ in range(200):
            gate.release(gate.acquire(clock.now))
        assert gate.window == 8  # probed back up, never above what the steps asked for


def test_a_probe_refused_at_the_same_level_doubles_the_hold_before_the_next():
    clock = Clock()
    gate = EndpointGate("Test", clock=clock)

    def refused_with(others: int) -> None:  # `others` in flight when the provider said no
        tickets = [gate.acquire(clock.now) for _ in range(others + 1)]
        clock.now += 0.1
        gate.release(tickets[-1], overloaded=True, retry_after=0)
        for ticket in tickets[:-1]:
            gate.release(ticket)

    def grows_after(seconds: float) -> bool:
        clock.now += seconds
        before = gate.window
        gate.release(gate.acquire(clock.now))
        return gate.window > before

    with gate.step(8):
        refused_with(3)  # the provider takes 3
        assert gate.window == 3 and not grows_after(15) and grows_after(10)  # held 20 s
        while gate.window < 4:
            gate.release(gate.acquire(clock.now))
        refused_with(3)  # the probe above 3 is refused: its limit has not moved
        assert not grows_after(30) and grows_after(15)  # held 40 s this time


def test_the_next_burst_of_steps_starts_at_the_level_the_provider_took_until_it_is_forgotten():
    clock = Clock()
    gate = EndpointGate("Test", clock=clock)
    with gate.step(8):
        tickets = [gate.acquire(clock.now) for _ in range(4)]
        gate.release(tickets[3], overloaded=True, retry_after=0)
        for ticket in tickets[:3]:
            gate.release(ticket)
    with gate.step(8):
        assert gate.window == 3
    clock.now += 3600
    with gate.step(8):
        assert gate.window == 8


def test_a_refusal_without_retry_after_pauses_the_endpoint_for_a_backoff_that_doubles():
    clock = Clock()
    gate = EndpointGate("Test", clock=clock)
    with gate.step(4):
        gate.release(gate.acquire(clock.now), overloaded=True)
        with pytest.raises(TimeoutError):  # paused past this deadline: fails at once, no wait
            gate.acquire(clock.now + 0.2)
        clock.now += 0.3
        gate.release(gate.acquire(clock.now), overloaded=True)  # refused again, next round trip
        clock.now += 0.3
        with pytest.raises(TimeoutError):
            gate.acquire(clock.now + 0.1)  # 0.5 s this time
        clock.now += 0.3
        gate.release(gate.acquire(clock.now))  # an answer ends the run of refusals
        gate.release(gate.acquire(clock.now), overloaded=True)
        clock.now += 0.3
        gate.release(gate.acquire(clock.now))  # back to the first, short pause: over by now


def test_the_operators_limit_is_read_checked_and_never_exceeded(monkeypatch):
    monkeypatch.setenv("LLAMA_VISION_PROVIDER_LIMITS", json.dumps({"openai-compatible": {"concurrent": 2, "per_minute": 1000}}))
    operator_limits.cache_clear()
    try:
        assert operator_limits() == {"openai-compatible": Limits(concurrent=2, per_minute=1000)}
        counting = ConcurrencyLimited(reply_with_image_size, limit=100)  # counts, never refuses
        server = ChatServer(responder=counting, base_path="/v1").start()
        try:
            step = {
                "type": "llama_vision_block/llama_3_2_vision@v1", "task_type": "caption",
                "model_version": "11B - OpenAI-compatible server", "base_url": server.base_url,
                "max_concurrent_requests": 8,
            }
            images = [make_image(10 + index, 8) for index in range(8)]
            results = run_at_once(step, images, workflows=2)  # 16 requests
        finally:
            server.stop()
        outputs = [image["llama"]["output"] for result in results for image in result]
        assert outputs == [f"{10 + index}x8" for index in range(8)] * 2
        assert counting.served == 16 and counting.peak <= 2
    finally:
        operator_limits.cache_clear()
    for bad in ('{"nowhere": {"concurrent": 1}}', '{"cloudflare": {"concurrent": 0}}', "[1]"):
        monkeypatch.setenv("LLAMA_VISION_PROVIDER_LIMITS", bad)
        operator_limits.cache_clear()
        with pytest.raises(ConfigurationError, match="LLAMA_VISION_PROVIDER_LIMITS"):
            operator_limits()
    operator_limits.cache_clear()


def test_workflows_sharing_a_limited_provider_lose_no_image_without_spending_retries():
    limited = ConcurrencyLimited(reply_with_image_size, limit=2)
    server = ChatServer(responder=limited, base_path="/v1").start()
    try:
        step = {
            "type": "llama_vision_block/llama_3_2_vision@v1", "task_type": "caption",
            "model_version": "11B - OpenAI-compatible server", "base_url": server.base_url,
            "max_concurrent_requests": 4, "max_retries": 0,  # no retry to spend on faults
        }
        images = [make_image(20 + index, 8) for index in range(6)]
        results = run_at_once(step, images, workflows=3)
    finally:
        server.stop()
    for result in results:
        assert [image["llama"]["error_status"] for image in result] == [False] * 6
        assert [image["llama"]["output"] for image in result] == [f"{20 + index}x8" for index in range(6)]
    assert limited.served == 18 and limited.peak <= 2


def test_only_an_answer_grows_the_window():
    clock = Clock()
    gate = EndpointGate("Test", clock=clock)
    with gate.step(8):
        tickets = [gate.acquire(clock.now) for _ in range(6)]
        clock.now += 0.1
        gate.release(tickets[-1], overloaded=True, retry_after=0)  # the provider took 5
        assert gate.window == 4
        for ticket in tickets[:-1]:
            gate.release(ticket, answered=False)  # faults: no growth
        for _ in range(20):
            gate.release(gate.acquire(clock.now), answered=False)
        assert gate.window == 4
        gate.release(gate.acquire(clock.now))
        assert gate.window == 5


# Another process on the same provider: its own gate, nothing shared but the provider.
OTHER_PROCESS = """
import json, sys
from support.images import make_image
from support.workflows import compile_workflow, single_step_workflow

engine = compile_workflow(single_step_workflow(json.loads(sys.argv[1])))
print("ready", flush=True)
sys.stdin.readline()
result = engine.run(runtime_parameters={"image": [make_image(30 + index, 8) for index in range(6)]})
print(json.dumps([[image["llama"]["error_status"], image["llama"]["output"]] for image in result]), flush=True)
"""


def test_two_processes_sharing_a_limited_provider_lose_no_image_without_spending_retries():
    limited = ConcurrencyLimited(reply_with_image_size, limit=2, retry_after="0.05")
    server = ChatServer(responder=limited, base_path="/v1").start()
    step = {
        "type": "llama_vision_block/llama_3_2_vision@v1", "task_type": "caption",
        "model_version": "11B - OpenAI-compatible server", "base_url": server.base_url,
        "max_concurrent_requests": 4, "max_retries": 0,  # a refusal that spent a retry would lose its image
    }
    other = subprocess.Popen(
        [sys.executable, "-c", OTHER_PROCESS, json.dumps(step)], cwd=Path(__file__).parent,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert other.stdout.readline().strip() == "ready"
        engine = compile_workflow(single_step_workflow(step))
        other.stdin.write("go\n")
        other.stdin.flush()
        ours = engine.run(runtime_parameters={"image": [make_image(40 + index, 8) for index in range(6)]})
        theirs = json.loads(other.stdout.readline())
    finally:
        other.kill()
        other.wait()
        server.stop()
    assert [[image["llama"]["error_status"], image["llama"]["output"]] for image in ours] == [
        [False, f"{40 + index}x8"] for index in range(6)
    ]
    assert theirs == [[False, f"{30 + index}x8"] for index in range(6)]
    assert limited.served == 12 and limited.peak <= 2 and limited.rejected > 0


def test_a_stated_rate_per_minute_is_never_exceeded():
    clock = Clock()
    gate = EndpointGate("Test", Limits(per_minute=2), clock=clock)
    with gate.step(8):
        gate.release(gate.acquire(clock.now))
        clock.now += 30
        gate.release(gate.acquire(clock.now))
        clock.now += 29
        with pytest.raises(TimeoutError):
            gate.acquire(clock.now)  # a third within the minute must wait
        clock.now += 1.5  # the first has left the minute
        gate.release(gate.acquire(clock.now))
        with pytest.raises(TimeoutError):
            gate.acquire(clock.now)


def test_the_hold_doubles_at_most_to_its_longest():
    clock = Clock()
    gate = EndpointGate("Test", clock=clock)
    with gate.step(8):
        for _ in range(8):  # the provider keeps refusing the probe above 3
            while gate.window < 4:
                clock.now += 1000
                gate.release(gate.acquire(clock.now))
            tickets = [gate.acquire(clock.now) for _ in range(4)]
            clock.now += 0.1
            gate.release(tickets[-1], overloaded=True, retry_after=0)
            for ticket in tickets[:-1]:
                gate.release(ticket)
        clock.now += MAX_HOLD_S - 1
        gate.release(gate.acquire(clock.now))
        assert gate.window == 3  # still held
        clock.now += 2
        gate.release(gate.acquire(clock.now))
        assert gate.window > 3  # probing again after the longest hold, not after ten minutes
