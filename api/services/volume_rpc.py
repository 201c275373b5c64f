"""Calls to the agent holding a volume (``volume.<host>@<backend>``): export and unexport.

Attach needs the agent's answer (the connection_info) inside the request, so these
are calls with a deadline, not casts: a silent agent becomes ``MessagingTimeout``
and the caller rolls the volume back instead of leaving it in ``attaching``.
"""

from __future__ import annotations

from typing import Any, Protocol

from common import messaging

__all__ = ["VolumeRpc", "Caller"]


class Caller(Protocol):
    def call(self, target: str, method: str, args: dict[str, Any] | None = None, *,
             timeout: float = 60) -> Any:
        """``method(**args)`` on ``target``'s server; its result (common.messaging.Transport)."""

    def cast(self, target: str, method: str, args: dict[str, Any] | None = None) -> None:
        """Queue ``method(**args)`` for ``target``'s server without waiting."""


class VolumeRpc:
    def __init__(self, transport: Caller, timeout: float) -> None:
        self.transport = transport
        self.timeout = timeout

    def initialize_connection(self, request_id: str, volume: dict[str, Any],
                              connector: dict[str, Any], attachment_id: str
                              ) -> dict[str, Any]:
        """Export ``volume`` to the connector's initiator for attachment
        ``attachment_id``; connection_info plus the ``model_update``
        (provider_location, provider_auth) the controller must keep."""
        messaging.request_id.set(request_id)
        return self.transport.call(messaging.volume_topic(volume["host"]),
                                   "initialize_connection",
                                   {"volume": volume, "connector": connector,
                                    "attachment_id": attachment_id},
                                   timeout=self.timeout)

    def terminate_connection(self, request_id: str, volume: dict[str, Any],
                             connector: dict[str, Any] | None,
                             attachment_id: str | None = None) -> None:
        """Remove the initiator's access (the whole export when none is left). With
        ``attachment_id``, only the export made for that attachment is undone: the
        agent keeps the access while a newer attachment's export uses it."""
        messaging.request_id.set(request_id)
        self.transport.call(messaging.volume_topic(volume["host"]), "terminate_connection",
                            {"volume": volume, "connector": connector,
                             "attachment_id": attachment_id},
                            timeout=self.timeout)

    def revoke_later(self, request_id: str, volume: dict[str, Any],
                     connector: dict[str, Any], attachment_id: str) -> None:
        """Queue the undo of an export whose call timed out, so an agent that was only
        slow removes what it made late; an export that still survives is one the
        database does not list, which start-up reconciliation drops. It names the
        attachment because the agent's workers may run it after a newer export of the
        same initiator, which it must not undo."""
        messaging.request_id.set(request_id)
        self.transport.cast(messaging.volume_topic(volume["host"]), "terminate_connection",
                            {"volume": volume, "connector": connector,
                             "attachment_id": attachment_id})
