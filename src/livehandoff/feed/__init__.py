"""Telling connected customers that their conversation has new events: in this process, or on every
instance through PostgreSQL ``LISTEN``/``NOTIFY``."""

from livehandoff.feed.memory import InMemoryFeed
from livehandoff.feed.postgres import PostgresFeed

__all__ = ["InMemoryFeed", "PostgresFeed"]
