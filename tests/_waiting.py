"""The one poll-until-deadline loop of the suite: tests that wait for a server, a lock or a task call it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def wait_for(
    condition: Callable[[], T],
    what: str,
    seconds: float,
    every: float = 0.05,
    details: Callable[[], str] | None = None,
) -> T:
    """Call ``condition`` every ``every`` seconds until it returns something truthy, and return that; fail
    the test naming ``what`` (and ``details()``, e.g. a server's log) after ``seconds`` on the monotonic
    clock. ``condition`` may itself fail the test (a process that exited, a task that finished too soon)."""
    deadline = time.monotonic() + seconds
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(
                f"gave up after {seconds:.0f} s waiting for {what}" + (f"\n{details()}" if details else "")
            )
        time.sleep(every)
