"""How the API hands a new volume to the scheduler: one cast to routing key ``scheduler``.

The API never waits for placement; the scheduler picks a backend and casts the
agent, and agent results come back through the controller queue.
"""

from __future__ import annotations

from typing import Any, Protocol

from common import messaging

__all__ = ["SchedulerClient", "Caster", "SCHEDULER_TOPIC"]

SCHEDULER_TOPIC = "scheduler"


class Caster(Protocol):
    def cast(self, target: str, method: str, args: dict[str, Any] | None = None) -> None:
        """Queue ``method(**args)`` for the server of ``target`` (common.messaging.Transport)."""


class SchedulerClient:
    def __init__(self, transport: Caster) -> None:
        self.transport = transport

    def create_volume(self, request_id: str, volume_id: str) -> None:
        """Ask for the committed ``creating`` row ``volume_id`` to be placed and created.
        The scheduler reads everything else from the row; the quota is already
        committed, so the request spec carries no reservations."""
        messaging.request_id.set(request_id)
        self.transport.cast(SCHEDULER_TOPIC, "create_volume",
                            {"volume_id": volume_id, "request_spec": {}})
