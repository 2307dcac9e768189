"""Inbox handlers; importing this package registers them all in the dispatch table."""

from inbox.handlers import actors, follows, likes, statuses

__all__ = ["actors", "follows", "likes", "statuses"]
