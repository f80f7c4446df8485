"""StepGate: one image checks an endpoint not yet reached; a dead one fails the rest at once.

The endpoints are real loopback addresses: a port nothing listens on (refused), and
a listening socket (a connection can be made).
"""

import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from llama_vision_block.errors import NotAttempted, ProviderError, UnreachableError
from llama_vision_block.reachability import Reachability, StepGate
from llama_vision_block.retries import RetryPolicy

POLICY = RetryPolicy(max_retries=3)


def _closed_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"  # closed again: connections are refused


@pytest.fixture
def listening_url():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield f"http://127.0.0.1:{server.getsockname()[1]}/v1"


@pytest.fixture
def url():
    return _closed_url()


class Endpoint:
    """A provider's side of the gate: counts how often it is asked, and with what policy."""

    def __init__(self, url: str, up: bool) -> None:
        self.url = url
        self.up = up
        self.asked = 0
        self.policies = []
        self.lock = threading.Lock()

    def __call__(self, policy: RetryPolicy) -> str:
        with self.lock:
            self.asked += 1
            self.policies.append(policy.max_retries)
        if not self.up:
            raise UnreachableError("Local", self.url)
        return "answer"


def _step(gate: StepGate, endpoint: Endpoint, images: int = 12):
    def one(index: int):
        try:
            return gate.ask(f"images[{index}]", endpoint, POLICY)
        except ProviderError as error:
            return error

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(images)))


def test_a_dead_endpoint_is_asked_once_per_step_and_the_others_fail_at_once(url):
    record, endpoint = Reachability(), Endpoint(url, up=False)

    results = _step(StepGate(url, record=record), endpoint)

    assert endpoint.asked == 1 and endpoint.policies == [3]  # one image, with its retries
    found = [result for result in results if type(result) is UnreachableError]
    skipped = [result for result in results if isinstance(result, NotAttempted)]
    assert len(found) == 1 and len(skipped) == 11
    finder = {f"images[{i}]" for i, result in enumerate(results) if result is found[0]}.pop()
    assert {str(error) for error in skipped} == {f"Local: could not connect to {url} (not attempted: {finder} found it unreachable)"}
    assert record.unreachable(url)


def test_the_next_step_tries_a_dead_endpoint_once_without_retries_and_an_answer_clears_the_record(url):
    record, endpoint = Reachability(), Endpoint(url, up=False)
    _step(StepGate(url, record=record), endpoint)

    _step(StepGate(url, record=record), endpoint)
    assert endpoint.policies == [3, 0]

    endpoint.up = True  # its first request is answered: the record is cleared
    results = _step(StepGate(url, record=record), endpoint)
    assert results == ["answer"] * 12 and endpoint.policies[2] == 0
    assert record.reached(url) and not record.unreachable(url)


def test_an_endpoint_that_can_be_connected_to_is_asked_by_every_image_at_once(listening_url):
    record, endpoint = Reachability(), Endpoint(listening_url, up=True)
    barrier = threading.Barrier(8, timeout=10)

    def together(policy):
        barrier.wait()  # only passes when 8 images ask at the same time
        return endpoint(policy)

    gate = StepGate(listening_url, record=record)
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(lambda i: gate.ask(f"images[{i}]", together, POLICY), range(8))) == ["answer"] * 8
    assert record.reached(listening_url)


def test_an_endpoint_that_answers_with_an_error_is_reached_and_the_others_are_asked(url):
    record, asked = Reachability(), []

    def overloaded(policy):
        asked.append(policy)
        raise ProviderError("Local", "overloaded", 503)

    # The connection check fails (a blip), yet the first image's request is answered.
    results = _step(StepGate(url, record=record), overloaded, images=5)
    assert len(asked) == 5 and all(isinstance(result, ProviderError) for result in results)
    assert not any(isinstance(result, NotAttempted) for result in results)
    assert record.reached(url)


def test_in_process_there_is_nothing_to_reach(url):
    endpoint = Endpoint(url, up=True)
    assert _step(StepGate(None, Reachability()), endpoint, images=3) == ["answer"] * 3


def test_an_unreachable_error_is_retried_as_transient_and_names_the_endpoint(url):
    error = UnreachableError("Local", url)
    assert error.retryable and error.endpoint == url and str(error) == f"Local: could not connect to {url}"


def test_the_record_is_bounded_and_forgets_the_oldest_first():
    record = Reachability(limit=3)
    for index in range(5):
        record.record(f"http://h{index}/v1", reached=False)
    assert [record.unreachable(f"http://h{index}/v1") for index in range(5)] == [False, False, True, True, True]
    record.record("http://h4/v1", reached=True)
    assert record.reached("http://h4/v1") and not record.unreachable("http://h4/v1")
