"""Inbox handlers; importing this package registers them all in the dispatch table."""

from inbox.handlers import actors, communities, follows, likes, moderation, moves, statuses

__all__ = ["actors", "communities", "follows", "likes", "moderation", "moves", "statuses"]
