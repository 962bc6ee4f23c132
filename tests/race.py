"""The thread-race harness: start N callables at the same instant, collect what each returned.

Every concurrency test needs the same scaffolding (a barrier, threads, errors carried back
to the test's thread); it lives here once. Timeouts are hang guards, never speed limits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar, cast

T = TypeVar("T")

# A hang guard: a race that has not finished after this long is stuck, not slow.
HANG_GUARD_SECONDS = 300


class RaceError(AssertionError):
    """Some racers raised: every error is listed (the first is also the __cause__)."""


def race(racers: Sequence[Callable[[], T]]) -> list[T]:
    """Run every callable on its own thread, released together; their results, in order.

    Raises RaceError (an AssertionError) if any of them raised, naming every error.
    """
    barrier = threading.Barrier(len(racers))
    results: list[T | None] = [None] * len(racers)
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(index: int, work: Callable[[], T]) -> None:
        try:
            barrier.wait(timeout=HANG_GUARD_SECONDS)
            value = work()
        except BaseException as exc:  # noqa: BLE001 - carried back to the test's thread
            with lock:
                errors.append(exc)
            return
        results[index] = value

    threads = [
        threading.Thread(target=run, args=(index, work), daemon=True)
        for index, work in enumerate(racers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=HANG_GUARD_SECONDS)
    stuck = sum(thread.is_alive() for thread in threads)
    if stuck:
        raise RaceError(f"{stuck} of {len(threads)} racers never finished (hang guard)")
    if errors:
        raise RaceError(f"{len(errors)} racer(s) raised: {errors!r}") from errors[0]
    return cast(list[T], results)  # every slot was filled: no racer raised


def run_together(count: int, work: Callable[[], T]) -> list[T]:
    """`work` run `count` times at once, on `count` threads; the results, in thread order."""
    return race([work] * count)
