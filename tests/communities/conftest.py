"""Communities against simulated remote servers (the sink), as in ``tests/inbox``, and
across real instances, as in ``tests/federation``."""

from __future__ import annotations

from tests.federation.conftest import instances
from tests.inbox.conftest import alice, local, peer

__all__ = ["alice", "instances", "local", "peer"]
