"""Casts to the agent that holds a volume (``volume.<host>@<backend>``): delete, extend, and
snapshots of it.

These go straight to the agent because the volume is already placed; the
agent's result arrives on the controller queue and finishes the transition.
"""

from __future__ import annotations

from typing import Any

from api.services.scheduler_client import Caster
from common import messaging

__all__ = ["AgentClient"]


class AgentClient:
    def __init__(self, transport: Caster) -> None:
        self.transport = transport

    def delete_volume(self, request_id: str, volume: dict[str, Any]) -> None:
        messaging.request_id.set(request_id)
        self.transport.cast(messaging.volume_topic(volume["host"]), "delete_volume",
                            {"volume": volume})

    def extend_volume(self, request_id: str, volume: dict[str, Any], new_size: int,
                      reservations: list[str]) -> None:
        """The agent returns ``reservations`` in ``volume_extended`` so the controller
        commits them on success and rolls them back on failure."""
        messaging.request_id.set(request_id)
        self.transport.cast(messaging.volume_topic(volume["host"]), "extend_volume",
                            {"volume": volume, "new_size": new_size,
                             "reservations": reservations})

    def create_snapshot(self, request_id: str, snapshot: dict[str, Any]) -> None:
        """``snapshot`` carries the volume's ``host``, which picks the agent."""
        messaging.request_id.set(request_id)
        self.transport.cast(messaging.volume_topic(snapshot["host"]), "create_snapshot",
                            {"snapshot": snapshot})

    def delete_snapshot(self, request_id: str, snapshot: dict[str, Any]) -> None:
        messaging.request_id.set(request_id)
        self.transport.cast(messaging.volume_topic(snapshot["host"]), "delete_snapshot",
                            {"snapshot": snapshot})

    def revert_to_snapshot(self, request_id: str, volume: dict[str, Any],
                           snapshot: dict[str, Any]) -> None:
        messaging.request_id.set(request_id)
        self.transport.cast(messaging.volume_topic(volume["host"]), "revert_to_snapshot",
                            {"volume": volume, "snapshot": snapshot})
