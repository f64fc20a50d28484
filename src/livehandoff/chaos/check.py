"""What a chaos run counts, per conversation and direction: lost, duplicated and out-of-order messages.

Pure: the sender's list (texts in the order they were acknowledged) against the receiver's list (texts
in the order they were shown). Definitions, as docs/reliability.md gives them:

- *lost*: sent, never arrived;
- *duplicated*: extra copies — a message shown three times counts two;
- *out of order*: messages out of place, i.e. how many of the arrived messages would have to move for
  the rest to be in sending order (their number minus the longest run in sending order, which need
  not be contiguous). One late message counts one, however far it slipped. *Inversions* (pairs shown
  in the wrong order) are reported beside it, to tell one far slip from many small ones;
- *unexpected*: shown but never acknowledged to the sender (a message whose acknowledgement was lost).
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields


@dataclass(frozen=True, slots=True)
class Tally:
    """The counts of one direction of one conversation, or summed over many."""

    sent: int = 0
    arrived: int = 0
    """Distinct sent messages that arrived at least once."""
    lost: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    inversions: int = 0
    unexpected: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    @property
    def clean(self) -> bool:
        """Nothing lost, repeated or out of order."""
        return not (self.lost or self.duplicated or self.out_of_order)

    def as_json(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class Findings:
    """Which messages of one conversation and direction went wrong, for the report."""

    tally: Tally
    lost: tuple[str, ...] = ()
    duplicated: tuple[str, ...] = ()
    out_of_place: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = ()


def total(tallies: Iterable[Tally]) -> Tally:
    return sum(tallies, Tally())


def compare(sent: Sequence[str], shown: Sequence[str]) -> Findings:
    """Compare what was sent with what the receiver was shown (see the module docstring)."""
    position = {text: index for index, text in enumerate(sent)}
    copies = Counter(text for text in shown if text in position)
    first_shown = [text for text in dict.fromkeys(shown) if text in position]
    ranks = [position[text] for text in first_shown]
    in_order = set(longest_increasing(ranks))
    out_of_place = tuple(text for text, rank in zip(first_shown, ranks, strict=True) if rank not in in_order)
    lost = tuple(text for text in sent if text not in copies)
    duplicated = tuple(text for text, count in copies.items() if count > 1)
    unexpected = tuple(text for text in dict.fromkeys(shown) if text not in position)
    tally = Tally(
        sent=len(sent),
        arrived=len(first_shown),
        lost=len(lost),
        duplicated=sum(count - 1 for count in copies.values()),
        out_of_order=len(out_of_place),
        inversions=inversions(ranks),
        unexpected=len(unexpected),
    )
    return Findings(tally, lost, duplicated, out_of_place, unexpected)


def longest_increasing(values: Sequence[int]) -> list[int]:
    """One longest strictly increasing subsequence of distinct ``values`` (patience sorting, n log n)."""
    tails: list[int] = []
    tail_at: list[int] = []
    previous: list[int] = [-1] * len(values)
    for index, value in enumerate(values):
        place = bisect.bisect_left(tails, value)
        if place == len(tails):
            tails.append(value)
            tail_at.append(index)
        else:
            tails[place] = value
            tail_at[place] = index
        previous[index] = tail_at[place - 1] if place > 0 else -1
    chain: list[int] = []
    index = tail_at[-1] if tail_at else -1
    while index >= 0:
        chain.append(values[index])
        index = previous[index]
    return chain[::-1]


def inversions(values: Sequence[int]) -> int:
    """Pairs ``i < j`` with ``values[i] > values[j]`` (merge sort, n log n)."""
    _, count = _sort_counting(list(values))
    return count


def _sort_counting(values: list[int]) -> tuple[list[int], int]:
    if len(values) < 2:
        return values, 0
    middle = len(values) // 2
    left, left_count = _sort_counting(values[:middle])
    right, right_count = _sort_counting(values[middle:])
    merged: list[int] = []
    count = left_count + right_count
    i = j = 0
    while i < len(left) and j < len(right):
        if left[i] <= right[j]:
            merged.append(left[i])
            i += 1
        else:
            merged.append(right[j])
            count += len(left) - i
            j += 1
    merged.extend(left[i:])
    merged.extend(right[j:])
    return merged, count
