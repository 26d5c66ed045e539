"""Test helper: run a coroutine inside an event loop of its own."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def run_in_fresh_loop(make_coro: Callable[[], Awaitable[T]]) -> T:
    """``asyncio.run`` on a thread of its own: the coroutine runs inside a running loop, whatever
    loop the test session's main thread may already run."""
    results: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            results.append(asyncio.run(make_coro()))  # type: ignore[arg-type]
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return results[0]
