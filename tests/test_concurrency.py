import contextvars
import threading

import pytest

from llama_vision_block.concurrency import map_concurrently

REQUEST_ID = contextvars.ContextVar("request_id", default="unset")


def test_results_keep_input_order_and_use_several_threads():
    barrier = threading.Barrier(4, timeout=10)
    threads = set()

    def work(item):
        barrier.wait()  # only passes when 4 calls are running at once
        threads.add(threading.get_ident())
        return item * 10

    assert map_concurrently(work, [1, 2, 3, 4], max_workers=4) == [10, 20, 30, 40]
    assert len(threads) == 4


def test_never_more_than_max_workers_at_once():
    lock, running, peak = threading.Lock(), [0], [0]
    gate = threading.Barrier(2, timeout=10)

    def work(item):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        gate.wait()
        with lock:
            running[0] -= 1
        return item

    assert map_concurrently(work, list(range(8)), max_workers=2) == list(range(8))
    assert peak[0] == 2


def test_context_variables_reach_the_workers():
    REQUEST_ID.set("abc")
    assert map_concurrently(lambda _: REQUEST_ID.get(), [1, 2, 3], max_workers=3) == ["abc"] * 3


def test_errors_propagate():
    def work(item):
        if item == 2:
            raise RuntimeError("boom")
        return item

    with pytest.raises(RuntimeError, match="boom"):
        map_concurrently(work, [1, 2, 3], max_workers=3)


def test_rejects_zero_workers():
    with pytest.raises(ValueError, match="max_workers must be at least 1"):
        map_concurrently(str, [1], max_workers=0)


def test_first_error_cancels_calls_not_yet_started():
    started = []
    release = threading.Event()

    def work(item):
        started.append(item)
        if item == 0:
            raise PermissionError("rejected key")
        release.wait(timeout=10)  # the other worker holds its slot until released
        return item

    def run():
        return map_concurrently(work, list(range(20)), max_workers=2)

    with pytest.raises(PermissionError, match="rejected key"):
        try:
            run()
        finally:
            release.set()
    # Item 0 fails while item 1 may hold the other worker; the freed worker
    # starts nothing more, however fast it is to take the next item.
    assert 0 in started and set(started) <= {0, 1}


def test_no_call_starts_after_a_failure_even_when_workers_are_quick():
    started = []

    def work(item):
        started.append(item)
        raise PermissionError("rejected key")  # every call fails at once, like a bad key

    for _ in range(50):  # each round is a race the workers must never win
        started.clear()
        with pytest.raises(PermissionError):
            map_concurrently(work, list(range(40)), max_workers=4)
        assert 1 <= len(started) <= 4


def test_prefetched_yields_before_later_items_are_done():
    from llama_vision_block.concurrency import prefetched

    gate = threading.Event()

    def work(item):
        if item > 0:
            gate.wait(timeout=10)  # later items stay in progress until released
        return item * 2

    with prefetched(work, [0, 1, 2, 3]) as futures:
        assert futures[0].result(timeout=10) == 0  # usable while the rest are still running
        assert not futures[3].done()
        gate.set()
        assert [f.result(timeout=10) for f in futures] == [0, 2, 4, 6]


def test_prefetched_errors_stay_with_their_item():
    from llama_vision_block.concurrency import prefetched

    def work(item):
        if item == 1:
            raise ValueError("bad image 1")
        return item

    with prefetched(work, [0, 1, 2]) as futures:
        assert futures[0].result() == 0 and futures[2].result() == 2
        with pytest.raises(ValueError, match="bad image 1"):
            futures[1].result()
