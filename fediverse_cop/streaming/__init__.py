"""Live updates for the streaming API (see docs/streaming.md).

Services announce what changed with the ``publish_*`` functions of :mod:`.bus`
(re-exported here); each web process runs a :class:`~.hub.Hub` that turns those
events into frames for its WebSocket and server-sent-event connections.
"""

from fediverse_cop.streaming.bus import (
    publish,
    publish_announcement,
    publish_announcement_delete,
    publish_delete,
    publish_filters_changed,
    publish_notification,
    publish_status,
    publish_status_update,
)

__all__ = [
    "publish",
    "publish_announcement",
    "publish_announcement_delete",
    "publish_delete",
    "publish_filters_changed",
    "publish_notification",
    "publish_status",
    "publish_status_update",
]
