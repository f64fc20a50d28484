"""The thread cursor that keeps agent messages in thread order."""

from __future__ import annotations

import pytest

from livehandoff.domain.ordering import ThreadCursor, advance, event_number


@pytest.mark.parametrize(
    ("event_id", "parsed"),
    [
        ("K600PKZON8_3", ("K600PKZON8", 3)),
        ("A_B_12", ("A_B", 12)),
        ("uuid-like", None),
        ("T_", None),
        ("_4", None),
    ],
)
def test_event_numbers(event_id: str, parsed: tuple[str, int] | None) -> None:
    assert event_number(event_id) == parsed


def test_the_cursor_moves_over_runs_without_holes() -> None:
    cursor = ThreadCursor("T").with_handled([1, 2, 4])
    assert (cursor.upto, cursor.beyond) == (2, frozenset({4}))
    assert cursor.holes_before(5)
    assert not cursor.holes_before(3)
    filled = cursor.with_handled([3])
    assert (filled.upto, filled.beyond) == (4, frozenset())
    assert filled.handled(4)
    assert not filled.handled(5)


def test_a_new_thread_starts_a_new_cursor() -> None:
    cursor = advance(None, ["T1_1", "T1_2"])
    assert cursor == ThreadCursor("T1", 2)
    resumed = advance(cursor, ["T2_1"])
    assert resumed == ThreadCursor("T2", 1)
    assert advance(resumed, ["not-numbered"]) == resumed
