"""Inbox handlers; importing this package registers them all in the dispatch table."""

from inbox.handlers import (
    actors,
    communities,
    follows,
    group_moderation,
    likes,
    moderation,
    moves,
    polls,
    questions,
    statuses,
)

__all__ = [
    "actors",
    "communities",
    "follows",
    "group_moderation",
    "likes",
    "moderation",
    "moves",
    "polls",
    "questions",
    "statuses",
]
