"""How far a long block operation (a copy, a wipe) got, for the log and the controller.

A copy of a large volume runs for minutes; without this an operator sees only a
volume in ``creating`` or ``deleting``. A :class:`Tracker` turns bytes done into a
percentage and reports it at most every ``interval`` seconds (and once at the end),
to the agent's log and to the sink set with :func:`set_sink` (the agent casts
``volume_progress`` to the controller; without a sink, only the log).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from common.messaging import Transport
from volume_agent.manager import CONTROLLER_TOPIC

__all__ = ["Tracker", "Sink", "set_sink", "controller_sink", "INTERVAL"]

LOG = logging.getLogger(__name__)
# Seconds between two reports of one operation: a few, so a 10-minute copy logs a
# page, not thousands of lines, and the controller gets a write every few seconds.
INTERVAL = 5.0
Sink = Callable[[str, int, str], None]  # (volume_id, percent, operation)
_sink: Sink | None = None
_sink_lock = threading.Lock()


def controller_sink(transport: Transport, ttl: float | None) -> Sink:
    """Reports as ``volume_progress`` casts to the controller; a report older than ``ttl``
    is worth nothing and expires in the queue."""
    def cast(volume_id: str, percent: int, operation: str) -> None:
        transport.cast(CONTROLLER_TOPIC, "volume_progress",
                       {"volume_id": volume_id, "percent": percent, "operation": operation},
                       ttl=ttl)
    return cast


def set_sink(sink: Sink | None) -> None:
    """Where reports go besides the log; one per process, since all backends share it."""
    global _sink
    with _sink_lock:
        _sink = sink


class Tracker:
    """Progress of one operation on one volume's ``total`` bytes."""

    def __init__(self, volume_id: str, operation: str, total: int,
                 interval: float = INTERVAL, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.volume_id = volume_id
        self.operation = operation
        self.total = max(total, 1)
        self.interval = interval
        self.clock = clock
        self._last_report = clock()
        self._last_percent = -1

    def update(self, done: int) -> None:
        """Record ``done`` bytes; reports only when ``interval`` passed or it is complete."""
        percent = min(100, done * 100 // self.total)
        now = self.clock()
        if percent == self._last_percent:
            return
        if percent < 100 and now - self._last_report < self.interval:
            return
        self._last_report, self._last_percent = now, percent
        LOG.info("volume %s: %s %d%% (%d of %d MiB)", self.volume_id, self.operation,
                 percent, done >> 20, self.total >> 20)
        with _sink_lock:
            sink = _sink
        if sink is None:
            return
        try:
            sink(self.volume_id, percent, self.operation)
        except Exception:  # a lost report must never fail the copy itself
            LOG.warning("volume %s: progress not reported", self.volume_id, exc_info=True)
