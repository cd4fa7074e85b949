"""tests/fixtures/inbox.py, which the debugger tests rely on to fail for the right reason: a request that runs past
its breakpoint is reported at once with how it ended, a stop that never comes times out, a message is taken once."""

from __future__ import annotations

import threading
from concurrent.futures import Future

import pytest

from tests.fixtures.inbox import Inbox, RanPast, first_of


def test_an_item_put_later_is_taken_once() -> None:
    inbox: Inbox[str] = Inbox()
    threading.Timer(0.05, inbox.put, args=("stopped",)).start()
    assert inbox.take(lambda m: m == "stopped", timeout=5) == "stopped"
    assert inbox.take(lambda m: m == "stopped", timeout=0.05) is None


def test_a_closed_inbox_stops_the_wait() -> None:
    inbox: Inbox[str] = Inbox()
    threading.Timer(0.05, inbox.close).start()
    assert inbox.take(lambda m: True, timeout=30) is None and inbox.closed


def test_first_of_reports_a_request_that_ran_past_the_breakpoint() -> None:
    done: Future = Future()
    done.set_result("ok\n")
    inbox: Inbox[str] = Inbox()
    with pytest.raises(RanPast, match=r"finished without stopping at a breakpoint: 'ok\\n'"):
        first_of(lambda: [inbox], lambda i: i.take(lambda m: True, 0.01), timeout=30, unless=done)


def test_first_of_returns_the_source_that_yielded_and_times_out_otherwise() -> None:
    quiet, busy = Inbox(), Inbox()
    busy.put("stop")
    assert first_of(lambda: [quiet, busy], lambda i: i.take(lambda m: True, 0.01), timeout=5) == (busy, "stop")
    with pytest.raises(TimeoutError):
        first_of(lambda: [], lambda i: None, timeout=0.2)
