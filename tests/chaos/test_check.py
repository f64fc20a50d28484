"""Counting lost, duplicated and out-of-order messages, as the chaos report defines them."""

from __future__ import annotations

import itertools

import pytest

from livehandoff.chaos.check import Tally, compare, inversions, longest_increasing, total

SENT = ["m1", "m2", "m3", "m4", "m5"]


def test_everything_once_in_order_is_clean() -> None:
    found = compare(SENT, SENT)
    assert found.tally == Tally(sent=5, arrived=5)
    assert found.tally.clean


@pytest.mark.parametrize(
    ("shown", "lost", "duplicated", "out_of_order", "inversion_count"),
    [
        (["m1", "m2", "m4", "m5"], 1, 0, 0, 0),
        (["m1", "m2", "m2", "m3", "m4", "m5", "m2"], 0, 2, 0, 0),
        (["m2", "m1", "m3", "m4", "m5"], 0, 0, 1, 1),
        (["m2", "m3", "m4", "m5", "m1"], 0, 0, 1, 4),
        (["m5", "m4", "m3", "m2", "m1"], 0, 0, 4, 10),
        (["m1", "m3", "m2", "m1", "m5"], 1, 1, 1, 1),
    ],
)
def test_counts(
    shown: list[str], lost: int, duplicated: int, out_of_order: int, inversion_count: int
) -> None:
    tally = compare(SENT, shown).tally
    assert (tally.lost, tally.duplicated, tally.out_of_order, tally.inversions) == (
        lost,
        duplicated,
        out_of_order,
        inversion_count,
    )


def test_one_late_message_is_the_one_out_of_place() -> None:
    found = compare(SENT, ["m2", "m3", "m4", "m5", "m1"])
    assert found.out_of_place == ("m1",)


def test_a_copy_shown_before_the_first_keeps_the_first_place() -> None:
    """Order is judged on each message's first appearance; later copies count as duplicates only."""
    found = compare(SENT, ["m1", "m2", "m3", "m1", "m4", "m5"])
    assert (found.tally.out_of_order, found.tally.duplicated, found.duplicated) == (0, 1, ("m1",))


def test_messages_nobody_sent_are_unexpected_not_counted_elsewhere() -> None:
    found = compare(SENT, [*SENT, "other:1"])
    assert found.unexpected == ("other:1",)
    assert found.tally.clean
    assert found.tally.unexpected == 1


def test_totals_add_up() -> None:
    first, second = Tally(sent=2, arrived=1, lost=1), Tally(sent=3, arrived=3, duplicated=2, out_of_order=1)
    assert total([first, second]) == Tally(sent=5, arrived=4, lost=1, duplicated=2, out_of_order=1)


def test_longest_increasing_and_inversions_agree_with_brute_force() -> None:
    for n in range(7):
        for values in map(list, itertools.permutations(range(n))):
            chain = longest_increasing(values)
            assert chain == sorted(chain)
            assert all(value in values for value in chain)
            assert len(chain) == _longest_sorted_subsequence(values)
            pairs = itertools.combinations(range(n), 2)
            assert inversions(values) == sum(1 for i, j in pairs if values[i] > values[j])


def _longest_sorted_subsequence(values: list[int]) -> int:
    subsequences = (c for r in range(len(values) + 1) for c in itertools.combinations(values, r))
    return max(len(c) for c in subsequences if list(c) == sorted(c))
