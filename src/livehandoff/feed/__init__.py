"""Telling connected customers that their conversation has new events."""

from livehandoff.feed.memory import InMemoryFeed

__all__ = ["InMemoryFeed"]
