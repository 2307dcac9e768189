"""Inbox handlers; importing this package registers them all in the dispatch table."""

from inbox.handlers import follows, likes, statuses

__all__ = ["follows", "likes", "statuses"]
